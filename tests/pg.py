"""A throw-away PostgreSQL server for tests, started from the installed binaries.

Use the ``postgres_server`` fixture (import it into a test module) and
``await server.create_database("name")`` for a fresh database URL per test.

Missing binaries skip the tests, except with ``CI=true``: there they must run,
so they fail instead. ``PG_BINDIR`` overrides where the binaries are looked for.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from ctiserver.lab.isolated import free_port
from tests.conftest import require

PG_USER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    port: int
    socket_dir: Path
    data_dir: Path
    user: str = PG_USER
    #: what ``stop`` and ``start`` run (outage tests)
    bindir: Path | None = None
    options: str = ""
    log: Path | None = None

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: connections are cut, new ones refused until ``start``."""
        assert self.bindir is not None
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
             "pg_ctl stop")

    def start(self) -> None:
        """Start it again on the same port and data after ``stop``."""
        assert self.bindir is not None and self.log is not None
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log),
              "-o", self.options, "-w", "-t", "60", "start"], "pg_ctl start")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str) -> str:
        """A new, empty UTF-8 database; its SQLAlchemy URL."""
        import asyncpg

        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"unsafe database name {name!r}")
        conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user=self.user)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {name}")
            await conn.execute(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")
        finally:
            await conn.close()
        return self.url(name)


def find_bindir() -> Path | None:
    """The directory with initdb and pg_ctl: $PG_BINDIR, $PATH, or Debian's newest version."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(debian)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def _unavailable(reason: str) -> NoReturn:
    require(False, f"PostgreSQL tests cannot run: {reason}")
    raise AssertionError("unreachable: require() skips or fails")


def _as_postgres_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; drop to the postgres account when we are root."""
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", PG_USER, "--", *argv]
    return ["su", PG_USER, "-s", "/bin/sh", "-c", " ".join(map(_quote, argv))]


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(
        _as_postgres_user(argv), capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


@contextlib.contextmanager
def running_postgres(bindir: Path) -> Iterator[PostgresServer]:
    """initdb into a temp dir, start on a free 127.0.0.1 port, stop and delete afterwards."""
    # not pytest's tmp_path: that lives under a 0700 root directory postgres cannot enter
    base = Path(tempfile.mkdtemp(prefix="ctiserver-pg-"))
    data_dir, socket_dir = base / "data", base / "sock"
    socket_dir.mkdir()
    if os.geteuid() == 0:
        for path in (base, socket_dir):
            shutil.chown(path, PG_USER)
    port = free_port()
    log = base / "postgres.log"
    try:
        _run(
            [str(bindir / "initdb"), "-D", str(data_dir), "-U", PG_USER, "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            "initdb",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _run(
            [str(bindir / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-o", options,
             "-w", "-t", "60", "start"],
            "pg_ctl start",
        )
        try:
            yield PostgresServer(port=port, socket_dir=socket_dir, data_dir=data_dir,
                                 bindir=bindir, options=options, log=log)
        finally:
            _run(
                [str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"],
                "pg_ctl stop",
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL for the whole test session; skipped (failed in CI) if not installed."""
    with running_postgres(postgres_bindir()) as server:
        yield server


@pytest.fixture
def own_postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL of the test's own, which it may stop and start (``stop``, ``start``)."""
    with running_postgres(postgres_bindir()) as server:
        yield server


def postgres_bindir() -> Path:
    """The binaries, if PostgreSQL can run here; else skip (fail in CI)."""
    bindir = find_bindir()
    if bindir is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BINDIR")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            _unavailable(f"running as root and there is no {PG_USER!r} account to run PostgreSQL")
        if not (shutil.which("runuser") or shutil.which("su")):
            _unavailable("running as root and neither runuser nor su is available")
    return bindir
