"""No write from another origin: a state-changing request (anything but GET, HEAD, OPTIONS)
whose ``Origin`` (or, without one, ``Referer``) is not one of the server's own is refused
with 403, before any handler or session is touched.

Browsers send ``Origin`` on every cross-origin POST, form or fetch, ``no-cors`` included, so
a page on another site, or on another port of the same host (same *site*, so the ``Lax``
cookie rides along), cannot write with the user's session; ``/login`` is covered too (login
CSRF). A request with neither header is not a browser's cross-origin request (scripts,
``curl``, the tests) and goes on: its session cookie is what it must prove.

The server's own origins are ``web.origins``; when none is set, the host the request was
sent to (its ``Host``, as a trusted proxy forwarded it) on any scheme.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

from ctiserver.web.responses import json_error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def normalised(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case, the scheme's default port dropped; None for
    what is not an http(s) origin (``null``, garbage)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" if port in (None, default) else f"{parts.scheme}://{host}:{port}"


def _netloc(origin: str) -> str:
    """The ``host[:port]`` of a normalised origin."""
    return origin.split("://", 1)[1]


def _host_netloc(request: web.Request) -> str | None:
    """The request's Host as a normalised ``host[:port]`` for its scheme."""
    found = normalised(f"{request.scheme}://{request.host}")
    return None if found is None else _netloc(found)


class OriginCheck:
    """The middleware; ``origins`` are the server's own (empty: the request's Host)."""

    def __init__(self, origins: Iterable[str] = ()) -> None:
        own = set()
        for origin in origins:
            found = normalised(origin)
            if found is None:
                raise ValueError(f"web.origins: {origin!r} is not an origin like https://cti.example.com")
            own.add(found)
        self.origins = frozenset(own)

    def allowed(self, request: web.Request) -> bool:
        """True for a request the browser says comes from one of our pages, or says nothing."""
        claimed = request.headers.get("Origin")
        if claimed is None:
            referer = request.headers.get("Referer")
            if referer is None:
                return True
            claimed = referer
        origin = normalised(claimed)
        if origin is None:
            return False  # "null" (sandboxed frame, privacy redirect) or garbage
        if self.origins:
            return origin in self.origins
        netloc = _netloc(origin)
        # Host has no scheme: compare host:port, the origin's default port made explicit too
        return netloc in {_host_netloc(request), request.host.lower()}

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in SAFE_METHODS or self.allowed(request):
            return await handler(request)
        return json_error(403, "request from another origin refused")
