"""The audit log: what the API records (and keeps out), who may read it, and that it survives
the database being away."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import Field
from sqlalchemy import select

from ctiserver.audit.model import AuditEvent, bounded
from ctiserver.audit.store import AuditFilter, AuditRepository
from ctiserver.audit.trail import AuditTrail
from ctiserver.lab.demo import seed_demo
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.storage.writer import BackgroundWriter
from ctiserver.users.store import UserRepository
from ctiserver.users.tables import User
from ctiserver.vocabulary import USER_ROLES
from ctiserver.web.auditing import MAX_TEXT, action_of, body_fields
from ctiserver.web.contract import route
from ctiserver.web.schemas import Acknowledged, RequestBody, Secret
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)
from tests.support.desk import PASSWORD, FakeDesk, agent_dict, user_ids
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.api_session import ApiSession
from tests.unit.test_cli import ctiserver
from tests.unit.test_flows_api import VALID_EDIT, hotline_registry
from tests.unit.test_writer import eventually, refused, settings
from tests.unit.web_app import build_app

T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)


class SecretBody(RequestBody):
    note: str
    password: Secret
    new_password: Secret | None = None
    api_token: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)


async def secret_route(request: web.Request) -> dict[str, Any]:
    return {"ok": True}


async def play(request: web.Request) -> dict[str, Any]:
    return {"ok": True}


@dataclasses.dataclass
class AuditEnv(ApiSession):
    password: ClassVar[str] = PASSWORD
    db: Database
    events: list[AuditEvent]
    user_ids: dict[str, int]

    def one(self) -> AuditEvent:
        assert len(self.events) == 1, self.events
        return self.events.pop()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[AuditEnv]:
    """The demo data, the desk (a fake), the flows (real), and the trail's events in a list."""
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    await seed_demo(db, password=PASSWORD, hasher=FAST_HASHER)
    ids = await user_ids(db)
    desk = FakeDesk({ids["agent1001"]: agent_dict("1001", "王小明")})
    registry = await hotline_registry(tmp_path, db)
    events: list[AuditEvent] = []
    app = build_app(
        Settings().replace(web={"session_secret": "audit test secret"}), db=db,
        calls=FakeTracker(), ami=FakeAmi(), users=UserRepository(db, FAST_HASHER), flows=registry,
        desk=desk, audit=AuditTrail(events.append),
    )
    route(app, "POST", "/api/test/secret", secret_route, summary="test", roles=USER_ROLES,
          body=SecretBody, answer=Acknowledged)
    route(app, "GET", r"/api/test/play/{id:\d+}", play, summary="test", roles=USER_ROLES,
          answer=Acknowledged, audited=True, target="recording")
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield AuditEnv(client, db, events, ids)
    finally:
        await client.close()
        await db.close()


def who_what(event: AuditEvent) -> tuple[Any, ...]:
    return (event.user_id, event.username, event.action, event.target_kind, event.target_id,
            event.status)


# ---- (a) what the API records


async def test_opening_a_ticket_is_recorded_with_the_new_ticket(env: AuditEnv) -> None:
    await env.login("agent1001")
    assert env.events == []  # logging in is not under /api/
    status, body = await env.call("POST", "/api/tickets", {"type": "inquiry", "summary": "咨询保修"})
    assert status == 201
    event = env.one()
    assert who_what(event) == (env.user_ids["agent1001"], "agent1001", "POST /api/tickets", "ticket",
                               str(body["ticket"]["id"]), 201)
    assert event.details == {"body": {"type": "inquiry", "summary": "咨询保修", "customer_id": None,
                                      "product_id": None, "call_id": None, "urgency": "normal", "fields": {}}}
    assert event.client == "127.0.0.1"
    assert event.key and abs(event.at - dt.datetime.now(dt.UTC).timestamp()) < 60


async def test_a_refused_ticket_is_recorded_with_its_status(env: AuditEnv) -> None:
    await env.login("agent1001")
    status, _ = await env.call("POST", "/api/tickets", {"type": "inquiry", "summary": "x",
                                                        "customer_id": 999999})
    assert status == 422
    assert who_what(env.one())[2:] == ("POST /api/tickets", "ticket", None, 422)


async def test_creating_a_customer_is_recorded(env: AuditEnv) -> None:
    await env.login("supervisor")
    status, body = await env.call("POST", "/api/customers", {"name": "新客户", "phone": "13700000000"})
    assert status == 201
    event = env.one()
    assert who_what(event) == (env.user_ids["supervisor"], "supervisor", "POST /api/customers",
                               "customer", str(body["customer"]["id"]), 201)
    assert event.details is not None
    assert event.details["body"]["name"] == "新客户" and event.details["body"]["phone"] == "13700000000"


async def test_an_agents_pause_is_recorded_on_the_agent(env: AuditEnv) -> None:
    await env.login("agent1001")
    uid = env.user_ids["agent1001"]
    assert (await env.call("POST", "/api/agent/pause", {"reason": "lunch"}))[0] == 409  # logged out
    assert who_what(env.one()) == (uid, "agent1001", "POST /api/agent/pause", "agent", "1001", 409)
    assert (await env.call("POST", "/api/agent/login", {"queues": ["support"]}))[0] == 200
    env.events.clear()
    assert (await env.call("POST", "/api/agent/pause", {"reason": "lunch"}))[0] == 200
    event = env.one()
    assert who_what(event) == (uid, "agent1001", "POST /api/agent/pause", "agent", "1001", 200)
    assert event.details == {"body": {"reason": "lunch"}}


async def test_an_agents_state_changed_by_a_supervisor_is_recorded(env: AuditEnv) -> None:
    await env.login("agent1001")
    assert (await env.call("POST", "/api/agent/login", {"queues": ["support"]}))[0] == 200
    env.events.clear()
    await env.login("supervisor")
    assert (await env.call("POST", "/api/agents/1001/pause", {"reason": "meeting"}))[0] == 200
    event = env.one()
    assert who_what(event) == (env.user_ids["supervisor"], "supervisor", "POST /api/agents/{extension}/pause",
                               "agent", "1001", 200)
    assert event.details is not None and event.details["body"] == {"reason": "meeting"}


async def test_a_flow_publish_and_a_rollback_are_recorded(env: AuditEnv) -> None:
    await env.login("admin")
    uid = env.user_ids["admin"]
    assert (await env.call("POST", "/api/flows/publish", {"source": VALID_EDIT, "note": "新问候"}))[0] == 200
    event = env.one()
    assert who_what(event) == (uid, "admin", "POST /api/flows/publish", "flow", "hotline", 200)
    assert event.details is not None
    body = event.details["body"]
    assert body["note"] == "新问候"
    assert body["source"].startswith(VALID_EDIT[:MAX_TEXT]) and f"({len(VALID_EDIT)} characters)" in body["source"]

    assert (await env.call("POST", "/api/flows/hotline/rollback", {"number": 1}))[0] == 200
    event = env.one()
    assert who_what(event) == (uid, "admin", "POST /api/flows/{name}/rollback", "flow", "hotline", 200)
    assert event.details == {"params": {"name": "hotline"}, "body": {"number": 1}}


async def test_a_refusal_for_the_role_is_recorded(env: AuditEnv) -> None:
    await env.login("agent1001")
    assert await env.call("POST", "/api/flows/publish", {"source": VALID_EDIT}) == (
        403, {"error": "admins only"})
    event = env.one()
    assert who_what(event) == (env.user_ids["agent1001"], "agent1001", "POST /api/flows/publish",
                               "flow", None, 403)
    assert event.details is None  # the body of a refused request is not even read


async def test_reads_are_not_recorded_unless_the_route_asks(env: AuditEnv) -> None:
    await env.login("admin")
    for path in ("/api/customers?phone=13800138000", "/api/flows", "/api/audit", "/api/me"):
        assert (await env.call("GET", path))[0] == 200
    assert env.events == []
    assert await env.call("GET", "/api/test/play/42") == (200, {"ok": True})
    assert who_what(env.one())[2:] == ("GET /api/test/play/{id}", "recording", "42", 200)


def test_the_action_is_the_declared_path_without_its_patterns() -> None:
    assert action_of("post", r"/api/kb/{id:\d{1,9}}/read") == "POST /api/kb/{id}/read"
    assert action_of("GET", r"/api/flows/{name}/versions/{number:\d{1,9}}") == (
        "GET /api/flows/{name}/versions/{number}")


# ---- (b) secrets stay out


async def test_secret_fields_are_not_stored(env: AuditEnv) -> None:
    await env.login("agent1001")
    sent = {"note": "改密码", "password": "hunter2-口令", "new_password": "n3w", "api_token": "tok",
            "extra": {"db_password": "x", "city": "深圳"}}
    assert await env.call("POST", "/api/test/secret", sent) == (200, {"ok": True})
    event = env.one()
    assert event.details == {"body": {"note": "改密码", "extra": {"city": "深圳"}}}
    for secret in ("hunter2", "n3w", "tok", '"x"'):
        assert secret not in repr(event.to_dict())


def test_body_fields_cut_long_texts_and_lists() -> None:
    body = SecretBody(note="长" * 1000, password="p", extra={"items": list(range(500))})
    fields = body_fields(body)
    assert fields["note"] == "长" * MAX_TEXT + "… (1000 characters)"
    assert len(fields["extra"]["items"]) == 50 and "password" not in fields


def test_details_are_bounded_in_size() -> None:
    assert bounded({"a": 1}) == {"a": 1}
    assert bounded({}) is None
    huge = {"body": {"text": "x" * 10_000}, "params": {"id": "1"}}
    cut = bounded(huge)
    assert cut is not None and cut["truncated"] is True and cut["keys"] == ["body", "params"]
    assert cut["size"] > 10_000
    event = AuditEvent.new(0.0, "x" * 500, user_id=None, username="u" * 100, details=huge)
    assert len(event.action) == 200 and len(event.username) == 64 and event.details is not None
    assert event.details["truncated"] is True


def test_the_trail_never_raises_into_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: AuditEvent) -> None:
        raise OSError("disk gone")

    with caplog.at_level(logging.ERROR):
        AuditTrail(broken).record("ticket.open", user_id=1, username="agent1001", target_kind="ticket")
    assert "audit event lost: ticket.open by agent1001" in caplog.text


# ---- (c) reading the log


async def seed_events(db: Database) -> None:
    def event(minutes: int, username: str, action: str, kind: str | None = None, target: str | None = None
              ) -> AuditEvent:
        at = (T0 + dt.timedelta(minutes=minutes)).timestamp()
        return AuditEvent.new(at, action, user_id=None, username=username, target_kind=kind,
                              target_id=target, status=200, details={"n": minutes})

    await AuditRepository(db).append([
        event(0, "cli", "user.add", "user", "7"),
        event(1, "agent1001", "POST /api/tickets", "ticket", "1"),
        event(2, "agent1001", "POST /api/agent/pause", "agent", "1001"),
        event(3, "admin", "POST /api/flows/publish", "flow", "hotline"),
        event(4, "admin", "POST /api/flows/{name}/rollback", "flow", "hotline"),
    ])


@pytest.mark.parametrize("username", ["agent1001", "supervisor"])
async def test_the_log_is_for_admins_only(env: AuditEnv, username: str) -> None:
    await env.login(username)
    assert await env.call("GET", "/api/audit") == (403, {"error": "admins only"})


async def test_the_log_is_read_newest_first_with_filters(env: AuditEnv) -> None:
    await seed_events(env.db)
    await env.login("admin")

    async def minutes(query: str = "") -> list[int]:
        status, body = await env.call("GET", f"/api/audit{query}")
        assert status == 200, body
        return [event["details"]["n"] for event in body["events"]]

    assert await minutes() == [4, 3, 2, 1, 0]
    assert await minutes("?limit=2") == [4, 3]
    assert await minutes("?user=agent1001") == [2, 1]
    assert await minutes("?action=user.add") == [0]
    assert await minutes("?action=POST%20/api/flows*") == [4, 3]
    assert await minutes("?target_kind=flow&target_id=hotline") == [4, 3]
    assert await minutes("?target_kind=agent") == [2]
    assert await minutes("?from=2026-11-22T08:01:00Z&to=2026-11-22T08:03:00Z") == [2, 1]
    assert await minutes("?from=2026-11-22T16:02:00%2B08:00") == [4, 3, 2]
    assert await minutes("?user=nobody") == []

    _, body = await env.call("GET", "/api/audit?user=cli")
    (event,) = body["events"]
    assert event == {"id": event["id"], "at": "2026-11-22T08:00:00.000+00:00", "user_id": None,
                     "username": "cli", "action": "user.add", "target_kind": "user",
                     "target_id": "7", "status": 200, "details": {"n": 0}, "client": None}
    assert (await env.call("GET", "/api/audit?limit=0"))[0] == 400
    assert (await env.call("GET", "/api/audit?from=yesterday"))[0] == 400


async def check_store(db: Database) -> None:
    """Stored once by key; filters, newest first, times back in UTC, Chinese text as is."""
    event = AuditEvent.new(T0.timestamp(), "user.add", user_id=None, username="cli",
                           details={"display_name": "王主管"})
    log = AuditRepository(db)
    await log.append([event])
    await log.append([event])
    (row,) = await log.find(AuditFilter())
    assert (row.key, row.at, row.details) == (event.key, T0, {"display_name": "王主管"})
    await seed_events(db)
    found = await log.find(AuditFilter(action="POST /api/flows*", start=T0, end=T0 + dt.timedelta(hours=1)))
    assert [r.details for r in found] == [{"n": 4}, {"n": 3}]
    assert await log.find(AuditFilter(action="POST /api/flows%")) == []  # % is no wildcard


async def test_the_store_on_sqlite(db: Database) -> None:
    await check_store(db)


async def test_the_store_on_postgres(postgres_server: PostgresServer) -> None:  # noqa: F811
    db = Database(await postgres_server.create_database("ctiserver_audit"))
    try:
        await upgrade_schema(db.url)
        await check_store(db)
    finally:
        await db.close()


# ---- (d) the database away


async def test_events_survive_the_database_being_away(db: Database, tmp_path: Path) -> None:
    log = AuditRepository(db)
    down = True

    async def save(events: list[AuditEvent]) -> None:
        if down:
            raise refused()
        await log.append(events)

    def audit_writer() -> BackgroundWriter[AuditEvent]:
        return BackgroundWriter(save, "audit events", name="audit", encode=AuditEvent.to_dict,
                                decode=AuditEvent.from_dict, settings=settings(tmp_path, queue_size=2))

    writer = audit_writer()
    await writer.start()
    trail = AuditTrail(writer.put, clock=lambda: T0.timestamp())
    for n in range(5):
        trail.record("POST /api/tickets", user_id=n, username=f"agent100{n}", target_kind="ticket",
                     target_id=str(n), status=201, details={"body": {"summary": "咨询"}}, client="10.0.0.9")
    await eventually(lambda: not writer.status().database_reachable)
    await writer.stop()  # the database is still away: all of it goes to the journal
    assert writer.journal_path.name == "audit.jsonl" and writer.journal_path.exists()
    assert await log.find(AuditFilter()) == []

    down = False
    again = audit_writer()
    await again.start()  # replays the journal first
    await again.stop()
    rows = await log.find(AuditFilter())
    assert sorted(int(row.target_id or "") for row in rows) == [0, 1, 2, 3, 4]
    assert {(row.action, row.status, row.client) for row in rows} == {("POST /api/tickets", 201, "10.0.0.9")}
    assert rows[0].details == {"body": {"summary": "咨询"}}
    assert not again.journal_path.exists()


# ---- the command line


async def test_user_add_on_the_command_line_is_recorded(tmp_path: Path) -> None:
    done = ctiserver("user", "add", "王主管", "--role", "supervisor", tmp_path=tmp_path, stdin="s3cret-口令\n")
    assert done.returncode == 0, done.stderr
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    try:
        (row,) = await AuditRepository(db).find(AuditFilter())
        user_id = await db_user_id(db, "王主管")
    finally:
        await db.close()
    assert (row.user_id, row.username, row.action, row.target_kind, row.target_id) == (
        None, "cli", "user.add", "user", str(user_id))
    assert row.details is not None and row.details["role"] == "supervisor"
    assert "s3cret" not in repr(row.details)


async def db_user_id(db: Database, username: str) -> int:
    async with db.session() as session:
        found = await session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found
