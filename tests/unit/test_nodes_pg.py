"""Two nodes (two CtiServer instances in this process, their features started, no Asterisk) on
one real PostgreSQL (issue 19 parts 2, 3 and 7):

- a ticket opened through node A's API reaches a supervisor's work-view websocket on node
  B at once, woken by NOTIFY (the feed's safety poll is a minute here, and B's in-process
  bus never hears of A's commit);
- a flow published on node A is in force on node B for the next call (and B's file agrees);
- the SLA watch runs under a lease held by one node at a time; when the holder dies (its
  lease connection closed without a word, as by ``kill -9``) the other holds it within
  ``nodes.lease_interval``; when PostgreSQL ends the holder's session, it stops the duty;
- ``/metrics`` parses with prometheus_client's own parser, the expected families there and
  moved; who may read it follows ``web.metrics_access``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from ctiserver.server import CtiServer
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.storage.leases import LeaseBusy, hold_once
from ctiserver.storage.nodes import NodeRegistry, SecretMismatch
from ctiserver.storage.pglink import connect
from ctiserver.users.store import UserRepository
from tests.pg import PostgresServer, postgres_server
from tests.staff import FAST_HASHER
from tests.unit.test_web import FakeAmi, FakeTracker
from tests.unit.web_app import build_app

__all__ = ["postgres_server"]

pytestmark = pytest.mark.asyncio(loop_scope="module")

PASSWORD = "two nodes password"
LEASE_INTERVAL = 0.5
#: the feed's safety poll: far longer than any wait here, so only a NOTIFY can wake node B
FEED_INTERVAL = 60.0
ENTRY = "4008007001"
FLOW = """\
flow: nodes
entry: "{entry}"
language: zh
start: hello
nodes:
  hello: {{kind: play, prompt: "{greeting}", next: bye}}
  bye: {{kind: hangup}}
"""


@dataclasses.dataclass
class Node:
    name: str
    cti: CtiServer
    web: TestServer
    flows_dir: Path

    async def session(self, username: str) -> aiohttp.ClientSession:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        login = await http.post(self.web.make_url("/login"), json={"username": username, "password": PASSWORD})
        assert login.status == 200, await login.text()
        return http

    async def metrics(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(self.web.make_url("/metrics")) as response:
            assert response.status == 200, await response.text()
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
        return {family.name: family for family in text_string_to_metric_families(text)}


@dataclasses.dataclass
class Cluster:
    a: Node
    b: Node
    url: str


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def cluster(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    url = await postgres_server.create_database("two_nodes")
    await upgrade_schema(url)
    tmp = tmp_path_factory.mktemp("nodes")
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    await users.add("supervisor", PASSWORD, "supervisor", "赵主管")
    await users.add("admin", PASSWORD, "admin", "李管理")
    await db.close()
    nodes = []
    for name in ("a", "b"):
        flows = tmp / f"flows-{name}"
        flows.mkdir()
        settings = Settings().replace(
            database={"url": url},
            web={"session_secret": "two nodes session secret"},
            ivr={"flows_dir": str(flows), "prompt_dir": str(tmp / "prompts")},  # prompts: a shared directory
            tickets={"feed_interval": FEED_INTERVAL},
            nodes={"name": name, "lease_interval": LEASE_INTERVAL},
        )
        cti = CtiServer(settings)
        await cti.core.start_features()  # the telephony links stay down: no Asterisk here
        web = TestServer(cti.web_app)
        await web.start_server()
        nodes.append(Node(name, cti, web, flows))
    for node in nodes:  # listening before anything is written
        async with asyncio.timeout(30):
            await node.cti.core.notifications.connected.wait()
    try:
        yield Cluster(nodes[0], nodes[1], url)
    finally:
        for node in nodes:
            await node.web.close()
            await node.cti.stop()


async def test_a_ticket_opened_on_node_a_reaches_a_work_view_on_node_b_at_once(cluster: Cluster) -> None:
    b_http = await cluster.b.session("supervisor")
    a_http = await cluster.a.session("supervisor")
    try:
        ws = await b_http.ws_connect(cluster.b.web.make_url("/ws?watch=tickets"))
        assert (await ws.receive_json(timeout=10))["type"] == "hello"
        await asyncio.sleep(0.2)  # the socket is registered with B's hub
        before = dict(cluster.b.cti.core.notifications.received)
        started = time.monotonic()
        async with a_http.post(cluster.a.web.make_url("/api/tickets"),
                               json={"type": "complaint", "summary": "投诉：在节点A上开的单"}) as response:
            assert response.status == 201, await response.text()
            opened = (await response.json())["ticket"]
        while True:
            message = await ws.receive_json(timeout=FEED_INTERVAL / 4)
            if message["type"] == "ticket" and message["ticket"]["number"] == opened["number"]:
                break
        took = time.monotonic() - started
        print(f"\nticket opened on node A reached node B's work view in {took * 1000:.0f} ms")
        assert took < FEED_INTERVAL / 6, "woken by the notification, not by the safety poll"
        assert message["event"]["kind"] in ("created", "dispatched")  # one message: the commit's last event
        received = cluster.b.cti.core.notifications.received
        assert received.get("ctiserver_ticket_events", 0) > before.get("ctiserver_ticket_events", 0)
        families = await cluster.b.metrics()
        assert families["ctiserver_websocket_clients"].samples[0].value == 1
        notified = {s.labels["channel"]: s.value for s in families["ctiserver_notifications_received"].samples}
        assert notified["ctiserver_ticket_events"] >= 1
        await ws.close()
    finally:
        await a_http.close()
        await b_http.close()


async def test_a_listen_connection_ended_by_postgresql_is_made_again_and_wakes_again(cluster: Cluster) -> None:
    notifications = cluster.b.cti.core.notifications
    made = notifications.connections
    conn = await connect(cluster.url)
    try:
        pid = notifications._connection.get_server_pid()
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()
    async with asyncio.timeout(20):
        while notifications.connections == made or not notifications.connected.is_set():
            await asyncio.sleep(0.05)
    before = notifications.received.get("ctiserver_ticket_events", 0)
    await cluster.a.cti.tickets.open("complaint", "投诉：重连之后", {}, customer_id=None)
    async with asyncio.timeout(10):
        while notifications.received.get("ctiserver_ticket_events", 0) == before:
            await asyncio.sleep(0.02)
    families = await cluster.b.metrics()
    assert families["ctiserver_notify_connections"].samples[0].value == made + 1


async def test_a_flow_published_on_node_a_is_in_force_on_node_b(cluster: Cluster) -> None:
    http = await cluster.a.session("admin")
    try:
        for number, greeting in ((1, "您好，这是第一版。"), (2, "您好，这是第二版。")):
            source = FLOW.format(entry=ENTRY, greeting=greeting)
            async with http.post(cluster.a.web.make_url("/api/flows/publish"), json={"source": source}) as response:
                assert response.status == 200, await response.text()
                assert (await response.json())["version"]["number"] == number
            async with asyncio.timeout(15):
                while (version := cluster.b.cti.flows.active_version("nodes")) is None or version.number != number:
                    await asyncio.sleep(0.05)
            flow = cluster.b.cti.flows.for_entry(ENTRY)  # what the next call on node B runs
            assert flow is not None and flow is cluster.b.cti.flows.get("nodes")
            assert flow.version == version.version and version.source == source
            assert (cluster.b.flows_dir / "nodes.yaml").read_text(encoding="utf-8") == source
    finally:
        await http.close()


async def holders(cluster: Cluster, lease: str) -> list[str]:
    return [node.name for node in (cluster.a, cluster.b) if node.cti.core.leases.is_held(lease)]


async def test_a_lease_is_held_once_and_taken_over_when_its_node_dies(cluster: Cluster) -> None:
    lease = "ticket-sla"
    async with asyncio.timeout(15):
        while not await holders(cluster, lease):
            await asyncio.sleep(0.05)
    for _ in range(20):  # held by one only, and it stays so
        assert len(await holders(cluster, lease)) == 1
        await asyncio.sleep(LEASE_INTERVAL / 4)
    (first,) = await holders(cluster, lease)
    families = await (cluster.a if first == "a" else cluster.b).metrics()
    held = {s.labels["lease"]: s.value for s in families["ctiserver_leases_held"].samples}
    assert held[lease] == 1

    # PostgreSQL ends the holder's session: the holder stops the duty, and one node holds it again
    holder = cluster.a if first == "a" else cluster.b
    conn = await connect(cluster.url)
    try:
        ended = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )
    finally:
        await conn.close()
    assert ended >= 1
    async with asyncio.timeout(10):
        while holder.cti.core.leases.is_held(lease):
            assert len(await holders(cluster, lease)) == 1, "never held by two"
            await asyncio.sleep(0.01)
    async with asyncio.timeout(15):
        while len(await holders(cluster, lease)) != 1:
            assert len(await holders(cluster, lease)) <= 1, "never held by two"
            await asyncio.sleep(0.01)

    # the holder dies (kill -9: its socket closed, nothing more from it): the other takes over
    (holding,) = await holders(cluster, lease)
    dead, survivor = (cluster.a, cluster.b) if holding == "a" else (cluster.b, cluster.a)
    started = time.monotonic()
    await dead.cti.core.leases.crash()
    async with asyncio.timeout(LEASE_INTERVAL * 10):
        while not survivor.cti.core.leases.is_held(lease):
            await asyncio.sleep(0.01)
    took = time.monotonic() - started
    print(f"\nlease {lease} taken over by node {survivor.name} {took * 1000:.0f} ms after node {dead.name} died "
          f"(nodes.lease_interval = {LEASE_INTERVAL} s)")
    assert took < LEASE_INTERVAL + 1.0
    http = await survivor.session("admin")  # /healthz shows its details to an admin
    try:
        async with http.get(survivor.web.make_url("/healthz")) as response:
            body = await response.json()
    finally:
        await http.close()
    assert lease in body["checks"]["leases"]["held"] and body["checks"]["leases"]["node"] == survivor.name


async def test_metrics_parse_with_the_expected_families_and_move(cluster: Cluster) -> None:
    node = cluster.a
    before = await node.metrics()
    node.cti._on_ami_event({"Event": "FullyBooted", "Status": "Fully Booted"})
    node.cti.metrics.agi_command(["STREAM", "FILE", "x"], 0.002)
    after = await node.metrics()
    for family in ("ctiserver_ami_events", "ctiserver_ami_connections", "ctiserver_ami_connected",
                   "ctiserver_fastagi_sessions", "ctiserver_fastagi_command_seconds", "ctiserver_pop_seconds",
                   "ctiserver_websocket_clients", "ctiserver_writer_queued", "ctiserver_writer_journaled",
                   "ctiserver_leases_held", "ctiserver_notifications_received", "ctiserver_feed_backlog"):
        assert family in after, family

    def total(families: dict[str, Any], name: str, sample: str) -> float:
        return sum(s.value for s in families[name].samples if s.name == sample)

    assert total(after, "ctiserver_ami_events", "ctiserver_ami_events_total") == \
        total(before, "ctiserver_ami_events", "ctiserver_ami_events_total") + 1
    assert total(after, "ctiserver_fastagi_command_seconds", "ctiserver_fastagi_command_seconds_count") == \
        total(before, "ctiserver_fastagi_command_seconds", "ctiserver_fastagi_command_seconds_count") + 1
    consumers = {s.labels["consumer"] for s in after["ctiserver_feed_backlog"].samples}
    assert "visits" in consumers
    assert {s.labels["writer"] for s in after["ctiserver_writer_queued"].samples} >= {"callbacks"}


async def test_who_may_read_the_metrics(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    token = "a metrics token of the test"
    try:
        for access, headers, status in (
            ("loopback", {}, 200),
            ("loopback", {"X-Forwarded-For": "203.0.113.9"}, 403),  # came through a proxy
            ("token", {}, 403),
            ("token", {"Authorization": "Bearer wrong"}, 403),
            ("token", {"Authorization": f"Bearer {token}"}, 200),
            ("admins", {}, 403),
        ):
            settings = Settings().replace(web={"session_secret": "metrics access secret",
                                               "metrics_access": access, "metrics_token": token})
            server = TestServer(build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi()))
            await server.start_server()
            try:
                async with aiohttp.ClientSession() as http, \
                        http.get(server.make_url("/metrics"), headers=headers) as response:
                    assert response.status == status, (access, headers)
            finally:
                await server.close()
        users = UserRepository(db, FAST_HASHER)
        await users.add("admin", PASSWORD, "admin")
        await users.add("agent", PASSWORD, "agent")
        settings = Settings().replace(web={"session_secret": "metrics access secret", "metrics_access": "admins"})
        server = TestServer(build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=users))
        await server.start_server()
        try:
            for username, status in (("admin", 200), ("agent", 403)):
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                    login = await http.post(server.make_url("/login"),
                                            json={"username": username, "password": PASSWORD})
                    assert login.status == 200, await login.text()
                    async with http.get(server.make_url("/metrics")) as response:
                        assert response.status == status, username
        finally:
            await server.close()
        with pytest.raises(ValueError, match="metrics_token"):
            build_app(Settings().replace(web={"metrics_access": "token"}), db=db, calls=FakeTracker(), ami=FakeAmi())
        with pytest.raises(ValueError, match="metrics_access"):
            build_app(Settings().replace(web={"metrics_access": "everyone"}), db=db, calls=FakeTracker(), ami=FakeAmi())
    finally:
        await db.close()


async def test_every_node_shows_which_nodes_are_up(cluster: Cluster) -> None:
    """Each node's heartbeat row: node B's answer names both; a node unseen for three beats is down."""
    http = await cluster.b.session("supervisor")
    try:
        async with http.get(cluster.b.web.make_url("/api/nodes")) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        assert body["this"] == "b"
        assert {(n["name"], n["up"]) for n in body["nodes"]} >= {("a", True), ("b", True)}
        gone = NodeRegistry(cluster.a.cti.db, name="gone", secret="two nodes session secret", heartbeat=1.0)
        await gone.join(time.time() - 10)  # its last beat ten beats ago
        async with http.get(cluster.a.web.make_url("/api/nodes")) as response:
            shown = {n["name"]: n["up"] for n in (await response.json())["nodes"]}
        assert shown["gone"] is False and shown["a"] is True
    finally:
        await http.close()
    denied = aiohttp.ClientSession()
    try:
        async with denied.get(cluster.b.web.make_url("/api/nodes")) as response:
            assert response.status == 401
    finally:
        await denied.close()


async def test_a_node_with_another_session_secret_refuses_to_start(cluster: Cluster) -> None:
    """One secret for all: a node whose ``web.session_secret`` differs from the nodes up does
    not start (it would turn away every user they logged in); with them all down, a new
    secret is let in (a planned change, every node restarted)."""
    settings = cluster.a.cti.settings.replace(
        web={"session_secret": "another secret altogether"}, nodes={"name": "c", "lease_interval": LEASE_INTERVAL},
    )
    other = CtiServer(settings)
    try:
        with pytest.raises(SecretMismatch, match="a, b"):
            await other.core.start_features()
        assert not other.core.leases.held() and other.core._tasks == []
    finally:
        await other.db.close()
    later = NodeRegistry(cluster.a.cti.db, name="c", secret="another secret altogether")
    await later.join(time.time() + 3600)  # every node's last beat long before: nobody to disagree
    await later.leave()
    listed = {n.name: n for n in await later.nodes(time.time())}
    assert listed["c"].up is False


async def test_a_command_under_a_lease_is_refused_while_another_node_runs_it(cluster: Cluster) -> None:
    """``ctiserver reports rebuild`` and ``recordings purge`` run once among the nodes."""
    async with hold_once(cluster.url, "reports-rebuild"):
        with pytest.raises(LeaseBusy, match="reports-rebuild"):
            async with hold_once(cluster.url, "reports-rebuild"):
                pytest.fail("held twice")
        async with hold_once(cluster.url, "recordings-purge"):
            pass  # another lease is another lock
    async with hold_once(cluster.url, "reports-rebuild"):
        pass  # free again once the first let go


async def test_the_notify_triggers_come_and_go_with_their_migration(postgres_server: PostgresServer) -> None:
    from tests.unit.test_ticket_feed import _migrate

    url = await postgres_server.create_database("nodes_migration")
    query = "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'ctiserver_%' ORDER BY tgname"
    await _migrate(url, "head")
    conn = await connect(url)
    try:
        assert [r["tgname"] for r in await conn.fetch(query)] == [
            "ctiserver_flow_versions_notify", "ctiserver_ticket_events_notify"]
        await _migrate(url, "0019_dialonce_leases", down=True)
        assert await conn.fetch(query) == []
        await _migrate(url, "head")
        assert len(await conn.fetch(query)) == 2
    finally:
        await conn.close()
