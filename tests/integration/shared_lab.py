"""One lab (and one Chromium) for a whole test module, put back to quiet before each test.

A lab costs Asterisk's boot, the server's start and the demo data, and a browser a
Playwright driver and a Chromium: seconds of a 2-CPU machine each. Modules whose tests only
need "no call up, every agent logged out, the lab phones' usual answer delay" share one of
each (``quiet`` before every test) instead of making their own. Such a module runs its tests
in one event loop: ``pytestmark = pytest.mark.asyncio(loop_scope="module")``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from ctiserver.agents.model import AgentState
from ctiserver.lab.caller import set_global
from ctiserver.lab.runner import Lab
from ctiserver.settings import Settings
from tests.chromium import launched_chromium
from tests.integration.conftest import asterisk_available, eventually


def short_wrapup(settings: Settings) -> Settings:
    """The queues' wrap-up cut to a second, so that ``quiet`` waits no longer for it."""
    queues = tuple(dataclasses.replace(queue, wrapup_time=1) for queue in settings.hotline.queues)
    return settings.replace(hotline={"queues": queues})


@contextlib.asynccontextmanager
async def module_lab(settings: Settings, *, nodes: int = 1) -> AsyncIterator[Lab]:
    """A started lab (``nodes`` servers), stopped and every box's directory removed at the end
    (kept, and the way to its log printed, when ``KEEP_LAB`` is set)."""
    asterisk_available(settings)
    lab = Lab(settings, allow_provision=False, nodes=nodes)
    try:
        await lab.start()
        yield lab
    finally:
        await lab.stop()
        for process in (lab.asterisk, *(edge.asterisk for edge in lab.edges)):
            if process is None:
                continue
            if os.environ.get("KEEP_LAB"):
                print("Asterisk's log:", process.log_file.with_name("messages.log"))
            else:
                shutil.rmtree(process.install.host_path(process.layout.base), ignore_errors=True)


async def quiet(lab: Lab, *, log_out: bool = True) -> None:
    """What the last test left ends: its calls are hung up (and gone from the live model), every
    agent is logged out of the queues (and seen so) unless ``log_out`` is False, the phones
    answer after the lab's delay and talk for the lab's talk time."""
    server = lab.server
    assert server is not None
    await lab.phones.send_action({"Action": "Hangup", "Channel": "/^(Local|PJSIP)\\//"})

    busy = (AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP)

    async def no_call() -> bool:
        return not server.calls.active_calls() and not any(agent.state in busy for agent in server.board.all())

    await eventually(no_call, 30, "no call (nor its wrap-up) left from the test before")
    if log_out:
        for record in await server.agents.all():
            if record.user_id is not None:
                await server.desk.logout(record.user_id)

        async def all_out() -> bool:
            return all(not agent.queues for agent in server.board.all())

        await eventually(all_out, 10, "every agent logged out")
    await set_global(lab, "LAB_ANSWER_DELAY", f"{lab.settings.lab.agent_answer_delay:g}")
    await set_global(lab, "LAB_TALK_TIME", f"{lab.settings.lab.agent_talk_time:g}")


class SharedBrowser:
    """The module's Chromium, handed to each test; the contexts (pages) a test opened are closed
    after it, so that no page of an earlier test keeps a websocket to the lab."""

    def __init__(self, chromium: Any) -> None:
        self.chromium = chromium
        self._before: set[Any] = set()

    def enter(self) -> Any:
        self._before = set(self.chromium.contexts)
        return self.chromium

    async def leave(self) -> None:
        for context in self.chromium.contexts:
            if context not in self._before:
                await context.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def module_chromium() -> AsyncIterator[SharedBrowser]:
    """The module's Chromium (import it with ``module_browser`` into a module sharing one)."""
    async with launched_chromium() as chromium:
        yield SharedBrowser(chromium)


@pytest_asyncio.fixture(loop_scope="module", name="browser")
async def module_browser(module_chromium: SharedBrowser) -> AsyncIterator[Any]:
    """``browser`` for a test of a module sharing one Chromium; its pages closed after it."""
    yield module_chromium.enter()
    await module_chromium.leave()
