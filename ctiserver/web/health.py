"""``GET /healthz``: is the server connected to Asterisk and to its database."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import text

from ctiserver.storage.database import Database
from ctiserver.storage.writer import WriterStatus
from ctiserver.web.auth import session_user
from ctiserver.web.keys import AMI_KEY, DB_KEY, PARTS_KEY

log = logging.getLogger(__name__)

DB_CHECK_TIMEOUT = 2.0


class WriterHealth(Protocol):
    """A background writer (``ctiserver.storage.writer``) as the health check sees it."""

    name: str

    def status(self) -> WriterStatus: ...


class HealthCheck(Protocol):
    """A feature's own look at its health (the webhooks' endpoints): ok, and what to show."""

    name: str

    async def check(self) -> tuple[bool, dict[str, Any]]: ...


#: the background writers, by registration order; set by the features that have one
WRITERS_KEY: web.AppKey[list[WriterHealth]] = web.AppKey("writers")
#: the features' own checks, each shown under its name
CHECKS_KEY: web.AppKey[list[HealthCheck]] = web.AppKey("health_checks")


def watch_check(app: web.Application, check: HealthCheck) -> None:
    """Show ``check`` under ``checks`` and its name in ``/healthz``; degraded while it is not ok."""
    app.setdefault(CHECKS_KEY, []).append(check)


async def _checked(check: HealthCheck) -> tuple[bool, dict[str, Any]]:
    try:
        async with asyncio.timeout(DB_CHECK_TIMEOUT):
            return await check.check()
    except Exception as exc:  # noqa: BLE001  (any failure is what the health check reports)
        log.warning("health check %s failed: %s", check.name, exc)
        return False, {"error": f"{type(exc).__name__}: {exc}"}


def watch_writer(app: web.Application, writer: WriterHealth) -> None:
    """Report ``writer`` under ``writers`` in ``/healthz`` (at registration, before start)."""
    app.setdefault(WRITERS_KEY, []).append(writer)


async def _database_ok(db: Database) -> bool:
    try:
        async with asyncio.timeout(DB_CHECK_TIMEOUT):
            async with db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001  (any failure is what the health check reports)
        log.warning("database health check failed: %s", exc)
        return False
    return True


async def healthz(request: web.Request) -> dict[str, Any]:
    """Always 200: it reports; the monitoring decides what "degraded" means. Anyone gets the
    status alone; an admin's session gets what is behind it (internal parts, their errors).

    Degraded when Asterisk or the database is unreachable, when a long-lived part
    (flow watcher, agent clock, wallboard...) failed and is being restarted, or when a
    background writer's last write found the database away, or a feature's own check
    (``watch_check``: a stuck webhook endpoint) fails. ``writers`` tells, for each
    writer, what is queued, journaled and dead-lettered (see README.md).
    """
    ami_connected = bool(request.app[AMI_KEY].connected)
    database_ok = await _database_ok(request.app[DB_KEY])
    source = request.app.get(PARTS_KEY)
    parts = source.parts() if source is not None else {}
    healthy = ami_connected and database_ok and all(p["state"] == "ok" for p in parts.values())
    body: dict[str, Any] = {
        "ami": {"connected": ami_connected},
        "database": {"ok": database_ok},
        "parts": parts,
    }
    statuses = [writer.status() for writer in request.app.get(WRITERS_KEY, [])]
    # a writer that cannot reach the database keeps its records in memory and the journal
    healthy = healthy and all(s.database_reachable for s in statuses)
    body["writers"] = {s.name: s.to_dict() for s in statuses}
    body["checks"] = {}
    for check in request.app.get(CHECKS_KEY, []):
        ok, shown = await _checked(check)
        healthy = healthy and ok
        body["checks"][check.name] = {"ok": ok, **shown}
    status = "ok" if healthy else "degraded"
    try:
        user = await session_user(request)
    except Exception as exc:  # noqa: BLE001  (the database is away: no one is known)
        log.warning("health check: cannot read the session: %s", exc)
        user = None
    if user is None or user.role != "admin":
        return {"status": status}
    return {"status": status, **body}
