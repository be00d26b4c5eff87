"""Every route of the router against every role, and against no session: who may call
what is spelled out here, route by route, and the real application is held to it.

A route added without a line in MATRIX fails this test (so does a route whose declared
roles differ from its line): adding a route means deciding, here, who may call it.

With objects: tests/unit/test_visibility.py holds every route of a customer, ticket, call,
recording, visit or callback to its record's rule, user by user, with a record each may and
one they may not see (a route of those records missing there fails it).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
from aiohttp.test_utils import TestServer

from ctiserver.server import CtiServer
from ctiserver.settings import Settings
from ctiserver.storage.database import upgrade_schema
from ctiserver.users.store import UserRepository
from ctiserver.web.contract import operations
from tests.unit.test_api_contract import router_routes

EVERYONE = frozenset({"agent", "supervisor", "admin", "staff"})
#: every role but staff
DESK = frozenset({"agent", "supervisor", "admin"})
SUPERVISORS = frozenset({"supervisor", "admin"})
ADMINS = frozenset({"admin"})
PUBLIC = None
PASSWORD = "a password of the matrix"

#: (method, path) -> the roles that may call it (PUBLIC: no session needed)
MATRIX: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    # no session: who may read it is web.metrics_access (loopback by default: this test's
    # client is on 127.0.0.1; the other ways are tested in tests/unit/test_nodes_pg.py)
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/ws"): EVERYONE,
    ("GET", "/api/me"): EVERYONE,
    ("GET", "/api/meta"): EVERYONE,
    ("GET", "/api/openapi.json"): EVERYONE,
    ("GET", "/api/calls"): SUPERVISORS,
    ("GET", "/api/users"): ADMINS,
    ("POST", "/api/users"): ADMINS,
    ("PATCH", "/api/users/{id}"): ADMINS,
    ("GET", "/api/agent"): DESK,
    ("POST", "/api/agent/login"): DESK,
    ("POST", "/api/agent/logout"): DESK,
    ("POST", "/api/agent/pause"): DESK,
    ("POST", "/api/agent/ready"): DESK,
    ("POST", "/api/agent/transfer"): DESK,
    ("POST", "/api/agent/transfer/cancel"): DESK,
    ("POST", "/api/agent/hangup"): DESK,
    ("GET", "/api/phone"): DESK,
    ("POST", "/api/agents/{extension}/pause"): SUPERVISORS,
    ("POST", "/api/agents/{extension}/ready"): SUPERVISORS,
    ("POST", "/api/agents/{extension}/logout"): SUPERVISORS,
    ("GET", "/api/flows"): ADMINS,
    ("POST", "/api/flows/check"): ADMINS,
    ("POST", "/api/flows/publish"): ADMINS,
    ("GET", "/api/flows/{name}"): ADMINS,
    ("GET", "/api/flows/{name}/versions/{number}"): ADMINS,
    ("POST", "/api/flows/{name}/rollback"): ADMINS,
    ("GET", "/api/flows/{name}/graph.svg"): ADMINS,
    ("GET", "/api/flow-schema"): ADMINS,
    ("GET", "/api/wallboard"): SUPERVISORS,
    ("GET", "/api/nodes"): SUPERVISORS,
    ("GET", "/api/reports/daily"): SUPERVISORS,
    ("GET", "/api/reports/queues"): SUPERVISORS,
    ("GET", "/api/reports/agents"): SUPERVISORS,
    ("GET", "/api/reports/agent-choices"): SUPERVISORS,
    ("GET", "/api/reports/hours"): SUPERVISORS,
    ("GET", "/api/reports/days"): SUPERVISORS,
    **{("GET", f"/api/reports/{name}"): SUPERVISORS for name in (
        "tickets", "complaint_rates", "fault_rates", "complaints_against", "turnaround", "sla", "first_contact",
        "satisfaction")},
    ("GET", "/api/customers"): EVERYONE,
    ("POST", "/api/customers"): EVERYONE,
    ("GET", "/api/customers/{id}"): EVERYONE,
    ("GET", "/api/customers/{id}/history"): EVERYONE,
    ("GET", "/api/customers/search"): EVERYONE,
    ("PATCH", "/api/customers/{id}"): DESK,
    ("GET", "/api/tickets"): EVERYONE,
    ("POST", "/api/tickets"): EVERYONE,
    # which tickets each user sees: tests/unit/test_visibility.py; who may make which move:
    # tests/unit/test_ticket_moves.py
    ("GET", "/api/tickets/{id}"): EVERYONE,
    ("PATCH", "/api/tickets/{id}"): EVERYONE,
    ("POST", "/api/tickets/{id}/status"): EVERYONE,
    ("POST", "/api/tickets/{id}/dispatch"): frozenset({"supervisor", "admin", "staff"}),
    ("POST", "/api/tickets/{id}/schedule"): EVERYONE,
    ("POST", "/api/tickets/{id}/notes"): EVERYONE,
    ("GET", "/api/dispatch"): EVERYONE,
    ("POST", "/api/dispatch/branches"): ADMINS,
    ("GET", "/api/dispatch/rules"): ADMINS,
    ("POST", "/api/dispatch/rules"): ADMINS,
    ("DELETE", "/api/dispatch/rules/{id}"): ADMINS,
    ("GET", "/api/kb"): EVERYONE,
    ("POST", "/api/kb/{id}/read"): EVERYONE,
    ("GET", "/api/audit"): ADMINS,
    ("GET", "/api/visits"): DESK,
    ("POST", "/api/visits/{id}/call"): DESK,
    ("POST", "/api/visits/{id}/result"): DESK,
    ("GET", "/api/surveys"): SUPERVISORS,
    ("GET", "/api/callbacks"): SUPERVISORS,
    ("POST", "/api/callbacks/{id}/cancel"): SUPERVISORS,
    ("POST", "/api/callbacks/{id}/reassign"): SUPERVISORS,
    # agents: only their own recordings (recordings.agents), tested in tests/unit/test_recordings_http.py
    # and tests/unit/test_recording_media.py
    ("GET", "/api/recordings"): DESK,
    ("GET", "/api/recordings/{id}/audio"): DESK,
    ("GET", "/api/recordings/{id}/waveform"): DESK,
    ("POST", "/api/recordings/{id}/hold"): SUPERVISORS,
    ("POST", "/api/monitor"): SUPERVISORS,
    ("POST", "/api/agent/recording"): DESK,
    ("POST", "/api/import/customers"): ADMINS,
    ("GET", "/api/export/customers.csv"): SUPERVISORS,
    ("GET", "/api/export/tickets.csv"): SUPERVISORS,
    ("GET", "/api/export/calls.csv"): SUPERVISORS,
    ("GET", "/api/export/customers.xlsx"): SUPERVISORS,
    ("GET", "/api/export/tickets.xlsx"): SUPERVISORS,
    ("GET", "/api/export/calls.xlsx"): SUPERVISORS,
    ("GET", "/api/webhooks"): ADMINS,
    # a ticket's notices follow the ticket's visibility: tests/unit/test_visibility.py
    ("GET", "/api/tickets/{id}/notices"): EVERYONE,
    ("GET", "/api/customers/{id}/sms-opt-out"): DESK,
    ("PUT", "/api/customers/{id}/sms-opt-out"): DESK,
    ("PUT", "/api/sms/engineers/{id}"): SUPERVISORS,
    # the SMS provider's push: signed with sms.inbound_secret (tests/integration/test_sms_notices.py)
    ("POST", "/sms/inbound"): PUBLIC,
    # staff get their own department's view whatever they ask: tests/unit/test_workview.py
    ("GET", "/api/workview"): frozenset({"staff", "supervisor", "admin"}),
}


def plain(path: str) -> str:
    """``/api/kb/{id:\\d{1,9}}/read`` -> ``/api/kb/{id}/read``."""
    return re.sub(r"\{(\w+):(?:[^{}]|\{[^{}]*\})*\}", r"{\1}", path)


def concrete(path: str) -> str:
    concrete = plain(path).replace("{name}", "hotline").replace("{number}", "1").replace("{id}", "1")
    return concrete.replace("{extension}", "1001")


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[CtiServer]:
    settings = Settings().replace(database={"url": f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"})
    await upgrade_schema(settings.database.url)
    cti = CtiServer(settings)  # not started: no Asterisk; what needs it answers 503
    users = UserRepository(cti.db)
    for role in EVERYONE:
        await users.add(role, PASSWORD, role)
    yield cti
    await cti.db.close()


def test_the_matrix_has_every_route_of_the_router_and_its_declared_roles(server: CtiServer) -> None:
    app = server.web_app
    routed = {(method, plain(path)) for method, path in router_routes(app) if not path.startswith("/ui/")}
    assert routed == set(MATRIX), "a route was added or removed: say here who may call it"
    declared = {(op.method, plain(op.path)): (None if op.public else op.roles or EVERYONE) for op in operations(app)}
    assert {key: declared[key] for key in MATRIX} == MATRIX


async def status_of(server: TestServer, method: str, path: str, role: str | None) -> int:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        if role is not None:
            login = await http.post(server.make_url("/login"), json={"username": role, "password": PASSWORD})
            assert login.status == 200, await login.text()
        body = None if method == "GET" else {}
        async with http.request(method, server.make_url(concrete(path)), json=body) as response:
            return response.status


async def test_every_route_against_every_role_and_no_session(server: CtiServer) -> None:
    test_server = TestServer(server.web_app)
    await test_server.start_server()
    problems = []
    try:
        for (method, path), allowed in MATRIX.items():
            for role in (None, *sorted(EVERYONE)):
                status = await status_of(test_server, method, path, role)
                if allowed is PUBLIC:
                    ok = status not in (401, 403)
                elif role is None:
                    ok = status == 401
                elif role not in allowed:
                    ok = status == 403
                else:
                    ok = status not in (401, 403)
                if not ok:
                    problems.append(f"{method} {path} as {role or 'nobody'}: {status}")
    finally:
        await test_server.close()
    assert problems == []
