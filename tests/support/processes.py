"""Server processes of a test's own, for tests that kill them (SIGKILL) and start them again:
a ctiserver (``tests.integration.server_process``, with or without waiting for Asterisk) or
the webhooks' deliverers alone (``tests.integration.webhook_process``). Each gets its
settings pickled in a file under the test's ``tmp_path``, logs to ``<name>.log`` beside it,
and is started once it prints "ready"; the ``processes`` fixture stops whatever is left."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ctiserver.settings import Settings
from tests.conftest import REPO

SERVER = "tests.integration.server_process"
WEBHOOKS = "tests.integration.webhook_process"
#: how long a process may take to say "ready" (a loaded 2-CPU machine)
READY_WITHIN = 90.0


class ChildProcess:
    """One process running ``module`` with the pickled settings (and ``args``)."""

    def __init__(self, module: str, settings: Settings, tmp_path: Path, name: str, *args: str) -> None:
        self.module, self.args = module, args
        self.path = tmp_path / f"{name}.settings.pickle"
        self.path.write_bytes(pickle.dumps(settings))
        self.log = tmp_path / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603, ASYNC220  (the test's own module; the wait below is off the loop)
                [sys.executable, "-m", self.module, str(self.path), *self.args],
                cwd=REPO, stdout=subprocess.PIPE, stderr=log, env={**os.environ, "PYTHONPATH": str(REPO)},
            )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), READY_WITHIN)
        assert line.strip() == b"ready", self.log.read_text()

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class Processes:
    """The processes a test started, each named (its files ``<name>.*`` in ``tmp_path``)."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self.started: list[ChildProcess] = []

    async def server(self, settings: Settings, name: str, *, asterisk: bool = True) -> ChildProcess:
        """A ctiserver, ready once its web server listens and (``asterisk``) its AMI link is up."""
        return await self._start(SERVER, settings, name, *(() if asterisk else ("--without-asterisk",)))

    async def webhooks(self, settings: Settings, name: str) -> ChildProcess:
        """The webhooks' deliverers of the settings' endpoints, ready once their cursors exist."""
        return await self._start(WEBHOOKS, settings, name)

    async def _start(self, module: str, settings: Settings, name: str, *args: str) -> ChildProcess:
        process = ChildProcess(module, settings, self._tmp_path, name, *args)
        self.started.append(process)
        await process.start()
        return process

    def stop(self) -> None:
        for process in self.started:
            process.stop()


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    started = Processes(tmp_path)
    yield started
    started.stop()
