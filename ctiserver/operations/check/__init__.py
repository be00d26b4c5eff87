"""``ctiserver check``: what is wrong with the settings and the Asterisk they point at.

Every check gives one :class:`Result`: OK, or PROBLEM with a one-line fix. The checks
over Asterisk's answers are pure functions of those answers (unit-tested); the few
that do I/O (the AMI session, the database, binding the ports) only gather them.
Nothing here changes Asterisk, the database or the files: it only looks.

The parts: :mod:`.results` (a check's answer), :mod:`.settings` (the settings alone),
:mod:`.database`, :mod:`.answers` (the pure checks of Asterisk's answers) and
:mod:`.asterisk` (the AMI session that gathers them), :mod:`.boxes` (each edge box's trunk),
:mod:`.local` (ports, flows).
Here: all of them in order, and the report.
"""

from __future__ import annotations

from collections.abc import Sequence

from ctiserver.operations.check.answers import (
    BEYOND_NEED,
    CHECK_ACTIONS,
    READ_CLASSES,
    REQUIRED_ACTIONS,
    SNIPPETS_HINT,
    SUPPORTED_MAJORS,
    WRITE_CLASSES,
    WRITE_FIX,
    ContextPlan,
    allowed_actions,
    asterisk_major,
    context_plan,
    dialplan_result,
    events_result,
    permissions_result,
    queue_names,
    queues_result,
    version_result,
)
from ctiserver.operations.check.asterisk import asterisk_results
from ctiserver.operations.check.boxes import edge_results, trunk_result
from ctiserver.operations.check.database import database_result
from ctiserver.operations.check.local import flows_result, port_result
from ctiserver.operations.check.results import Result, ok, problem
from ctiserver.operations.check.settings import STRATEGIES, secrets_result, secure_cookies_result, settings_result
from ctiserver.operations.check.webrtc import webrtc_result
from ctiserver.settings import Settings

__all__ = [
    "BEYOND_NEED",
    "CHECK_ACTIONS",
    "READ_CLASSES",
    "REQUIRED_ACTIONS",
    "SNIPPETS_HINT",
    "STRATEGIES",
    "SUPPORTED_MAJORS",
    "WRITE_CLASSES",
    "WRITE_FIX",
    "ContextPlan",
    "Result",
    "allowed_actions",
    "asterisk_major",
    "asterisk_results",
    "context_plan",
    "database_result",
    "dialplan_result",
    "edge_results",
    "events_result",
    "flows_result",
    "ok",
    "permissions_result",
    "port_result",
    "problem",
    "queue_names",
    "queues_result",
    "report",
    "run_checks",
    "secrets_result",
    "secure_cookies_result",
    "settings_result",
    "trunk_result",
    "version_result",
    "webrtc_result",
]


async def run_checks(settings: Settings, source: str | None = None) -> list[Result]:
    from ctiserver.operations.snippets import dialplan_contexts

    results = [
        settings_result(settings, source),
        secrets_result(settings),
        secure_cookies_result(settings),
        await database_result(settings.database.url),
    ]
    results += await asterisk_results(settings, dialplan_contexts(settings))
    results += await edge_results(settings)
    results += [
        port_result("agi", settings.agi.host, settings.agi.port),
        port_result("web", settings.web.host, settings.web.port),
        flows_result(settings),
        webrtc_result(settings),
    ]
    return results


def report(results: Sequence[Result]) -> tuple[list[str], int]:
    """The lines to print and the exit status: 1 if any problem."""
    lines = [line for result in results for line in result.lines()]
    problems = sum(not r.ok for r in results)
    if problems:
        lines.append(f"{problems} problem(s): fix them before going live")
    else:
        lines.append(f"all {len(results)} checks OK")
    return lines, 1 if problems else 0
