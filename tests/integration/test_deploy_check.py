"""Deploying beside a real Asterisk: the production snippets load, ``ctiserver check`` judges
the Asterisk it meets, and the server runs on the AMI user's least permissions."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ctiserver.agents.model import AgentState
from ctiserver.lab import runner
from ctiserver.lab.asterisk import AsteriskLayout, AsteriskProcess, layout_for, render_config
from ctiserver.lab.boxes import BoxView
from ctiserver.lab.caller import place_call
from ctiserver.lab.phones import PhoneLines
from ctiserver.lab.provision import AsteriskInstall, find_or_provision
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.operations.check import Result, report, run_checks
from ctiserver.operations.snippets import render_snippets, write_snippets
from ctiserver.settings import QueueSettings, Settings
from ctiserver.storage.database import upgrade_schema
from ctiserver.users.store import UserRepository
from tests.conftest import REPO
from tests.integration.conftest import LabFactory, asterisk_available, eventually, lab_settings

pytestmark = pytest.mark.integration

#: the production user: what `ctiserver asterisk snippets` renders, nothing more
USER = "ctiprod"
SECRET = "a-production-secret-0123456789"
#: a user short of what the server needs: no agent or system classes
WEAK_USER = """
[ctiweak]
secret = weak-secret-0123456789
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = call
write = call
"""


def production(settings: Settings) -> Settings:
    return settings.replace(
        ami={"username": USER, "secret": SECRET},
        web={"session_secret": "s" * 48},
    )


def install_snippets(settings: Settings, etc: Path) -> None:
    """An operator's Asterisk: its own small files, the snippets #included at their end."""
    write_snippets(render_snippets(production(settings)), etc)
    with (etc / "manager.conf").open("a", encoding="utf-8") as fh:
        fh.write(f"\n#include manager_ctiserver.conf\n{WEAK_USER}")
    (etc / "queues.conf").write_text(
        "[general]\npersistentmembers = yes\n\n#include queues_ctiserver.conf\n", encoding="utf-8"
    )
    (etc / "extensions.conf").write_text(
        "[general]\nstatic = yes\nwriteprotect = yes\n\n[globals]\n\n[from-pstn]\n"
        f"exten => _X.,1,Goto(hotline,{settings.hotline.number},1)\n\n"
        "#include extensions_ctiserver.conf\n",
        encoding="utf-8",
    )


@pytest.fixture
async def operators_asterisk(tmp_path: Path) -> AsyncIterator[Settings]:
    """Asterisk configured the way docs/deploy.md says; the settings of ctiserver beside it."""
    settings = lab_settings(tmp_path)
    asterisk_available(settings)
    install = find_or_provision(settings.asterisk, allow_provision=False)
    layout = layout_for(settings, install)
    install_snippets(settings, render_config(settings, install, layout))
    await upgrade_schema(settings.database.url)
    asterisk = AsteriskProcess(install, layout)
    try:
        await asterisk.start()
        await asterisk.wait_fully_booted()
        yield production(settings)
    finally:
        await asterisk.stop()
        shutil.rmtree(install.host_path(layout.base), ignore_errors=True)


def named(results: list[Result], name: str) -> Result:
    return next(r for r in results if r.name == name)


async def test_check_passes_on_an_asterisk_configured_as_documented(
    operators_asterisk: Settings, tmp_path: Path
) -> None:
    s = operators_asterisk
    config = tmp_path / "ctiserver.toml"
    config.write_text(
        f'[ami]\nport = {s.ami.port}\nusername = "{USER}"\nsecret = "{SECRET}"\n'
        f"[agi]\nport = {s.agi.port}\n"
        f'[web]\nport = {s.web.port}\nsession_secret = "{s.web.session_secret}"\n'
        f'[database]\nurl = "{s.database.url}"\n'
        f'[ivr]\nflows_dir = "{s.ivr.flows_dir}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTISERVER_")}
    env["PYTHONPATH"] = str(REPO)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ctiserver", "--config", str(config), "check"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert not [line for line in lines if line.startswith("PROBLEM")], done.stdout
    for name in ("AMI login", "AMI events", "AMI permissions", "Asterisk version", "queues", "dialplan"):
        assert any(line.startswith(f"OK       {name}:") for line in lines), f"{name} not OK:\n{done.stdout}"
    assert "Asterisk 2" in done.stdout and lines[-1].startswith("all ")


async def test_a_wrong_ami_secret_is_a_clear_problem(operators_asterisk: Settings) -> None:
    results = await run_checks(operators_asterisk.replace(ami={"secret": "not-the-secret-0123456789"}))
    login = named(results, "AMI login")
    assert not login.ok
    assert f"refused user '{USER}'" in login.detail and "Authentication failed" in login.detail
    assert "manager.conf" in login.fix
    assert report(results)[1] == 1


async def test_a_missing_queue_and_a_wrong_hotline_number_are_reported(operators_asterisk: Settings) -> None:
    s = operators_asterisk
    settings = s.replace(hotline={
        "queues": (*s.hotline.queues, QueueSettings(name="billing")),
        "number": "4009999999",
    })
    results = await run_checks(settings)
    queues, dialplan = named(results, "queues"), named(results, "dialplan")
    assert not queues.ok and "no queue billing" in queues.detail and "support" in queues.detail
    assert not dialplan.ok and "[hotline] has no extension 4009999999" in dialplan.detail
    assert "ctiserver asterisk snippets" in dialplan.fix
    assert named(results, "AMI permissions").ok


async def test_a_user_short_of_permissions_is_told_which(operators_asterisk: Settings) -> None:
    results = await run_checks(operators_asterisk.replace(
        ami={"username": "ctiweak", "secret": "weak-secret-0123456789"}
    ))
    permissions, events = named(results, "AMI permissions"), named(results, "AMI events")
    assert not events.ok and "read = system,call,agent" in events.fix
    assert not permissions.ok
    assert "QueueAdd" in permissions.detail and "CoreShowChannels" in permissions.detail
    assert "BlindTransfer" not in permissions.detail  # write = call has it
    assert "StopMixMonitor" not in permissions.detail and "MixMonitor" in permissions.detail
    assert "agent" in permissions.fix and "reporting" in permissions.fix and "system" in permissions.fix


async def test_a_busy_port_is_reported(operators_asterisk: Settings) -> None:
    s = operators_asterisk
    server = await asyncio.start_server(lambda r, w: None, s.agi.host, s.agi.port)
    try:
        agi = named(await run_checks(s), "agi")
    finally:
        server.close()
        await server.wait_closed()
    assert not agi.ok and "ctiserver running?" in agi.fix


async def test_the_server_runs_on_the_least_permissions(
    make_lab: LabFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lab with its server logged in as the production user: agents log in (QueueAdd and
    the member events), a call reaches one (call and queue events), it pauses (QueuePause)
    and hands the call to a colleague (BlindTransfer); the lab's phones use their own user."""
    lab_user = lab_settings(tmp_path)

    def render_with_both_users(
        settings: Settings, install: AsteriskInstall, layout: AsteriskLayout, box: BoxView | None = None
    ) -> Path:
        etc = render_config(settings.replace(ami={"username": lab_user.ami.username,
                                                  "secret": lab_user.ami.secret}), install, layout, box)
        write_snippets({"manager_ctiserver.conf": render_snippets(settings)["manager_ctiserver.conf"]}, etc)
        with (etc / "manager.conf").open("a", encoding="utf-8") as fh:
            fh.write("\n#include manager_ctiserver.conf\n")
        return etc

    monkeypatch.setattr(runner, "render_config", render_with_both_users)
    real_init = Lab.__init__

    def phones_on_the_lab_user(self: Lab, settings: Settings, **kwargs: Any) -> None:
        real_init(self, settings, **kwargs)
        self.phones = PhoneLines(lab_user.ami)

    monkeypatch.setattr(Lab, "__init__", phones_on_the_lab_user)
    lab = await make_lab(production(lab_user))
    assert lab.server is not None and lab.settings.ami.username == USER
    server = lab.server

    async def states() -> dict[str, AgentState]:
        found = {ext: server.board.get(f"Local/{ext}@lab-agents/n") for ext in lab.settings.lab.agents}
        return {ext: a.state if a is not None else AgentState.LOGGED_OUT for ext, a in found.items()}

    async def all_ready() -> bool:
        return all(state is AgentState.READY for state in (await states()).values())

    await eventually(all_ready, 15, "every agent logged in and ready")
    call_id = await place_call(lab, LabCall("13800138000", "张伟", hangup_after=60))

    async def answered() -> str | None:
        return next((ext for ext, st in (await states()).items() if st is AgentState.ON_CALL), None)

    first = await eventually(answered, 20, "an agent to answer the call")
    assert server.calls.get(call_id) is not None, "the call's channel events reached the server"
    others = [ext for ext in lab.settings.lab.agents if ext != first]
    users = UserRepository(server.db)
    first_user = await users.authenticate(f"agent{first}", lab.settings.lab.demo_password)
    colleague = await users.authenticate(f"agent{others[0]}", lab.settings.lab.demo_password)
    assert first_user is not None and colleague is not None
    for ext in others[1:]:
        other = await users.authenticate(f"agent{ext}", lab.settings.lab.demo_password)
        assert other is not None
        await server.desk.pause(other.id, "lunch")  # QueuePause, confirmed by its event
    await server.desk.transfer(first_user.id, others[0])  # BlindTransfer

    async def moved() -> bool:
        return (await states())[others[0]] in (AgentState.RINGING, AgentState.ON_CALL)

    await eventually(moved, 20, f"the transferred call to ring agent {others[0]}")
