"""The parts of a dead node's journal rescue that need no PostgreSQL (the rest:
tests/integration/test_nodes_journal.py): where a node's journals live, and the owner's
file lock, held as long as its process lives, refused to a rescuer meanwhile."""

from __future__ import annotations

import os
from pathlib import Path

from ctiserver.storage.writer.rescue import OWNER_LOCK, OwnerLock, _has_journal, _try_flock, journal_home


def test_a_node_name_is_a_safe_directory_under_the_shared_one(tmp_path: Path) -> None:
    shared = str(tmp_path)
    assert journal_home(shared, "node-1") == tmp_path / "node-1"
    assert journal_home(shared, "host.example:8080") == tmp_path / "host.example_8080"
    for hostile in ("../etc", "/etc/passwd", "..", ".", ""):
        home = journal_home(shared, hostile)
        assert home.parent == tmp_path and home.name not in ("", ".", ".."), hostile


async def test_the_owners_lock_keeps_a_rescuer_out_until_it_lets_go(tmp_path: Path) -> None:
    owner = OwnerLock(tmp_path / "node-2")
    await owner.take()
    assert _try_flock(tmp_path / "node-2" / OWNER_LOCK, wait=False) is None, "the owner lives: no rescue"
    owner.release()  # as the kernel does when the process dies
    fd = _try_flock(tmp_path / "node-2" / OWNER_LOCK, wait=False)
    assert fd is not None
    os.close(fd)


def test_only_journals_with_records_call_for_a_rescue(tmp_path: Path) -> None:
    assert not _has_journal(tmp_path / "absent")
    (tmp_path / "ivr-tickets.jsonl").write_bytes(b"")
    (tmp_path / "ivr-tickets.dead.jsonl").write_bytes(b'{"x":1}\n')
    assert not _has_journal(tmp_path), "empty, or a dead letter (set aside for people, not replayed)"
    (tmp_path / "ivr-tickets.jsonl").write_bytes(b'{"x":1}\n')
    assert _has_journal(tmp_path)
