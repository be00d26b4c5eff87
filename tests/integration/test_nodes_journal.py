"""A dead node's journal is written by a live one (issue 19 part 5; docs/deploy.md section 9):
real Asterisk, real PostgreSQL, two ``ctiserver`` nodes whose journals are on one shared
directory (``storage.shared_journal_dir``).

The database is busy for the IVR's ticket and callback request (the test holds a lock on
``tickets`` and the callbacks' tables): the caller, whose IVR runs on node two, waits
``ivr.ticket_wait`` seconds at each, then each request goes to node two's journal and the
caller goes on (node two's writer keeps trying: each
try gives up after ``storage.write_timeout``). Node two is killed (``kill -9``) and never comes
back; the lock is let go. Node one sees node two's heartbeat run out, takes the advisory
lock ``journal-node-2`` and node two's file lock (free: its process is gone), and opens
the ticket and records the callback request from node two's journals: each exactly once,
and the journals are gone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ctiserver.lab.caller import place_call
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.storage.pglink import connect
from ctiserver.storage.writer.rescue import journal_home
from ctiserver.tickets.store import TicketRepository
from tests.integration.conftest import eventually, lab_settings
from tests.integration.shared_lab import module_lab
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

FLOW = """\
flow: journal
entry: "4008001234"
language: zh
start: ticket
nodes:
  ticket: {kind: ticket, type: inquiry, summary: "咨询 ${caller_number}", next: callback}
  callback: {kind: callback, number: caller_id, prompt: "好的", next: agents}
  agents: {kind: queue, queue: support}
"""


@pytest.fixture
async def two_nodes(tmp_path: Path, postgres_server: PostgresServer) -> AsyncIterator[Lab]:  # noqa: F811
    url = await postgres_server.create_database("journal_rescue_lab")
    settings = lab_settings(
        tmp_path, flow=FLOW, database={"url": url}, nodes={"lease_interval": 1.0, "heartbeat": 1.0},
        storage={"shared_journal_dir": str(tmp_path / "shared-journals"), "retry_max": 2.0,
                 "write_timeout": 2.0},
        ivr={"ticket_wait": 2.0},
    )
    async with module_lab(settings, nodes=2) as lab:
        yield lab


async def test_a_ticket_and_a_callback_in_a_dead_nodes_journals_are_written_once_by_the_live_node(two_nodes: Lab) -> None:
    lab = two_nodes
    assert lab.server is not None
    one, two = lab.server, lab.other_nodes[0]
    rescue = one.core.journal_rescue
    assert rescue is not None, "storage.shared_journal_dir set on PostgreSQL: every node rescues journals"
    home = journal_home(lab.settings.storage.shared_journal_dir, two.name)
    journals = [home / "ivr-tickets.jsonl", home / "ivr-callbacks.jsonl"]
    await one.agi.stop()  # the call's FastAGI request goes on to node two ([cti-agi] tries the next)
    holder = await connect(lab.settings.database.url)
    locked = holder.transaction()
    await locked.start()
    try:
        await holder.execute("LOCK TABLE tickets, callbacks, callback_misses IN ACCESS EXCLUSIVE MODE")
        call = await place_call(lab, LabCall("13900004001"))

        async def journaled() -> bool:
            return all(journal.exists() and journal.stat().st_size > 0 for journal in journals)

        await eventually(journaled, 60, "the ticket and the callback request in node two's journals "
                                        "(the database busy)")
        for journal in journals:
            assert b'"call_id":"%s"' % call.encode() in journal.read_bytes(), journal
        await two.kill()
    finally:
        await locked.rollback()  # the database is free again
        await holder.close()
    tickets = TicketRepository(one.db)

    async def gone() -> bool:
        return not any(journal.exists() for journal in journals)

    await eventually(gone, 60, "node one to write node two's journals (then removed)")
    found = await tickets.list_for_call(call)
    assert [(t.type, t.source) for t in found] == [("inquiry", "ivr")], found
    assert await _callback_requests(lab, call) == 1
    assert rescue.rescued == 2 and await rescue.look() == 0  # nothing left: written once
    assert len(await tickets.list_for_call(call)) == 1 and await _callback_requests(lab, call) == 1


async def _callback_requests(lab: Lab, call: str) -> int:
    connection = await connect(lab.settings.database.url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM callback_misses WHERE linkedid = $1", call))
    finally:
        await connection.close()
