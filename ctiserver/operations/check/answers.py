"""The checks over Asterisk's answers: pure functions of what AMI said (unit-tested).

Permissions (ListCommands), events (FullyBooted), version (CoreSettings), queues
(QueueStatus) and dialplan (ShowDialPlan); :mod:`.asterisk` gathers the answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ctiserver.operations.check.results import Result, ok, problem
from ctiserver.settings import Settings

#: the AMI actions the server sends, and the write class of manager.conf each needs
#: (Login, Ping, QueueStatus and ListCommands need none)
REQUIRED_ACTIONS: Mapping[str, str] = {
    "QueueAdd": "agent",
    "QueueRemove": "agent",
    "QueuePause": "agent",
    "BlindTransfer": "call",
    "Atxfer": "call",
    "CancelAtxfer": "call",
    "CoreShowChannels": "reporting",
    # after an attended transfer the new agent's recording goes on on the caller's leg
    # (ctiserver.recordings.transfer): Asterisk lets only the system class start MixMonitor
    "StopMixMonitor": "call",
    "MixMonitor": "system",
}
#: what the check itself asks for (its answers are the checks of version and dialplan)
CHECK_ACTIONS: Mapping[str, str] = {"CoreSettings": "reporting", "ShowDialPlan": "reporting"}
#: the read classes the server needs; only "system" can be seen from a login (FullyBooted)
READ_CLASSES = "system,call,agent"
WRITE_CLASSES = "call,agent,reporting,system"
#: actions the server never sends whose presence means the user may do more than it needs
#: (ModuleLoad and Reload come with the system class that MixMonitor needs: not listed)
BEYOND_NEED = ("Command", "Originate", "UpdateConfig", "GetConfig")
#: the Asterisk versions ctiserver is tested with
SUPPORTED_MAJORS = (20, 21, 22, 23)
WRITE_FIX = f"give the AMI user write = {WRITE_CLASSES} in manager.conf, then `manager reload`"
SNIPPETS_HINT = "render them with `ctiserver asterisk snippets --out DIR` and #include them"


def allowed_actions(list_commands: Mapping[str, object]) -> set[str]:
    """The action names of a ListCommands answer (Asterisk lists only those the user may send)."""
    skip = {"response", "actionid", "message", "eventlist"}
    return {str(key) for key in list_commands if str(key).lower() not in skip}


#: what the fair wait (``waits.announce``) sends besides: its whispers to waiting callers
WAIT_ACTIONS: Mapping[str, str] = {"Originate": "originate"}


def permissions_result(allowed: Iterable[str], *, announcing: bool = False) -> Result:
    """``announcing``: the fair wait is on (``waits.announce``), so Originate is needed."""
    name = "AMI permissions"
    have = {a.lower() for a in allowed}
    needed = {**REQUIRED_ACTIONS, **CHECK_ACTIONS, **(WAIT_ACTIONS if announcing else {})}
    missing = [a for a in needed if a.lower() not in have]
    if missing:
        classes = sorted({needed[a] for a in missing})
        return problem(
            name, f"the AMI user may not send {', '.join(missing)}",
            f"give the user write = {WRITE_CLASSES}{',originate' if announcing else ''} in manager.conf "
            f"(missing: {', '.join(classes)}), then `manager reload`",
        )
    beyond = [a for a in BEYOND_NEED if a.lower() in have and a not in needed]
    detail = f"may send {', '.join(REQUIRED_ACTIONS)}; read = {READ_CLASSES} is needed too (system seen)"
    if beyond:
        detail += f"; it may also send {', '.join(beyond)}: more than it needs (write = {WRITE_CLASSES})"
    return ok(name, detail)


def events_result(fully_booted: bool) -> Result:
    name = "AMI events"
    if fully_booted:
        return ok(name, "FullyBooted received after login: Asterisk is up and the user reads system events")
    return problem(
        name, "no FullyBooted event after login: the server would wait for it for ever",
        f"give the user read = {READ_CLASSES} in manager.conf (or wait until Asterisk has fully booted)",
    )


_VERSION = re.compile(r"(\d+)\.(\d+)")


def asterisk_major(version: str) -> int | None:
    """20 of ``'20.5.2'``, 22 of ``'certified-20.7-cert1'``... None if there is no number."""
    match = _VERSION.search(version)
    return int(match.group(1)) if match else None


def version_result(core_settings: Mapping[str, object]) -> Result:
    name = "Asterisk version"
    version = str(core_settings.get("AsteriskVersion", "") or "")
    major = asterisk_major(version)
    if major is None:
        return problem(name, f"unknown ({version or 'CoreSettings gave none'})", "run Asterisk 20 or 22")
    if major not in SUPPORTED_MAJORS:
        return problem(
            name, f"Asterisk {version}; ctiserver is tested with {', '.join(map(str, SUPPORTED_MAJORS))}",
            "upgrade Asterisk to 20 (LTS) or 22 (LTS)",
        )
    return ok(name, f"Asterisk {version}")


def queue_names(queue_status: Iterable[Mapping[str, object]]) -> set[str]:
    """The queues app_queue knows, from the QueueParams items of a QueueStatus answer."""
    return {
        str(m.get("Queue")) for m in queue_status
        if str(m.get("Event", "")).lower() == "queueparams" and m.get("Queue")
    }


def queues_result(settings: Settings, known: set[str]) -> Result:
    name = "queues"
    wanted = [q.name for q in settings.hotline.queues]
    missing = [q for q in wanted if q not in known]
    if missing:
        return problem(
            name, f"app_queue has no queue {', '.join(missing)} (has {', '.join(sorted(known)) or 'none'})",
            f"add them to queues.conf ({SNIPPETS_HINT}), then `module reload app_queue.so`",
        )
    return ok(name, f"{', '.join(wanted)} exist in app_queue")


@dataclass(frozen=True)
class ContextPlan:
    """One context as ShowDialPlan listed it: its extensions, and the AGI calls in it."""

    extensions: frozenset[str]
    agi_targets: tuple[str, ...]


def context_plan(show_dialplan: Iterable[Mapping[str, object]]) -> ContextPlan:
    extensions: set[str] = set()
    agi: list[str] = []
    for m in show_dialplan:
        if str(m.get("Event", "")).lower() != "listdialplan":
            continue
        if m.get("Extension"):
            extensions.add(str(m["Extension"]))
        application, data = str(m.get("Application", "")).lower(), str(m.get("AppData", ""))
        if application == "agi":
            agi.append(data)
        elif application == "execif" and "?AGI(" in data:  # [cti-agi] with several nodes
            agi.append(data.split("?AGI(", 1)[1].rstrip(")"))
    return ContextPlan(frozenset(extensions), tuple(agi))


def dialplan_result(settings: Settings, plans: Mapping[str, ContextPlan | None]) -> Result:
    """``plans``: every context the server needs -> what Asterisk has (None: no such context)."""
    name = "dialplan"
    number = settings.hotline.number
    found: list[str] = []
    missing = [c for c, plan in plans.items() if plan is None]
    if missing:
        found.append(f"no context {', '.join(missing)}")
    hotline = plans.get("hotline")
    if hotline is not None:
        if number not in hotline.extensions:
            found.append(f"[hotline] has no extension {number} (hotline.number)")
        # the FastAGI calls are in [cti-agi] (every node in turn), or in [hotline] itself
        through = plans.get("cti-agi")
        calls = hotline.agi_targets + (through.agi_targets if through is not None else ())
        port = f":{settings.agi.port}/"
        if not any(port in target for target in calls):
            targets = ", ".join(calls) or "none"
            found.append(f"[hotline] calls no FastAGI server on port {settings.agi.port} (AGI: {targets})")
    if found:
        return problem(
            name, "; ".join(found),
            f"render the dialplan from these settings: {SNIPPETS_HINT}, then `dialplan reload`",
        )
    return ok(name, f"contexts {', '.join(plans)} found; {number} enters the IVR on {settings.agi.port}")
