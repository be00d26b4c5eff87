"""The ``ctiserver`` command as an admin types it (a real process, a real SQLite file)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ctiserver.audit.store import AuditFilter, AuditRepository
from ctiserver.storage.database import Database
from ctiserver.users.sessions import SessionRepository
from ctiserver.users.store import UserRepository
from tests.conftest import MIGRATED, REPO, require

HOTLINE = REPO / "ivr_flows" / "hotline.yaml"
BROKEN = REPO / "tests" / "flows_broken"


def ctiserver(*args: str, tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    database = tmp_path / "cli.sqlite3"
    MIGRATED.seed(database)  # the migrations' own tests replay them; a command here need not
    env = {
        **os.environ,
        "CTISERVER_DATABASE__URL": f"sqlite+aiosqlite:///{database}",
        "CTISERVER_IVR__FLOWS_DIR": str(REPO / "ivr_flows"),
        # the code under test, not whatever checkout the venv has installed
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-m", "ctiserver", *args], input=stdin, capture_output=True, text=True,
        env=env, cwd=tmp_path, timeout=120,
    )


async def test_user_add_stores_a_user_who_can_log_in(tmp_path: Path) -> None:
    done = ctiserver("user", "add", "王主管", "--role", "supervisor", tmp_path=tmp_path, stdin="s3cret-口令\n")
    assert done.returncode == 0, done.stderr
    assert "user 王主管 added with role supervisor" in done.stdout
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    try:
        users = UserRepository(db)
        user = await users.authenticate("王主管", "s3cret-口令")
        assert user is not None and user.role == "supervisor"
        assert await users.authenticate("王主管", "wrong") is None
    finally:
        await db.close()
    again = ctiserver("user", "add", "王主管", "--role", "agent", tmp_path=tmp_path, stdin="other\n")
    assert again.returncode == 1 and "王主管" in again.stderr


async def test_staff_added_and_changed_and_their_sessions_listed_and_ended(tmp_path: Path) -> None:
    done = ctiserver("user", "add", "engineer-bj", "--role", "staff", "--department", "repair",
                     "--display-name", "北京工程师", tmp_path=tmp_path, stdin="pw-engineer\n")
    assert done.returncode == 0, done.stderr
    refused = ctiserver("user", "add", "e2", "--role", "staff", "--department", "nowhere", tmp_path=tmp_path,
                        stdin="pw-engineer\n")
    assert refused.returncode == 1 and "no such department: nowhere" in refused.stderr
    listed = ctiserver("user", "list", tmp_path=tmp_path)
    assert "engineer-bj\tstaff\trepair\t-\t北京工程师" in listed.stdout
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    try:
        user = await UserRepository(db).find("engineer-bj")
        assert user is not None
        sessions = SessionRepository(db, secret="x", idle=3600, lifetime=7200)
        for _ in range(2):
            await sessions.open(user.id, {}, client="10.0.0.8", user_agent="Chromium")
        shown = ctiserver("user", "sessions", "engineer-bj", tmp_path=tmp_path)
        assert shown.stdout.count("engineer-bj") == 2 and "10.0.0.8" in shown.stdout
        session_id = shown.stdout.split("\t", 1)[0]
        ended = ctiserver("user", "revoke", session_id, tmp_path=tmp_path)
        assert ended.returncode == 0 and "1 session(s) ended" in ended.stdout
        changed = ctiserver("user", "set", "engineer-bj", "--role", "agent", "--department", "", tmp_path=tmp_path)
        assert changed.returncode == 0, changed.stderr
        assert "changed role, department; 1 session(s) ended" in changed.stdout
        assert await sessions.list("engineer-bj") == []
        user = await UserRepository(db).find("engineer-bj")
        assert user is not None and (user.role, user.department) == ("agent", None)
        events = await AuditRepository(db).find(AuditFilter(target_kind="user", limit=10))
        assert {event.action for event in events} >= {"user.add", "user.set"}
    finally:
        await db.close()


def test_user_add_refuses_an_unknown_role(tmp_path: Path) -> None:
    done = ctiserver("user", "add", "x", "--role", "owner", tmp_path=tmp_path, stdin="pw1234\n")
    assert done.returncode == 2
    assert "invalid choice: 'owner'" in done.stderr


def test_flows_check_prints_file_line_column_and_fails(tmp_path: Path) -> None:
    good = ctiserver("flows", "check", str(HOTLINE), tmp_path=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = ctiserver("flows", "check", str(BROKEN / "references.yaml"), tmp_path=tmp_path)
    assert bad.returncode == 1
    assert f"{BROKEN / 'references.yaml'}:10:26: options[2]: no node named 'agent'" in bad.stdout.splitlines()


def test_flows_simulate_walks_the_flow_without_a_phone(tmp_path: Path) -> None:
    done = ctiserver(
        "flows", "simulate", str(HOTLINE), "--caller", "13800138000", "--dtmf", "1,1,3",
        "--at", "2026-11-25T10:00:00+08:00", "--no-lookup", tmp_path=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "would open repair ticket: 报修：冰箱（来电 13800138000）" in done.stdout
    assert "outcome: queue repair" in done.stdout


def test_flows_graph_writes_an_svg(tmp_path: Path) -> None:
    require(shutil.which("dot") is not None, "Graphviz dot is not installed")
    done = ctiserver("flows", "graph", str(HOTLINE), "-o", str(tmp_path / "hotline.svg"), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    svg = (tmp_path / "hotline.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg[:500]
    assert "main_menu" in svg
