"""/api/callbacks: supervisors list, cancel and reassign callback tasks; agents may not."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ctiserver.callbacks.model import Miss, Source
from ctiserver.callbacks.store import CallbackRepository
from tests.support.desk import DeskEnv, desk_env
from tests.support.web_fakes import XSS

KEYS = {
    "id", "number", "customer_id", "call_id", "queue", "source", "reason", "status", "missed_at",
    "last_missed_at", "misses", "wait_seconds", "choices", "vip", "due_at", "expires_at", "attempts",
    "last_attempt_at", "outcome", "agent", "finished_at",
}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[DeskEnv]:
    async with desk_env(tmp_path) as desk:
        yield desk


async def test_supervisors_list_filter_cancel_and_reassign(env: DeskEnv) -> None:
    store = CallbackRepository(env.db)
    now = time.time()
    first, _ = await store.record_miss(Miss("13800138000", Source.ABANDONED, now - 60, queue="support",
                                            wait_seconds=42.0, linkedid="c1", reason=XSS))
    second, _ = await store.record_miss(Miss("010 6552 8899", Source.REQUESTED, now - 30, queue="support",
                                             choices=("language:1", "main_menu:0")))
    await env.login("agent1001")
    assert (await env.call("GET", "/api/callbacks"))[0] == 403
    assert (await env.call("POST", f"/api/callbacks/{first.id}/cancel"))[0] == 403

    await env.login("supervisor")
    status, body = await env.call("GET", "/api/callbacks")
    assert status == 200 and [t["id"] for t in body["callbacks"]] == [second.id, first.id]
    view = body["callbacks"][1]
    assert set(view) == KEYS
    assert (view["number"], view["status"], view["source"], view["wait_seconds"], view["reason"]) == (
        "13800138000", "pending", "abandoned", 42.0, XSS)
    assert body["callbacks"][0]["choices"] == ["language:1", "main_menu:0"]
    _, by_number = await env.call("GET", "/api/callbacks?number=%2B86%20138%200013%208000")
    assert [t["id"] for t in by_number["callbacks"]] == [first.id]
    assert (await env.call("GET", "/api/callbacks?status=done"))[0] == 400

    status, body = await env.call("POST", f"/api/callbacks/{first.id}/cancel")
    assert status == 200 and body["callback"]["status"] == "cancelled"
    assert (await env.call("POST", f"/api/callbacks/{first.id}/cancel"))[0] == 409
    assert (await env.call("POST", "/api/callbacks/99999/cancel"))[0] == 404
    _, cancelled = await env.call("GET", "/api/callbacks?status=cancelled")
    assert [t["id"] for t in cancelled["callbacks"]] == [first.id]

    status, body = await env.call("POST", f"/api/callbacks/{second.id}/reassign", {"queue": "repair", "agent": "1002"})
    assert status == 200 and (body["callback"]["queue"], body["callback"]["agent"]) == ("repair", "1002")
    assert (await env.call("POST", f"/api/callbacks/{second.id}/reassign", {"queue": "nowhere"}))[0] == 400
    assert (await env.call("POST", f"/api/callbacks/{first.id}/reassign", {}))[0] == 409
