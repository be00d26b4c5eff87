"""Callbacks across a crash and across servers, against real Asterisk: a server killed
(SIGKILL, a real process) while one callback is being dialled and others are pending,
then started again: every task is dialled exactly once (the one in flight is followed in
Asterisk, not dialled again), none lost, none doubled. Two servers on one PostgreSQL:
test_callbacks_dial_once.py."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from ctiserver.callbacks.model import Miss, Source
from ctiserver.callbacks.store import CallbackRepository
from ctiserver.lab.runner import Lab
from ctiserver.storage.database import Database
from ctiserver.telephony.ami.link import AmiLink
from tests.integration.conftest import LabFactory, eventually
from tests.support.callbacks_lab import callback_settings
from tests.support.processes import Processes, processes  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


class Originates:
    """Every channel Asterisk creates for a callback attempt (ChannelId cb-...), seen on an
    AMI session of the test's own."""

    def __init__(self, lab: Lab) -> None:
        self.link = AmiLink(lab.settings.ami)
        self.agent_legs: Counter[str] = Counter()
        self.link.on_event(self._on_event)

    async def _on_event(self, message: dict[str, str]) -> None:
        if message.get("Event") == "Newchannel" and message.get("Uniqueid", "").startswith("cb-") \
                and not message["Uniqueid"].endswith("-2"):
            self.agent_legs[message["Uniqueid"]] += 1


async def test_a_server_killed_while_dialling_dials_every_task_exactly_once(
    make_lab: LabFactory, tmp_path: Path,
    processes: Processes,  # noqa: F811  (the imported fixture)
) -> None:
    settings = callback_settings(tmp_path, dial=False, server_id="node-a")
    lab = await make_lab(settings)
    assert lab.server is not None
    record = {r.extension: r for r in await lab.server.agents.all()}
    await lab.server.desk.login(record["1001"].user_id)  # type: ignore[arg-type]
    store = CallbackRepository(lab.server.db)
    now = lab.server.core.clock()
    numbers = [f"1380013800{n}" for n in range(4)]
    tasks = [(await store.record_miss(Miss(n, Source.ABANDONED, now - 60 + i, queue="support")))[0]
             for i, n in enumerate(numbers)]
    await lab.server.stop()
    lab.server = None
    seen = Originates(lab)
    await seen.link.start()
    await seen.link.wait_ready(20)
    try:
        serving = lab.settings.replace(callbacks={"dial": True})
        first = await processes.server(serving, "first")

        async def ringing() -> bool:
            return len(seen.agent_legs) == 1

        await eventually(ringing, 20, "the first callback to ring its agent")
        first.kill()  # the attempt is dialling: claimed, Originate sent, the agent's phone ringing
        for extension in ("1002", "1003", "1004"):
            await seen.link.send_action({
                "Action": "QueueAdd", "Queue": "support", "Interface": f"Local/{extension}@lab-agents/n",
                "MemberName": record[extension].name, "Paused": "false",
            })
        again = await processes.server(serving, "again")

        db = Database(lab.settings.database.url)
        try:
            check = CallbackRepository(db)

            async def all_connected() -> bool:
                found = [await check.get(t.id) for t in tasks]
                return all(f is not None and f.status == "connected" for f in found)

            await eventually(all_connected, 40, "every task to connect")
            await asyncio.sleep(3)  # a double would show by now
            attempts = [a for t in tasks for a in await check.attempts(t.id)]
        finally:
            await db.close()
        assert len(attempts) == 4, attempts
        assert sorted(a.callback_id for a in attempts) == sorted(t.id for t in tasks)
        assert set(seen.agent_legs) == {a.channel_id for a in attempts}
        assert all(n == 1 for n in seen.agent_legs.values()), seen.agent_legs
        assert "still in Asterisk" in again.log.read_text(), "the attempt in flight was followed"
    finally:
        await seen.link.stop()
