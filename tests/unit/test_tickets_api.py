"""Tickets over HTTP: who sees which ticket (agents, staff of a department and branch,
supervisors, admins), the workflow routes with their 409s, the detail with SLA and
history, and the dispatch rules for admins. Demo data plus the demo branches and staff."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ctiserver.calls.tables import CallRow
from ctiserver.customers.tables import Customer
from ctiserver.lab.demo_dispatch import seed_demo_dispatch
from ctiserver.web.contract import operations
from tests.support.desk import PASSWORD, DeskEnv, desk_env, user_ids
from tests.support.web_fakes import FAST_HASHER


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[DeskEnv]:
    async with desk_env(tmp_path) as desk:
        await seed_demo_dispatch(desk.db, PASSWORD, FAST_HASHER)
        desk.user_ids.update(await user_ids(desk.db))
        yield desk


async def customer(env: DeskEnv, name: str) -> int:
    async with env.db.session() as session:
        found = await session.scalar(select(Customer.id).where(Customer.name == name))
    assert found is not None
    return found


async def open_ticket(env: DeskEnv, as_user: str, body: dict[str, Any]) -> dict[str, Any]:
    await env.login(as_user)
    status, answer = await env.call("POST", "/api/tickets", body)
    assert status == 201, answer
    return dict(answer["ticket"])


async def took_call(env: DeskEnv, extension: str, customer_id: int, linkedid: str) -> None:
    async with env.db.session() as session:
        session.add(CallRow(linkedid=linkedid, started_at=dt.datetime.now(dt.UTC), agent=extension,
                            customer_id=customer_id))
        await session.commit()


async def seen_by(env: DeskEnv, username: str, ticket_id: int) -> tuple[int, list[int]]:
    """The status of GET /api/tickets/{id} and the ids GET /api/tickets lists, as that user."""
    await env.login(username)
    status, _ = await env.call("GET", f"/api/tickets/{ticket_id}")
    listed_status, listed = await env.call("GET", "/api/tickets")
    assert listed_status == 200
    return status, [t["id"] for t in listed["tickets"]]


async def test_who_sees_which_ticket(env: DeskEnv) -> None:
    shenzhen = await open_ticket(env, "agent1002", {
        "type": "repair", "summary": "空调不制冷", "customer_id": await customer(env, "David Zhang")})
    guangzhou = await open_ticket(env, "agent1002", {
        "type": "repair", "summary": "冰箱异响", "customer_id": await customer(env, "王芳")})
    ids = env.user_ids
    assert shenzhen["branch_id"] != guangzhou["branch_id"] and shenzhen["status"] == "dispatched"
    # the creator; supervisors and admins see all
    for user in ("agent1002", "supervisor", "admin"):
        assert await seen_by(env, user, shenzhen["id"]) == (200, [guangzhou["id"], shenzhen["id"]])
    # an engineer sees their branch's, not another branch's
    assert await seen_by(env, "engineer-sz", shenzhen["id"]) == (200, [shenzhen["id"]])
    assert await seen_by(env, "engineer-gd", shenzhen["id"]) == (403, [guangzhou["id"]])
    assert await seen_by(env, "engineer-bj", guangzhou["id"]) == (403, [])
    # another agent: only once they served the customer
    assert await seen_by(env, "agent1001", shenzhen["id"]) == (403, [])
    await took_call(env, "1001", shenzhen["customer_id"], "1750000000.1")
    assert await seen_by(env, "agent1001", shenzhen["id"]) == (200, [shenzhen["id"]])
    status, answer = await env.call("POST", f"/api/tickets/{guangzhou['id']}/notes", {"note": "催一下"})
    assert (status, answer) == (403, {"error": "not one of the tickets you may see"})
    assert (await env.call("GET", "/api/tickets/999999"))[0] == 404
    assert ids["engineer-sz"] != ids["engineer-gd"]


async def test_workflow_routes_and_their_conflicts(env: DeskEnv) -> None:
    ticket = await open_ticket(env, "agent1002", {
        "type": "repair", "summary": "洗衣机漏水", "customer_id": await customer(env, "David Zhang"),
        "fields": {"fault_symptom": "漏水", "product_model": "XQG100"}})
    path = f"/api/tickets/{ticket['id']}"
    await env.login("engineer-sz")
    start = "2026-12-02T09:00:00+08:00"
    status, answer = await env.call("POST", f"{path}/schedule", {
        "start": start, "end": "2026-12-02T11:00:00+08:00", "engineer_id": env.user_ids["engineer-sz"],
        "version": ticket["version"]})
    assert status == 200 and answer["ticket"]["status"] == "scheduled", answer
    version = answer["ticket"]["version"]
    # a stale version: 409, nothing written
    status, answer = await env.call("POST", f"{path}/status", {"status": "in_progress", "version": version - 1})
    assert status == 409 and "changed meanwhile" in answer["error"]
    # a move the workflow refuses
    status, answer = await env.call("POST", f"{path}/status", {"status": "completed", "version": version})
    assert status == 409 and "cannot go from scheduled to completed" in answer["error"]
    # a move the engineer's role may not make (closing is the supervisors')
    status, answer = await env.call("POST", f"{path}/status", {"status": "closed", "version": version})
    assert status == 403 and answer["code"] == "ticket_move_forbidden"
    status, answer = await env.call("POST", f"{path}/status", {"status": "in_progress", "note": "到场",
                                                               "version": version})
    assert status == 200 and answer["ticket"]["version"] == version + 1
    status, answer = await env.call("PATCH", path, {"fields": {"severity": "high"}})
    assert status == 400 and "no field severity" in answer["error"]
    status, answer = await env.call("PATCH", path, {"fields": {"parts": ["进水阀"], "distance_km": 8.5}})
    assert status == 200 and answer["ticket"]["fields"]["parts"] == ["进水阀"]
    assert (await env.call("POST", f"{path}/status", {"status": "waiting_parts"}))[0] == 200
    status, answer = await env.call("POST", f"{path}/status", {"status": "bogus"})
    assert status == 400

    status, answer = await env.call("GET", path)
    assert status == 200
    detail = answer["ticket"]
    assert detail["branch"]["name"] == "深圳服务中心" and detail["department_name"] == "维修部"
    assert detail["engineer"]["username"] == "engineer-sz"
    assert detail["appointment_start"] == "2026-12-02T01:00:00.000+00:00"
    assert detail["fields"]["fault_symptom"] == "漏水" and detail["fields"]["distance_km"] == 8.5
    assert detail["sla"]["paused"] is True and detail["sla"]["responded_at"] is not None
    assert [(e["kind"], e["from"], e["to"], e["who"]) for e in detail["history"]] == [
        ("created", None, "new", "agent1002"), ("dispatched", "new", "dispatched", "dispatch"),
        ("scheduled", "dispatched", "scheduled", "engineer-sz"),
        ("started", "scheduled", "in_progress", "engineer-sz"),
        ("fields", "in_progress", "in_progress", "engineer-sz"),
        ("waiting", "in_progress", "waiting_parts", "engineer-sz"),
    ]
    assert detail["history"][3]["note"] == "到场"
    # by hand to another branch: staff and supervisors, not agents
    await env.login("agent1002")
    assert (await env.call("POST", f"{path}/dispatch", {"department": "repair"}))[0] == 403


async def test_dispatch_by_hand_and_the_rules_for_admins(env: DeskEnv) -> None:
    ticket = await open_ticket(env, "agent1002", {"type": "inquiry", "summary": "保修政策"})
    await env.login("supervisor")
    status, answer = await env.call("GET", "/api/dispatch")
    assert status == 200 and answer["departments"]["support"] == "客服部"
    beijing = next(b for b in answer["branches"] if b["name"] == "北京分公司")
    status, answer = await env.call("POST", f"/api/tickets/{ticket['id']}/dispatch",
                                    {"department": "nowhere", "branch_id": beijing["id"]})
    assert status == 422 and "no department" in answer["error"]
    status, answer = await env.call("POST", f"/api/tickets/{ticket['id']}/dispatch",
                                    {"department": "repair", "branch_id": beijing["id"], "note": "转维修"})
    assert status == 200 and (answer["ticket"]["department"], answer["ticket"]["branch_id"]) == (
        "repair", beijing["id"])
    assert (await env.call("GET", "/api/dispatch/rules"))[0] == 403
    await env.login("admin")
    status, answer = await env.call("POST", "/api/dispatch/rules", {
        "kind": "complaint", "province": "北京市", "department": "complaint", "branch_id": beijing["id"]})
    assert status == 201
    rule = answer["rule"]
    complaint = await open_ticket(env, "agent1002", {
        "type": "complaint", "summary": "师傅迟到", "customer_id": await customer(env, "张伟"),
        "fields": {"about": "engineer", "severity": "medium"}})
    assert (complaint["department"], complaint["branch_id"], complaint["urgency"]) == (
        "complaint", beijing["id"], "urgent")  # 张伟 is a VIP
    await env.login("admin")
    assert (await env.call("DELETE", f"/api/dispatch/rules/{rule['id']}")) == (200, {"deleted": True})
    assert (await env.call("DELETE", f"/api/dispatch/rules/{rule['id']}"))[0] == 404
    status, answer = await env.call("POST", "/api/dispatch/rules", {"department": "repair", "city": "深圳市"})
    assert status == 400 and "needs its province" in answer["error"]


def test_every_ticket_change_is_audited(env: DeskEnv) -> None:
    changes = [op for op in operations(env.app) if op.path.startswith("/api/tickets") and op.method != "GET"]
    assert len(changes) == 6
    assert all(op.audited and op.target == "ticket" for op in changes)


async def test_schedule_takes_a_json_appointment_window(env: DeskEnv) -> None:
    """POST /api/tickets/{id}/schedule with the window as JSON strings (any offset, or Z): the
    window is stored as the instant given, re-scheduling moves it; a window without its
    offset, not a time, or ending before it starts is refused and writes nothing."""
    ticket = await open_ticket(env, "agent1002", {
        "type": "repair", "summary": "热水器不点火", "customer_id": await customer(env, "David Zhang")})
    path = f"/api/tickets/{ticket['id']}"
    await env.login("engineer-sz")
    engineer = env.user_ids["engineer-sz"]
    refused = [
        ({"start": "2026-12-03T09:00:00", "end": "2026-12-03T11:00:00"}, 400, "offset"),
        ({"start": "tomorrow morning", "end": "2026-12-03T11:00:00+08:00"}, 400, "ISO-8601"),
        ({"start": "2026-12-03T11:00:00+08:00", "end": "2026-12-03T09:00:00+08:00"}, 409, "end after"),
    ]
    for body, code, said in refused:
        status, answer = await env.call("POST", f"{path}/schedule", body)
        assert status == code and said in answer["error"], (body, answer)
    status, answer = await env.call("POST", f"{path}/schedule", {
        "start": "2026-12-03T09:00:00+08:00", "end": "2026-12-03T03:00:00Z", "engineer_id": engineer,
        "version": ticket["version"], "note": "上午"})
    assert status == 200, answer
    scheduled = answer["ticket"]
    assert (scheduled["status"], scheduled["version"]) == ("scheduled", ticket["version"] + 1)
    status, answer = await env.call("POST", f"{path}/schedule", {
        "start": "2026-12-04T14:00:00+08:00", "end": "2026-12-04T16:30:00+08:00", "engineer_id": engineer,
        "version": scheduled["version"]})
    assert status == 200 and answer["ticket"]["status"] == "scheduled", answer
    status, answer = await env.call("GET", path)
    assert status == 200
    detail = answer["ticket"]
    assert (detail["appointment_start"], detail["appointment_end"]) == (
        "2026-12-04T06:00:00.000+00:00", "2026-12-04T08:30:00.000+00:00")
    assert detail["engineer"]["username"] == "engineer-sz"
    windows = [e["payload"] for e in detail["history"] if e["kind"] == "scheduled"]
    instants = [(dt.datetime.fromisoformat(w["appointment_start"]), dt.datetime.fromisoformat(w["appointment_end"]))
                for w in windows]
    assert instants == [
        (dt.datetime(2026, 12, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 3, 3, tzinfo=dt.UTC)),
        (dt.datetime(2026, 12, 4, 6, tzinfo=dt.UTC), dt.datetime(2026, 12, 4, 8, 30, tzinfo=dt.UTC)),
    ]
    assert windows[1]["before"]["appointment_start"] == windows[0]["appointment_start"]
