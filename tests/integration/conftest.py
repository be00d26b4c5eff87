"""A real lab per test: Asterisk (system or the cached Debian sid chroot), the server, demo data."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from ctiserver.lab.caller import eventually as wait_for
from ctiserver.lab.isolated import isolated_settings
from ctiserver.lab.provision import ProvisionError, find_or_provision
from ctiserver.lab.runner import Lab
from ctiserver.settings import Settings
from tests.conftest import require
from tests.integration.browser import browser  # noqa: F401 (a fixture for every integration test)

pytestmark = pytest.mark.integration

T = TypeVar("T")


#: a flow that queues every caller at once, for tests of the call plumbing
STRAIGHT_TO_QUEUE = """\
flow: straight
entry: "4008001234"
language: zh
start: agents
nodes:
  agents: {kind: queue, queue: support}
"""


def lab_settings(tmp_path: Path, *, flow: str = STRAIGHT_TO_QUEUE, **overrides: dict[str, Any]) -> Settings:
    """An isolated lab with quick AMI keep-alive and reconnection, so outages show fast."""
    timing = {
        "ami": {"ping_interval": 2.0, "ping_timeout": 3.0, "reconnect_min": 0.2, "reconnect_max": 1.0},
        "lab": {"agent_answer_delay": 1.0},
        "ivr": {"watch_interval": 0.2},
    }
    for section, values in overrides.items():
        timing[section] = {**timing.get(section, {}), **values}
    return isolated_settings(tmp_path, flow=flow, **timing)


def asterisk_available(settings: Settings) -> None:
    try:
        # In CI the test command provisions the chroot beforehand; here we only look.
        find_or_provision(settings.asterisk, allow_provision=False)
    except ProvisionError as exc:
        require(False, f"no Asterisk to test against: {exc}. Run `ctiserver asterisk provision` first")


LabFactory = Callable[[Settings], Awaitable[Lab]]


@pytest.fixture
async def make_lab() -> AsyncIterator[LabFactory]:
    """Start labs with the given settings; every one is stopped and cleaned at teardown."""
    started: list[Lab] = []

    async def start(settings: Settings) -> Lab:
        asterisk_available(settings)
        lab = Lab(settings, allow_provision=False)
        started.append(lab)
        await lab.start()
        return lab

    yield start
    for lab in started:
        await lab.stop()
        if lab.asterisk is not None:
            shutil.rmtree(lab.asterisk.install.host_path(lab.asterisk.layout.base), ignore_errors=True)


@pytest.fixture
async def lab(make_lab: LabFactory, tmp_path: Path) -> Lab:
    return await make_lab(lab_settings(tmp_path))


class WebClient:
    """An HTTP client logged in to the lab's web server."""

    def __init__(self, lab: Lab) -> None:
        assert lab.server is not None
        self.base = f"http://127.0.0.1:{lab.server.web_port}"
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def login(self, username: str, password: str) -> aiohttp.ClientResponse:
        return await self.session.post(f"{self.base}/login", json={"username": username, "password": password})

    async def get_json(self, path: str) -> Any:
        async with self.session.get(self.base + path) as response:
            assert response.status == 200, f"{path}: HTTP {response.status}: {await response.text()}"
            return await response.json()

    async def calls(self, state: str) -> dict[str, dict[str, Any]]:
        body = await self.get_json(f"/api/calls?state={state}")
        return {call["id"]: call for call in body["calls"]}

    async def close(self) -> None:
        await self.session.close()


@pytest.fixture
async def web(lab: Lab) -> AsyncIterator[WebClient]:
    client = WebClient(lab)
    response = await client.login("supervisor", lab.settings.lab.demo_password)
    assert response.status == 200, await response.text()
    yield client
    await client.close()


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float, what: str) -> T:
    """Poll ``probe`` until it returns something truthy; fail the test naming ``what``."""
    try:
        return await wait_for(probe, timeout, what)
    except TimeoutError as exc:
        pytest.fail(str(exc))

