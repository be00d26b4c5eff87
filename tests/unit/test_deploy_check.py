"""The pure parts of ``ctiserver check`` and the production snippets."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from ctiserver.lab.asterisk import AsteriskLayout, render_config
from ctiserver.lab.provision import AsteriskInstall
from ctiserver.operations.check import (
    ContextPlan,
    allowed_actions,
    asterisk_major,
    context_plan,
    dialplan_result,
    permissions_result,
    port_result,
    queue_names,
    queues_result,
    report,
    secrets_result,
    settings_result,
    version_result,
)
from ctiserver.operations.snippets import dialplan_contexts, render_snippets, server_address, write_snippets
from ctiserver.settings import QueueSettings, Settings

SECRET = "a-production-secret-0123456789"
SETTINGS = Settings().replace(ami={"secret": SECRET}, web={"session_secret": "s" * 48})


def test_list_commands_gives_the_actions_the_user_may_send() -> None:
    answer = {
        "Response": "Success", "ActionID": "1",
        "QueueAdd": "Add interface to queue. (Priv: agent,all)",
        "Ping": "Keepalive command. (Priv: <none>)",
    }
    assert allowed_actions(answer) == {"QueueAdd", "Ping"}


def test_permissions_name_what_is_missing_and_the_classes_to_add() -> None:
    result = permissions_result({"QueueAdd", "QueueRemove", "BlindTransfer", "Atxfer", "CancelAtxfer", "ShowDialPlan",
                                 "CoreSettings", "StopMixMonitor"})
    assert not result.ok
    assert "QueuePause" in result.detail and "CoreShowChannels" in result.detail and "MixMonitor" in result.detail
    assert "write = call,agent,reporting,system" in result.fix and "missing: agent, reporting, system" in result.fix
    full = {"QueueAdd", "QueueRemove", "QueuePause", "BlindTransfer", "Atxfer", "CancelAtxfer", "CoreShowChannels",
            "ShowDialPlan", "CoreSettings", "StopMixMonitor", "MixMonitor"}
    assert permissions_result(full).ok
    # the system class MixMonitor needs brings ModuleLoad and Reload: not counted against it
    assert "more than it needs" not in permissions_result(full | {"ModuleLoad", "Reload"}).detail
    generous = permissions_result(full | {"Originate", "Command"})
    assert generous.ok and "Command, Originate" in generous.detail and "more than it needs" in generous.detail


def test_versions() -> None:
    assert asterisk_major("22.10.1+dfsg+~cs6.17.60671434-1") == 22
    assert asterisk_major("certified-20.7-cert1") == 20
    assert asterisk_major("GIT-master-abc") is None
    assert version_result({"AsteriskVersion": "20.5.2"}).ok
    old = version_result({"AsteriskVersion": "16.30.0"})
    assert not old.ok and "upgrade" in old.fix


def test_queues_come_from_the_queue_params_of_queue_status() -> None:
    status = [
        {"Response": "Success"},
        {"Event": "QueueParams", "Queue": "support"},
        {"Event": "QueueMember", "Queue": "repair", "Location": "PJSIP/1001"},
        {"Event": "QueueParams", "Queue": "repair"},
        {"Event": "QueueStatusComplete"},
    ]
    known = queue_names(status)
    assert known == {"support", "repair"}
    result = queues_result(SETTINGS, known)
    assert not result.ok and "no queue complaint, installation" in result.detail
    assert "ctiserver asterisk snippets" in result.fix


def test_dialplan_needs_the_contexts_the_number_and_the_agi_port() -> None:
    assert dialplan_contexts(SETTINGS) == ["hotline", "agent-phones", "cti-record", "cti-agi"]
    listing = [
        {"Event": "ListDialplan", "Context": "hotline", "Extension": "4008001234", "Application": "AGI",
         "AppData": "agi://127.0.0.1:4573/hotline"},
        {"Event": "ListDialplan", "Context": "hotline", "Extension": "4008001234", "Application": "Queue",
         "AppData": "support"},
        {"Event": "ShowDialPlanComplete"},
    ]
    plan = context_plan(listing)
    assert plan == ContextPlan(frozenset({"4008001234"}), ("agi://127.0.0.1:4573/hotline",))
    agent_phones = ContextPlan(frozenset({"_X."}), ())
    assert dialplan_result(SETTINGS, {"hotline": plan, "agent-phones": agent_phones}).ok
    missing = dialplan_result(SETTINGS, {"hotline": plan, "agent-phones": None})
    assert not missing.ok and "no context agent-phones" in missing.detail
    plans = {"hotline": plan, "agent-phones": agent_phones}
    moved = dialplan_result(SETTINGS.replace(agi={"port": 4600}), plans)
    assert not moved.ok and "no FastAGI server on port 4600" in moved.detail
    # several nodes: [hotline] goes through [cti-agi], which tries each node's agi://
    through = context_plan([
        {"Event": "ListDialplan", "Context": "hotline", "Extension": "4008001234", "Application": "Gosub",
         "AppData": "cti-agi,${EXTEN},1(hotline)"},
    ])
    nodes = context_plan([
        {"Event": "ListDialplan", "Context": "cti-agi", "Extension": "s", "Application": "ExecIf",
         "AppData": f"$[${{at}} = {n}]?AGI(agi://10.0.0.{n}:4573/${{ARG1}})"} for n in (1, 2)
    ])
    assert nodes.agi_targets == ("agi://10.0.0.1:4573/${ARG1}", "agi://10.0.0.2:4573/${ARG1}")
    assert dialplan_result(SETTINGS, {"hotline": through, "agent-phones": agent_phones, "cti-agi": nodes}).ok
    assert not dialplan_result(SETTINGS, {"hotline": through, "agent-phones": agent_phones}).ok


def test_settings_that_cannot_work() -> None:
    assert settings_result(SETTINGS, "/etc/ctiserver/ctiserver.toml").ok
    bad = SETTINGS.replace(hotline={
        "default_queue": "nowhere", "agent_interface": "PJSIP/1001", "timezone": "Mars/Olympus",
        "queues": (QueueSettings(name="a", strategy="loudest"), QueueSettings(name="a")),
    })
    result = settings_result(bad, None)
    assert not result.ok
    for text in ("named twice: a", "default_queue 'nowhere'", "unknown strategy 'loudest'", "{extension}",
                 "Mars/Olympus"):
        assert text in result.detail


def test_hours_that_cannot_work() -> None:
    bad = SETTINGS.replace(
        hotline={"queues": (QueueSettings(name="a", hours="mon-fry 08:00-20:00"), QueueSettings(name="b"))},
        tickets={"hours": ("mon-fri 9-18",)},
    )
    result = settings_result(bad, None)
    assert not result.ok
    assert "queue a: business hours 'mon-fry 08:00-20:00': unknown day" in result.detail
    assert "tickets: business hours 'mon-fri 9-18'" in result.detail
    nights = QueueSettings(name="a", hours="mon-fri 20:00-02:00; sat 10:00-12:00")
    night = SETTINGS.replace(hotline={"queues": (nights,), "default_queue": "a"})
    assert settings_result(night, None).ok


def test_secrets_follow_serves_rules_without_writing(tmp_path: Path) -> None:
    assert not secrets_result(Settings()).ok
    secrets_file = tmp_path / "secrets.toml"
    default_session = Settings().replace(ami={"secret": SECRET}, web={"secrets_file": str(secrets_file)})
    result = secrets_result(default_session)
    assert result.ok and "will generate" in result.detail and not secrets_file.exists()
    secrets_file.write_text('session_secret = "' + "x" * 40 + '"\n')
    secrets_file.chmod(0o644)
    leaky = secrets_result(default_session)
    assert not leaky.ok and "chmod 600" in leaky.detail


def test_a_port_in_use_is_a_problem() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = port_result("web", "127.0.0.1", port)
    assert not result.ok and "web.port" in result.fix
    assert port_result("web", "127.0.0.1", port).ok


def test_report_lines_and_status() -> None:
    lines, status = report([permissions_result(set()), version_result({"AsteriskVersion": "22.1.0"})])
    assert status == 1 and lines[0].startswith("PROBLEM  AMI permissions:")
    assert lines[1].startswith("         fix: ") and lines[2].startswith("OK       Asterisk version")
    assert report([version_result({"AsteriskVersion": "22.1.0"})]) == (
        ["OK       Asterisk version: Asterisk 22.1.0", "all 1 checks OK"], 0,
    )


def test_the_production_snippets_are_the_labs_partials(tmp_path: Path) -> None:
    """One source: the lab's rendered files hold the snippets' text, but for the AMI user's
    extra permissions (the lab's phones Originate, reads user and dtmf events) and nothing else."""
    snippets = render_snippets(SETTINGS)
    install = AsteriskInstall(root=Path("/"), binary="asterisk", modules_dir="/m", data_dir="/d")
    etc = render_config(SETTINGS, install, AsteriskLayout(base=str(tmp_path / "lab")))

    def body(name: str) -> str:
        return snippets[name].split("\n\n", 1)[1]

    assert body("extensions_ctiserver.conf") in (etc / "extensions.conf").read_text()
    assert body("queues_ctiserver.conf").strip() in (etc / "queues.conf").read_text()
    manager = body("manager_ctiserver.conf")
    assert "read = system,call,agent\nwrite = call,agent,reporting,system\n" in manager
    assert f"secret = {SECRET}" in manager and "originate" not in manager
    lab_manager = (etc / "manager.conf").read_text()
    # the lab reads user events (the IVR's CtiIvrListening) and dtmf (the browser phone's test)
    lab_only = manager.replace("read = system,call,agent\n", "read = system,call,agent,user,dtmf\n").replace(
        "write = call,agent,reporting,system\n", "write = call,agent,reporting,system,originate\n"
    )
    assert lab_only in lab_manager.replace("; and, for this Asterisk only: originate\n", "").replace(
        "; and reading, for this Asterisk only: user,dtmf\n", ""
    )
    written = write_snippets(snippets, tmp_path / "out")
    modes = {p.name: p.stat().st_mode & 0o777 for p in written}
    assert modes == {"manager_ctiserver.conf": 0o600, "queues_ctiserver.conf": 0o644,
                     "extensions_ctiserver.conf": 0o644}


def test_the_snippets_point_asterisk_at_the_server() -> None:
    assert server_address(SETTINGS.replace(agi={"host": "0.0.0.0"})) == "127.0.0.1"  # noqa: S104
    assert server_address(SETTINGS.replace(agi={"host": "10.0.0.5"})) == "10.0.0.5"
    snippets = render_snippets(SETTINGS.replace(agi={"port": 4600}), "10.0.0.5")
    dialplan = snippets["extensions_ctiserver.conf"]
    assert "Gosub(cti-agi,${EXTEN},1(hotline))" in dialplan and "AGI(agi://10.0.0.5:4600/${ARG1})" in dialplan
    several = render_snippets(SETTINGS.replace(nodes={"agi": ("10.0.0.5:4573", "10.0.0.6:4573")}))
    dialplan = several["extensions_ctiserver.conf"]
    assert "${RAND(0,1)}" in dialplan
    for n, node in enumerate(("10.0.0.5", "10.0.0.6")):
        assert f"ExecIf($[${{at}} = {n}]?AGI(agi://{node}:4573/${{ARG1}}))" in dialplan
    # numbers, keys and s: never h, which a hangup inside a request would run (the request again)
    nodes_context = dialplan[dialplan.index("[cti-agi]"):]
    assert re.findall(r"^exten => ([^,]+),", nodes_context, re.MULTILINE) == ["_[0-9*#+]", "_[0-9*#+].", "s"]
    assert "permit = 10.0.0.5/255.255.255.255" in snippets["manager_ctiserver.conf"]


def test_the_nodes_fastagi_addresses_are_checked() -> None:
    """They go into the dialplan: a host and a port, nothing else."""
    import pytest

    from ctiserver.settings import SettingsError

    for bad in ("10.0.0.5", "10.0.0.5:4573/x", "a b:1", "x:1,Hangup()"):
        with pytest.raises(SettingsError, match=r"nodes\.agi"):
            SETTINGS.replace(nodes={"agi": (bad,)})
