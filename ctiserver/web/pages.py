"""The home page at ``/``: screenpop/index.html, with the hotline's number filled in.

The page itself (screenpop/home.js and the shell, screenpop/shell.js) shows the login, or
the pages the logged-in user's role may open.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from ctiserver.resources import pages_dir
from ctiserver.web.keys import SETTINGS_KEY

#: the element of index.html that gets the hotline's number
HOTLINE_SLOT = '<span id="hotline" class="hotline" data-testid="hotline"></span>'


def home_page(hotline: str) -> str:
    html = (pages_dir() / "index.html").read_text(encoding="utf-8")
    if HOTLINE_SLOT not in html:
        raise RuntimeError("screenpop/index.html has no hotline slot")
    filled = HOTLINE_SLOT.replace("></span>", f">{escape(hotline)}</span>")
    return html.replace(HOTLINE_SLOT, filled, 1)


async def index(request: web.Request) -> web.Response:
    html = home_page(request.app[SETTINGS_KEY].hotline.number)
    return web.Response(text=html, content_type="text/html", charset="utf-8")
