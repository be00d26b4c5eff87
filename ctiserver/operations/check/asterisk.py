"""The AMI session of the check: reach AMI, log in, then ask what :mod:`.answers` checks.

It only looks: it sends nothing that changes Asterisk.
"""

from __future__ import annotations

from collections.abc import Sequence

from ctiserver.operations.check.answers import (
    WRITE_FIX,
    ContextPlan,
    allowed_actions,
    context_plan,
    dialplan_result,
    events_result,
    permissions_result,
    queue_names,
    queues_result,
    version_result,
)
from ctiserver.operations.check.results import Result, ok, problem
from ctiserver.settings import Settings


async def asterisk_results(settings: Settings, contexts: Sequence[str]) -> list[Result]:
    """Reach AMI, log in, then look at permissions, version, queues and dialplan."""
    from ctiserver.operations.amiprobe import AmiProbe
    from ctiserver.telephony.ami.actions import AmiActionFailed, AmiError

    s = settings.ami
    where = f"{s.host}:{s.port}"
    probe = AmiProbe(s, timeout=min(s.action_timeout, 5.0))
    try:
        try:
            greeting = await probe.connect()
        except (OSError, TimeoutError, AmiError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or "timed out"
            return [problem(
                "AMI", f"cannot reach the manager interface at {where}: {reason} (so permissions, "
                "version, queues and dialplan were not checked)",
                "is Asterisk running, with manager.conf [general] enabled = yes and this port and bindaddr?",
            )]
        results = [ok("AMI", f"{where} answers (Asterisk Call Manager/{greeting})")]
        try:
            await probe.login(events="system")
        except AmiActionFailed as exc:
            results.append(problem(
                "AMI login", f"Asterisk refused user {s.username!r}: {exc} (so permissions, version, "
                "queues and dialplan were not checked)",
                f"[ami] username and secret must match the [{s.username}] section of manager.conf, "
                "whose permit must let this machine in; then `manager reload`",
            ))
            return results
        except AmiError as exc:
            results.append(problem("AMI login", f"no answer to the login: {exc}", "check Asterisk's log"))
            return results
        results.append(ok("AMI login", f"accepted for user {s.username!r}"))
        results.append(events_result(await probe.wait_event("FullyBooted", 3.0) is not None))
        allowed = allowed_actions(await probe.ask({"Action": "ListCommands"}))
        results.append(permissions_result(allowed, announcing=settings.waits.announce))
        try:
            results.append(version_result(await probe.ask({"Action": "CoreSettings"})))
        except AmiActionFailed as exc:
            results.append(problem("Asterisk version", f"CoreSettings refused: {exc}", WRITE_FIX))
        try:
            status = await probe.ask_list({"Action": "QueueStatus"})
            results.append(queues_result(settings, queue_names(status)))
        except AmiActionFailed as exc:
            results.append(problem("queues", f"QueueStatus refused: {exc}", "load app_queue.so"))
        plans: dict[str, ContextPlan | None] = {}
        for context in contexts:
            try:
                plans[context] = context_plan(
                    await probe.ask_list({"Action": "ShowDialPlan", "Context": context})
                )
            except AmiActionFailed as exc:
                if "permission" in str(exc).lower():
                    results.append(problem("dialplan", f"ShowDialPlan refused: {exc}", WRITE_FIX))
                    return results
                plans[context] = None
        results.append(dialplan_result(settings, plans))
        return results
    except AmiError as exc:
        results.append(problem("AMI", f"the session broke off: {exc}", "check Asterisk's log"))
        return results
    finally:
        await probe.close()
