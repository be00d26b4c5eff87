"""The callbacks store on SQLite and on PostgreSQL: misses become one task per number and
window, claims are exclusive (two servers never take one task), outcomes are recorded once."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator

import pytest

from ctiserver.callbacks.model import Miss, Outcome, Policy, Source
from ctiserver.callbacks.store import CallbackRepository
from ctiserver.storage.database import Database, upgrade_schema
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)

T = 1_764_036_000.0
POLICY = Policy(dedup_window=600, expire_after=3600, max_attempts=2, retry_min=60, retry_max=120)
_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_db(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = await server.create_database(f"ctiserver_callbacks_{next(_names)}")
    await upgrade_schema(url)
    db = Database(url)
    yield db
    await db.close()


def _miss(number: str, at: float, **kw: object) -> Miss:
    fields: dict[str, object] = {"queue": "support", "source": Source.ABANDONED, "wait_seconds": 30.0}
    fields.update(kw)
    return Miss(number, at=at, **fields)  # type: ignore[arg-type]


async def test_misses_of_one_number_within_the_window_are_one_task(store_db: Database) -> None:
    store = CallbackRepository(store_db, POLICY)
    first, new = await store.record_miss(_miss("13800138000", T, linkedid="c1", wait_seconds=12.0))
    assert new and (first.status, first.misses, first.source, first.queue) == ("pending", 1, "abandoned", "support")
    again, new2 = await store.record_miss(_miss("+86 138 0013 8000", T + 100, wait_seconds=40.0, vip=True))
    third, new3 = await store.record_miss(_miss("013800138000", T + 500, choices=("menu:0",)))
    assert not new2 and not new3 and again.id == third.id == first.id
    assert (third.misses, third.wait_seconds, third.vip, third.choices) == (3, 40.0, True, ("menu:0",))
    assert third.call_linkedid == "c1" and third.missed_at.timestamp() == T
    assert third.expires_at is not None and third.expires_at.timestamp() == T + 3600
    later, new4 = await store.record_miss(_miss("13800138000", T + 601))
    assert new4 and later.id != first.id
    other, new5 = await store.record_miss(_miss("13900139000", T + 10))
    assert new5 and other.id not in (first.id, later.id)
    with pytest.raises(ValueError):
        await store.record_miss(_miss("  ", T))


async def test_an_answered_call_cancels_the_pending_tasks_of_its_number(store_db: Database) -> None:
    store = CallbackRepository(store_db, POLICY)
    task, _ = await store.record_miss(_miss("13800138000", T))
    other, _ = await store.record_miss(_miss("13900139000", T))
    assert await store.cancel_for_number("13800138000", T - 1) == []  # an answer before the miss
    (cancelled,) = await store.cancel_for_number("+8613800138000", T + 30)
    assert (cancelled.id, cancelled.status) == (task.id, "cancelled")
    assert (await store.get(other.id)).status == "pending"  # type: ignore[union-attr]
    fresh, new = await store.record_miss(_miss("13800138000", T + 60))
    assert new and fresh.id != task.id  # a cancelled task takes no more misses


async def test_claims_go_vip_first_then_oldest_and_skip_what_is_not_due(store_db: Database) -> None:
    store = CallbackRepository(store_db, POLICY, server="s1")
    old, _ = await store.record_miss(_miss("13800000001", T))
    vip, _ = await store.record_miss(_miss("13800000002", T + 50, vip=True))
    young, _ = await store.record_miss(_miss("13800000003", T + 100))
    await store.record_miss(_miss("13800000004", T + 10, queue="repair"))
    assert await store.due_queues(T + 200) == {"support": 3, "repair": 1}
    order = []
    for n in range(3):
        claim = await store.claim("support", T + 200, agent=f"100{n}", channel_id=f"cb-{n}")
        assert claim is not None
        assert claim.task.status == "dialing" and claim.attempt.channel_id == f"cb-{n}"
        assert claim.attempt.server == "s1" and claim.attempt.agent == f"100{n}"
        order.append(claim.task.id)
    assert order == [vip.id, old.id, young.id]
    assert await store.claim("support", T + 200, agent="1009", channel_id="cb-x") is None
    assert [a.channel_id for a in await store.in_flight()] == ["cb-0", "cb-1", "cb-2"]


async def test_an_agent_with_an_attempt_under_way_gets_no_other(store_db: Database) -> None:
    """Another server offers them a callback: this one must not ring them too."""
    other = CallbackRepository(store_db, POLICY, server="s2")
    mine = CallbackRepository(store_db, POLICY, server="s1")
    await mine.record_miss(_miss("13800000001", T))
    await mine.record_miss(_miss("13800000002", T + 1))
    first = await other.claim("support", T + 10, agent="1001", channel_id="o1")
    assert first is not None
    assert await mine.claim("support", T + 10, agent="1001", channel_id="m1") is None
    await other.finish(first.attempt.id, Outcome.CONNECTED, T + 20)
    second = await mine.claim("support", T + 30, agent="1001", channel_id="m1")
    assert second is not None and second.task.number == "13800000002"


async def test_outcomes_retry_with_back_off_then_fail_and_are_recorded_once(store_db: Database) -> None:
    store = CallbackRepository(store_db, POLICY)
    task, _ = await store.record_miss(_miss("13800138000", T))
    claim = await store.claim("support", T + 10, agent="1001", channel_id="a1")
    assert claim is not None
    after = await store.finish(claim.attempt.id, Outcome.AGENT_MISSED, T + 20)
    assert after is not None and (after.status, after.attempts, after.outcome) == ("pending", 0, "agent_missed")
    assert await store.finish(claim.attempt.id, Outcome.NO_ANSWER, T + 21) is None  # once only
    claim = await store.claim("support", T + 30, agent="1002", channel_id="a2")
    assert claim is not None
    after = await store.finish(claim.attempt.id, Outcome.NO_ANSWER, T + 40)
    assert after is not None and (after.status, after.attempts) == ("pending", 1)
    assert after.due_at.timestamp() == T + 100
    assert await store.claim("support", T + 99, agent="1001", channel_id="a3") is None  # not due yet
    claim = await store.claim("support", T + 100, agent="1001", channel_id="a3")
    assert claim is not None
    after = await store.finish(claim.attempt.id, Outcome.BUSY, T + 110)
    assert after is not None and (after.status, after.attempts, after.outcome) == ("failed", 2, "busy")
    assert after.finished_at is not None
    attempts = await store.attempts(task.id)
    assert [(a.channel_id, a.outcome) for a in attempts] == [
        ("a1", "agent_missed"), ("a2", "no_answer"), ("a3", "busy")]
    assert await store.in_flight() == []


async def test_connected_expired_cancelled_reassigned(store_db: Database) -> None:
    store = CallbackRepository(store_db, POLICY)
    done, _ = await store.record_miss(_miss("13800000001", T))
    stale, _ = await store.record_miss(_miss("13800000002", T))
    mine, _ = await store.record_miss(_miss("13800000003", T + 1))
    reassigned = await store.reassign(mine.id, T + 2, queue="repair", agent="1003")
    assert reassigned is not None and (reassigned.queue, reassigned.agent) == ("repair", "1003")
    assert await store.claim("repair", T + 5, agent="1001", channel_id="x") is None  # for 1003 only
    claim = await store.claim("support", T + 5, agent="1001", channel_id="c1")
    assert claim is not None and claim.task.id == done.id
    with pytest.raises(ValueError):
        await store.cancel(done.id, T + 6)  # being dialled
    connected = await store.finish(claim.attempt.id, Outcome.CONNECTED, T + 30)
    assert connected is not None and (connected.status, connected.agent) == ("connected", "1001")
    expired = await store.expire(T + 3600)
    assert [t.id for t in expired] == [stale.id] and expired[0].status == "expired"
    cancelled = await store.cancel(mine.id, T + 3601)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert await store.cancel(9999, T) is None
    assert [t.id for t in await store.search(status="cancelled")] == [mine.id]
    assert [t.id for t in await store.search(number="+86 13800000001")] == [done.id]


async def test_two_servers_never_claim_one_task(postgres_server: PostgresServer) -> None:  # noqa: F811
    """50 due tasks, two servers (engines) claiming as fast as they can: each task once."""
    url = await postgres_server.create_database(f"ctiserver_claims_{uuid.uuid4().hex[:8]}")
    await upgrade_schema(url)
    dbs = [Database(url), Database(url)]
    try:
        seed = CallbackRepository(dbs[0], POLICY)
        for n in range(50):
            await seed.record_miss(_miss(f"1380000{n:04d}", T + n))
        claimed: dict[str, list[int]] = {"a": [], "b": []}

        async def server(name: str, db: Database) -> None:
            store = CallbackRepository(db, POLICY, server=name)
            for n in itertools.count():
                claim = await store.claim("support", T + 100, agent=f"{name}{n}", channel_id=f"{name}-{n}")
                if claim is None:
                    return
                claimed[name].append(claim.task.id)

        await asyncio.gather(*(server(name, db) for name, db in zip("ab", dbs, strict=True)))
        everything = claimed["a"] + claimed["b"]
        assert len(everything) == 50 and len(set(everything)) == 50
        assert claimed["a"] and claimed["b"], "both servers took a share"
    finally:
        for db in dbs:
            await db.close()


async def test_a_call_is_one_miss_however_often_it_is_reported(store_db: Database) -> None:
    store = CallbackRepository(store_db, POLICY)
    task, new = await store.record_miss(_miss("13800138000", T, linkedid="c1"))
    again, new2 = await store.record_miss(_miss("13800138000", T, linkedid="c1"))  # a journal replayed
    assert new and not new2 and again.id == task.id and again.misses == 1
    await store.record_misses([_miss("13800138000", T + 5, linkedid="c2"), _miss("13800138000", T + 5, linkedid="c2")])
    assert (await store.get(task.id)).misses == 2  # type: ignore[union-attr]
    await store.cancel_for_number("13800138000", T + 10)
    replayed, new3 = await store.record_miss(_miss("13800138000", T + 5, linkedid="c2"))
    assert not new3 and replayed.id == task.id and replayed.status == "cancelled"
