"""The settings of a lab's nodes (``ctiserver lab --nodes N``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctiserver.lab.nodes import node_settings
from ctiserver.settings import Settings

PG = "postgresql+asyncpg://ctiserver@127.0.0.1:5432/lab"


def lab(tmp_path: Path, **storage: str) -> Settings:
    return Settings().replace(database={"url": PG},
                              storage={"journal_dir": str(tmp_path / "journal"), **storage})


def test_the_nodes_of_a_lab_share_one_journal_directory_and_keep_their_own(tmp_path: Path) -> None:
    one, two = node_settings(lab(tmp_path), 2)
    assert (one.nodes.name, two.nodes.name) == ("node-1", "node-2")
    assert one.storage.shared_journal_dir == two.storage.shared_journal_dir == str(tmp_path / "journal-shared")
    assert one.storage.journal_dir != two.storage.journal_dir
    assert one.nodes.agi == two.nodes.agi and len(one.nodes.agi) == 2


def test_a_shared_journal_directory_given_is_kept_and_one_node_needs_none(tmp_path: Path) -> None:
    given = str(tmp_path / "nfs")
    assert {s.storage.shared_journal_dir for s in node_settings(lab(tmp_path, shared_journal_dir=given), 3)} == {given}
    (alone,) = node_settings(lab(tmp_path), 1)
    assert alone.storage.shared_journal_dir == ""


def test_several_nodes_need_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        node_settings(Settings().replace(storage={"journal_dir": str(tmp_path)}), 2)
