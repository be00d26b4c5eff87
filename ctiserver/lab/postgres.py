"""A throw-away PostgreSQL for ``ctiserver lab --nodes 2`` when no database URL names one:
made with the installed server binaries (Debian's ``postgresql`` package) in a temporary
directory, on a free 127.0.0.1 port, trusting local connections; stopped and deleted with
the lab. As root it runs as the ``postgres`` account (PostgreSQL refuses root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from ctiserver.lab.isolated import free_port

USER = "postgres"


class NoPostgres(RuntimeError):
    """No PostgreSQL server binaries here (install Debian's postgresql, or give a URL)."""


def find_bindir() -> Path:
    candidates = [Path(os.environ["PG_BINDIR"])] if os.environ.get("PG_BINDIR") else []
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).parent)
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise NoPostgres("no PostgreSQL server binaries (initdb, pg_ctl): `apt-get install postgresql`, "
                     "or set database.url to a postgresql+asyncpg:// URL")


def _run(argv: list[str]) -> None:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", USER, "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    if result.returncode != 0:
        raise NoPostgres(f"{argv[-1] if argv else ''}: {result.stdout}{result.stderr}")


@contextlib.asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[str]:
    """The SQLAlchemy URL of a fresh, empty database on a PostgreSQL of its own."""
    import asyncio

    bindir = find_bindir()
    base = Path(tempfile.mkdtemp(prefix="ctiserver-lab-pg-"))
    data, sockets, port = base / "data", base / "sock", free_port()
    sockets.mkdir()
    if os.geteuid() == 0:
        for path in (base, sockets):
            shutil.chown(path, USER)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets}"
    try:
        await asyncio.to_thread(_run, [str(bindir / "initdb"), "-D", str(data), "-U", USER, "-A", "trust",
                                       "-E", "UTF8", "--locale=C"])
        await asyncio.to_thread(_run, [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "postgres.log"),
                                       "-o", options, "-w", "-t", "60", "start"])
        try:
            yield f"postgresql+asyncpg://{USER}@127.0.0.1:{port}/postgres"
        finally:
            await asyncio.to_thread(_run, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    finally:
        shutil.rmtree(base, ignore_errors=True)
