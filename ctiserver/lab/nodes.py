"""More nodes beside the lab's own server: ``ctiserver lab --nodes 2`` (issue 19 part 8).

Each further node is a ``ctiserver`` process of its own (``python -m ctiserver.lab.nodes
SETTINGS``), so that a newcomer can ``kill -9`` it and watch the others carry on: the
callers in its IVR go to the default queue, its leases are taken over, its agents'
pages reconnect to another node. Every node shares the lab's PostgreSQL, Asterisk box,
prompts and recordings directory; each has its own web and FastAGI port, its own journal
directory and its own copy of the flows (the database is their source of truth).

The settings reach the process pickled in a file of the lab's own (mode 0600), never
from anything a user typed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import pickle
import signal
import sys
from pathlib import Path

from ctiserver.lab.isolated import free_port
from ctiserver.settings import Settings
from ctiserver.storage.pglink import is_postgres

log = logging.getLogger(__name__)


def node_settings(settings: Settings, count: int) -> list[Settings]:
    """The settings of ``count`` nodes of one lab: the first on the lab's own ports, the
    others on free ones; every node's FastAGI listed in ``nodes.agi`` (the dialplan's
    [cti-agi] tries them in turn)."""
    if count < 1:
        raise ValueError("a lab has one node or more")
    if count > 1 and not is_postgres(settings.database.url):
        raise ValueError("several nodes share one PostgreSQL database: give database.url a postgresql+asyncpg:// URL")
    ports = [(settings.web.port, settings.agi.port)] + [(free_port(), free_port()) for _ in range(count - 1)]
    host = "127.0.0.1" if settings.agi.host in ("", "0.0.0.0") else settings.agi.host  # noqa: S104
    agi = tuple(f"{host}:{agi_port}" for _, agi_port in ports) if count > 1 else settings.nodes.agi
    journal = Path(settings.storage.journal_dir)
    # the lab's nodes share one machine: their journals sit in one shared directory, so a
    # live node writes a killed one's (storage.shared_journal_dir), as nodes on NFS would
    shared = settings.storage.shared_journal_dir or (
        str(journal.with_name(f"{journal.name}-shared")) if count > 1 else "")
    nodes = []
    for index, (web_port, agi_port) in enumerate(ports, start=1):
        name = settings.nodes.name or "node"
        name = f"{name}-{index}" if count > 1 else settings.nodes.name
        nodes.append(settings.replace(
            web={"port": web_port}, agi={"port": agi_port},
            nodes={"name": name, "agi": agi},
            storage={"journal_dir": str(journal if index == 1 else journal.with_name(f"{journal.name}-{name}")),
                     "shared_journal_dir": shared},
        ))
    return nodes


class NodeProcess:
    """One more node, in a process of its own (started, killed, stopped by its owner)."""

    def __init__(self, settings: Settings, directory: Path) -> None:
        self.settings = settings
        self.name = settings.nodes.name
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{self.name}.settings.pickle"
        self.path.write_bytes(pickle.dumps(settings))
        self.path.chmod(0o600)  # it holds the secrets
        self.log = directory / f"{self.name}.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web.port}"

    async def start(self, timeout: float = 90.0) -> None:
        """Start it and wait until it is up (its AMI link ready)."""
        with self.log.open("ab") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ctiserver.lab.nodes", str(self.path),
                stdout=asyncio.subprocess.PIPE, stderr=log_file, env=os.environ.copy(),
            )
        if self.process.stdout is None:
            raise RuntimeError("no pipe from the node")
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        except TimeoutError:
            line = b""
        if line.strip() != b"ready":
            await self.stop()
            raise RuntimeError(f"node {self.name} did not start: see {self.log}")

    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill(self) -> None:
        """``kill -9``: no goodbye to anyone."""
        if self.process is not None and self.running():
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or not self.running():
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def settings_of(path: Path) -> Settings:
    settings = pickle.loads(path.read_bytes())  # noqa: S301  (the lab's own file, mode 0600)
    if not dataclasses.is_dataclass(settings) or not isinstance(settings, Settings):
        raise TypeError(f"{path} holds no settings")
    return settings


async def _serve(path: Path) -> None:
    from ctiserver.server import CtiServer

    server = CtiServer(settings_of(path))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await server.start()
    try:
        await server.ami.wait_ready(timeout=30)
        print("ready", flush=True)
        await stopping.wait()
    finally:
        with contextlib.suppress(Exception):
            await server.stop()


if __name__ == "__main__":
    from ctiserver import logs

    logs.configure(logging.INFO, os.environ.get("CTISERVER_LOG_FORMAT", "text"))
    asyncio.run(_serve(Path(sys.argv[1])))
