"""CPU seconds each test costs (its process and the children it reaped: servers, Asterisk,
Chromium), printed at the end for the 25 costliest: ``pytest -p tests.support.cputime``.

Wall-clock durations (``--durations``) measure waiting as much as work, and on a loaded
machine mostly the load; the CPU a test burns is what makes the suite slow once tests run
side by side (``-n``), so this is the figure to bring down.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

#: the CPU clock when each running test's setup began
_STARTED: dict[str, float] = {}


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _STARTED[item.nodeid] = _cpu()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    if call.when == "teardown" and item.nodeid in _STARTED:
        report = outcome.get_result()
        report.user_properties.append(("cpu_seconds", _cpu() - _STARTED.pop(item.nodeid)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    costs: dict[str, float] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == "cpu_seconds":
                    costs[report.nodeid] = value
    if not costs:
        return
    total = sum(costs.values())
    terminalreporter.section(f"CPU seconds: {total:.0f} in all; the 25 costliest tests")
    for nodeid, seconds in sorted(costs.items(), key=lambda kv: -kv[1])[:25]:
        terminalreporter.write_line(f"{seconds:8.1f}s  {nodeid}")
    modules: dict[str, float] = {}
    for nodeid, seconds in costs.items():
        module = nodeid.split("::")[0]
        modules[module] = modules.get(module, 0.0) + seconds
    terminalreporter.section("CPU seconds by module: the 25 costliest")
    for module, seconds in sorted(modules.items(), key=lambda kv: -kv[1])[:25]:
        terminalreporter.write_line(f"{seconds:8.1f}s  {module}")
