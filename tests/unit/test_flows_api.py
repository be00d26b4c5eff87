"""The admin flow API against a migrated SQLite database and a real FlowRegistry."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ctiserver.ivr.http import MAX_BODY
from ctiserver.ivr.registry import FlowRegistry
from ctiserver.ivr.store import FlowVersionRepository
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from tests.conftest import require
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.api_session import ApiSession
from tests.unit.web_app import build_app

HOTLINE = Path(__file__).resolve().parents[2] / "ivr_flows" / "hotline.yaml"
SOURCE = HOTLINE.read_text(encoding="utf-8")
QUEUES = [q.name for q in Settings().hotline.queues]
PASSWORD = "pw 口令"

#: greet_new's prompt, changed: a valid edit with Chinese text
NEW_GREETING = "您好，欢迎再次致电售后热线。"
VALID_EDIT = SOURCE.replace(
    '您好，欢迎致电售后服务热线。", en: "Welcome', f'{NEW_GREETING}", en: "Welcome'
)
#: greet_customer goes on to a node that does not exist
BAD_REFERENCE = SOURCE.replace(
    "    next: main_menu\n\n  greet_vip", "    next: nowhere\n\n  greet_vip"
)

ROUTES = [
    ("GET", "/api/flows", None),
    ("GET", "/api/flows/hotline", None),
    ("GET", "/api/flows/hotline/versions/1", None),
    ("GET", "/api/flows/hotline/graph.svg", None),
    ("GET", "/api/flow-schema", None),
    ("POST", "/api/flows/check", {"source": SOURCE}),
    ("POST", "/api/flows/publish", {"source": VALID_EDIT}),
    ("POST", "/api/flows/hotline/rollback", {"number": 1}),
]


def line_of(source: str, text: str) -> int:
    """1-based number of the only line containing ``text``."""
    (number,) = [i for i, line in enumerate(source.splitlines(), 1) if text in line]
    return number


async def hotline_registry(tmp_path: Path, db: Database) -> FlowRegistry:
    """The sample hotline, copied into ``tmp_path/flows``, loaded and in force."""
    flows_dir = tmp_path / "flows"
    flows_dir.mkdir()
    shutil.copy(HOTLINE, flows_dir / "hotline.yaml")
    registry = FlowRegistry(
        flows_dir, queues=QUEUES, sounds_dirs=[flows_dir], versions=FlowVersionRepository(db)
    )
    assert await registry.load_all() == []
    return registry


@dataclasses.dataclass
class Env(ApiSession):
    password: ClassVar[str] = PASSWORD
    registry: FlowRegistry
    flows_dir: Path


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    await users.add("admin", PASSWORD, "admin", "李管理")
    await users.add("supervisor", PASSWORD, "supervisor")
    await users.add("agent1001", PASSWORD, "agent")
    registry = await hotline_registry(tmp_path, db)
    settings = Settings().replace(web={"session_secret": "flows test secret"})
    app = build_app(
        settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=users, flows=registry
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    yield Env(client, registry, registry.flows_dir)
    await client.close()
    await db.close()


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_flow_api_needs_a_session(env: Env, method: str, path: str, body: Any) -> None:
    assert await env.call(method, path, body) == (401, {"error": "login required"})


@pytest.mark.parametrize("username", ["agent1001", "supervisor"])
@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_flow_api_is_for_admins_only(
    env: Env, username: str, method: str, path: str, body: Any
) -> None:
    await env.login(username)
    assert await env.call(method, path, body) == (403, {"error": "admins only"})
    assert env.registry.active_version("hotline").number == 1  # type: ignore[union-attr]


async def test_the_flow_schema_is_served_as_the_command_prints_it(env: Env) -> None:
    from ctiserver.resources import flow_schema

    await env.login("admin")
    response = await env.client.get("/api/flow-schema")
    assert response.status == 200
    assert response.content_type == "application/schema+json"
    served = await response.json(content_type=None)
    assert served == json.loads(flow_schema().read_text(encoding="utf-8"))
    assert "kind_queue" in served["$defs"]


async def test_list_and_get_flows(env: Env) -> None:
    await env.login("admin")
    status, body = await env.call("GET", "/api/flows")
    assert status == 200
    (flow,) = body["flows"]
    assert flow["name"] == "hotline" and flow["entry"] == "4008001234"
    assert flow["number"] == 1 and flow["author"] == "file:hotline.yaml"
    assert flow["version"] == env.registry.get("hotline").version  # type: ignore[union-attr]
    assert flow["created_at"].startswith("20")

    status, body = await env.call("GET", "/api/flows/hotline")
    assert status == 200
    assert body["name"] == "hotline" and body["source"] == SOURCE  # Chinese text as is
    assert body["active"]["number"] == 1 and body["active"]["active"] is True
    assert [(v["number"], v["active"]) for v in body["versions"]] == [(1, True)]

    status, body = await env.call("GET", "/api/flows/hotline/versions/1")
    assert status == 200
    assert body["number"] == 1 and body["source"] == SOURCE and body["diff"] is None

    assert (await env.call("GET", "/api/flows/nope"))[0] == 404
    assert (await env.call("GET", "/api/flows/hotline/versions/7"))[0] == 404
    assert (await env.call("GET", "/api/flows/hotline/graph.svg/x"))[0] == 404


async def test_check_a_valid_flow_draws_it_and_publishes_nothing(env: Env) -> None:
    require(
        shutil.which("dot") is not None, "Graphviz dot is not installed (apt-get install graphviz)"
    )
    await env.login("admin")
    status, body = await env.call("POST", "/api/flows/check", {"source": VALID_EDIT})
    assert status == 200
    assert body["ok"] is True and body["problems"] == []
    assert body["flow"]["name"] == "hotline" and body["flow"]["entry"] == "4008001234"
    assert "<svg" in body["svg"] and "greet_new" in body["svg"]
    assert NEW_GREETING[:10] in body["svg"]
    assert env.registry.active_version("hotline").number == 1  # type: ignore[union-attr]
    assert len(await env.registry.versions.list("hotline")) == 1
    assert (env.flows_dir / "hotline.yaml").read_text(encoding="utf-8") == SOURCE


@pytest.mark.parametrize(
    ("source", "line", "column", "message"),
    [
        (BAD_REFERENCE, line_of(BAD_REFERENCE, "next: nowhere"), 11, "no node named 'nowhere'"),
        (
            SOURCE.replace("kind: survey", "kind: survey\n    prompt: [unclosed"),
            line_of(SOURCE, "kind: survey") + 2,
            11,
            "YAML syntax error",
        ),
        (
            SOURCE.replace("kind: voicemail", "kind: teleport"),
            line_of(SOURCE, "kind: voicemail"),
            11,
            "unknown kind 'teleport'",
        ),
    ],
)
async def test_check_reports_problems_by_line(
    env: Env, source: str, line: int, column: int, message: str
) -> None:
    await env.login("admin")
    status, body = await env.call("POST", "/api/flows/check", {"source": source})
    assert status == 200
    assert body["ok"] is False and "svg" not in body
    assert any(
        p["line"] == line and p["column"] == column and message in p["message"]
        for p in body["problems"]
    ), body["problems"]


async def test_check_reports_an_entry_served_by_another_flow(env: Env) -> None:
    await env.login("admin")
    other = SOURCE.replace("flow: hotline", "flow: hotline_copy")
    status, body = await env.call("POST", "/api/flows/check", {"source": other})
    assert status == 200 and body["ok"] is False
    assert body["problems"] == [
        {"line": 1, "column": 1, "message": "entry 4008001234 is already served by flow hotline"}
    ]


async def test_publish_a_valid_flow(env: Env) -> None:
    await env.login("admin")
    status, body = await env.call(
        "POST", "/api/flows/publish", {"source": VALID_EDIT, "note": "新的问候语"}
    )
    assert status == 200, body
    version = body["version"]
    assert version["flow"] == "hotline" and version["number"] == 2 and version["active"] is True
    assert version["author"] == "admin" and version["note"] == "新的问候语"

    assert env.registry.get("hotline").source == VALID_EDIT  # type: ignore[union-attr]
    assert env.registry.active_version("hotline").number == 2  # type: ignore[union-attr]
    assert (env.flows_dir / "hotline.yaml").read_text(encoding="utf-8") == VALID_EDIT

    _, flow = await env.call("GET", "/api/flows/hotline")
    assert flow["source"] == VALID_EDIT
    assert [(v["number"], v["active"]) for v in flow["versions"]] == [(2, True), (1, False)]
    _, v2 = await env.call("GET", "/api/flows/hotline/versions/2")
    diff = v2["diff"].splitlines()
    assert any(line.startswith("+") and NEW_GREETING in line for line in diff)
    assert any(line.startswith("-") and "您好，欢迎致电售后服务热线。" in line for line in diff)


async def test_publishing_an_invalid_flow_keeps_the_running_one(env: Env) -> None:
    await env.login("admin")
    running = env.registry.get("hotline")
    status, body = await env.call("POST", "/api/flows/publish", {"source": BAD_REFERENCE})
    assert status == 422
    assert body["problems"] == [
        {
            "line": line_of(BAD_REFERENCE, "next: nowhere"),
            "column": 11,
            "message": "next: no node named 'nowhere'",
        }
    ]
    assert "error" in body
    assert env.registry.get("hotline") is running
    assert env.registry.active_version("hotline").number == 1  # type: ignore[union-attr]
    assert len(await env.registry.versions.list("hotline")) == 1
    assert (env.flows_dir / "hotline.yaml").read_text(encoding="utf-8") == SOURCE


async def test_rollback(env: Env) -> None:
    await env.login("admin")
    assert (await env.call("POST", "/api/flows/publish", {"source": VALID_EDIT}))[0] == 200
    status, body = await env.call("POST", "/api/flows/hotline/rollback", {"number": 1})
    assert status == 200, body
    assert body["version"]["number"] == 3 and body["version"]["active"] is True
    assert body["version"]["author"] == "admin"
    assert body["version"]["note"] == "rollback to version 1"
    assert env.registry.get("hotline").source == SOURCE  # type: ignore[union-attr]

    assert (await env.call("POST", "/api/flows/hotline/rollback", {"number": 99}))[0] == 404
    assert (await env.call("POST", "/api/flows/nope/rollback", {"number": 1}))[0] == 404
    assert (await env.call("POST", "/api/flows/hotline/rollback", {"number": "1"}))[0] == 400
    assert (await env.call("POST", "/api/flows/hotline/rollback", {"number": True}))[0] == 400
    assert env.registry.active_version("hotline").number == 3  # type: ignore[union-attr]


async def test_graph_svg(env: Env) -> None:
    require(
        shutil.which("dot") is not None, "Graphviz dot is not installed (apt-get install graphviz)"
    )
    await env.login("admin")
    response = await env.client.get("/api/flows/hotline/graph.svg")
    assert response.status == 200
    assert response.content_type == "image/svg+xml"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    svg = await response.text()
    assert "<svg" in svg and "choose_language" in svg
    assert (await env.call("GET", "/api/flows/nope/graph.svg"))[0] == 404


async def test_bodies_over_256_kb_are_refused(env: Env) -> None:
    await env.login("admin")
    huge = SOURCE + "#" * MAX_BODY
    for path in ("/api/flows/check", "/api/flows/publish"):
        status, body = await env.call("POST", path, {"source": huge})
        assert status == 413 and "256 KB" in body["error"]

    async def chunks() -> AsyncIterator[bytes]:
        """No Content-Length: the limit holds for a chunked body too."""
        yield b'{"source": "'
        for _ in range(MAX_BODY // 4096 + 1):
            yield b"#" * 4096
        yield b'"}'

    response = await env.client.post(
        "/api/flows/check", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status == 413 and "error" in await response.json()
    assert env.registry.active_version("hotline").number == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/api/flows/check", b"{not json"),
        ("/api/flows/check", b"[1, 2]"),
        ("/api/flows/check", b'{"source": 5}'),
        ("/api/flows/publish", b'{"source": "flow: x", "note": 5}'),
        ("/api/flows/hotline/rollback", b"{}"),
    ],
)
async def test_malformed_requests_are_json_400(env: Env, path: str, data: bytes) -> None:
    await env.login("admin")
    response = await env.client.post(path, data=data, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "error" in await response.json()
