"""The real server's web app for the page tests in headless Chromium (tests/integration/
test_pages_accessible.py, test_page_shell.py, test_page_language.py): its features started
on a migrated SQLite database with the hotline's flow, no Asterisk (the telephony links stay
down), each module's data written by its ``seed`` before the features start. One per test
module (a module-scoped fixture of each calls :func:`real_site`), shared by its tests."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestServer

from ctiserver.server import CtiServer
from ctiserver.settings import Settings
from ctiserver.storage.database import upgrade_schema

#: the hotline's flow, which the flow editor pages show
HOTLINE = Path(__file__).resolve().parents[2] / "ivr_flows" / "hotline.yaml"


@dataclasses.dataclass
class Site:
    cti: CtiServer
    #: the web app's address, without a trailing slash
    base: str
    #: the hotline's number (the settings')
    hotline: str


@contextlib.asynccontextmanager
async def real_site(tmp: Path, seed: Callable[[CtiServer], Awaitable[object]]) -> AsyncIterator[Site]:
    """The server of ``tmp`` (a directory of its own) with what ``seed`` writes."""
    flows = tmp / "flows"
    flows.mkdir()
    shutil.copy(HOTLINE, flows / "hotline.yaml")
    settings = Settings().replace(
        database={"url": f"sqlite+aiosqlite:///{tmp}/cti.sqlite3"},
        web={"session_secret": f"the page tests' secret of {tmp.name}"},
        ivr={"flows_dir": str(flows)},
    )
    await upgrade_schema(settings.database.url)
    cti = CtiServer(settings)
    try:
        await seed(cti)
        await cti.core.start_features()
        server = TestServer(cti.web_app)
        await server.start_server()
        try:
            yield Site(cti, str(server.make_url("")).rstrip("/"), settings.hotline.number)
        finally:
            await server.close()
            await cti.core.stop_features()
    finally:
        await cti.core.close()
        await cti.db.close()
