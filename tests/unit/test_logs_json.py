"""Logs as JSON lines (``--log-format json``): one object a line, with the call id inside a
call's context, in tasks started from there too, and never outside it."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from ctiserver.logs import JsonLines, call_context, configure


def lines_of(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_a_line_carries_the_call_id_of_its_context_and_its_tasks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines(node="a"))
    log = logging.getLogger("test.logs.json")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        log.info("before any call")
        with call_context("1733475000.42"):
            log.info("呼叫 %s", "来了")
            task = asyncio.get_running_loop().create_task(asyncio.sleep(0, result=None))
            other = asyncio.get_running_loop().create_task(_log_later(log))
        await asyncio.gather(task, other)
        log.info("after the call")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    lines = lines_of(stream)
    assert [line.get("call_id") for line in lines] == [None, "1733475000.42", "1733475000.42", None, None]
    assert lines[1]["message"] == "呼叫 来了" and lines[1]["level"] == "INFO" and lines[1]["node"] == "a"
    assert lines[1]["logger"] == "test.logs.json" and str(lines[1]["time"]).endswith("+00:00")
    assert "RuntimeError: boom" in str(lines[4]["exception"])


async def _log_later(log: logging.Logger) -> None:
    await asyncio.sleep(0)
    log.info("from a task started in the call")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="json"):
        configure(logging.INFO, "xml")


def test_serve_with_json_logs_writes_json_lines_on_stderr() -> None:
    """``ctiserver serve --log-format json``: the option is the command's, and what the
    command line configures writes one JSON object a line (a fresh process: no handler yet)."""
    import subprocess
    import sys

    from ctiserver.cli import _parser

    assert _parser().parse_args(["serve", "--log-format", "json"]).log_format == "json"
    code = ("import logging; from ctiserver import logs; logs.configure(logging.INFO, 'json');"
            "\nwith logs.call_context('1733475000.7'): logging.getLogger('ctiserver.x').warning('来电')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    (line,) = [json.loads(text) for text in done.stderr.splitlines()]
    assert line["message"] == "来电" and line["call_id"] == "1733475000.7" and line["level"] == "WARNING"
