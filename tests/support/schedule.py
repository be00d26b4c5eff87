"""The test modules handed out longest first (``pytest -p tests.support.schedule``).

scripts/test.sh runs the suite with ``--dist loadscope --no-loadscope-reorder``: each worker
takes a whole module at a time, so a module's shared lab, server or Chromium is made once,
on one worker, and the modules go out in collection order. This plugin makes that order the
longest module first (its wall-clock seconds in the last recorded run,
tests/support/module_seconds.json): the greedy "longest job first" schedule, which ends the
run close to the ideal (all seconds over the workers) instead of leaving one worker alone
with a long module at the end. A module not recorded yet is placed as a typical one of its
kind. ``--record-module-seconds`` writes the file again from the run it ends.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

RECORDED = Path(__file__).with_name("module_seconds.json")
#: a module not recorded yet: an integration module (a lab, calls) or any other
UNKNOWN_INTEGRATION, UNKNOWN_OTHER = 40.0, 3.0

_measured: dict[str, float] = defaultdict(float)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-module-seconds", action="store_true",
        help=f"write each module's wall-clock seconds in this run to {RECORDED.name} (tests.support.schedule)",
    )


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def estimate(module: str, recorded: dict[str, float]) -> float:
    if module in recorded:
        return recorded[module]
    return UNKNOWN_INTEGRATION if module.startswith("tests/integration/") else UNKNOWN_OTHER


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    recorded = json.loads(RECORDED.read_text(encoding="utf-8")) if RECORDED.exists() else {}
    first_seen = {module: i for i, module in reversed(list(enumerate(_module(item.nodeid) for item in items)))}
    # stable: within a module, the tests keep their order (a module's tests may build on one lab)
    items.sort(key=lambda item: (-estimate(_module(item.nodeid), recorded), first_seen[_module(item.nodeid)]))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _measured[_module(report.nodeid)] += report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not session.config.getoption("record_module_seconds") or hasattr(session.config, "workerinput"):
        return  # (on pytest-xdist, the controller writes it: it sees every worker's reports)
    recorded = {module: round(seconds, 1) for module, seconds in sorted(_measured.items())}
    RECORDED.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
