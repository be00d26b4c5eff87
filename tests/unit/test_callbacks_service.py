"""MissedCallService and CallbackNotifier: what missed and answered calls do to tasks, what a
miss learns of its caller, what expires, and what is pushed to whom (fakes, no I/O)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ctiserver.agents.seats import AgentSeats, Seat
from ctiserver.callbacks.model import Miss
from ctiserver.callbacks.notifier import CallbackNotifier
from ctiserver.callbacks.service import MissedCallService, ivr_choices
from ctiserver.callbacks.sources import Answered
from ctiserver.callbacks.store import CallbackInfo
from ctiserver.vocabulary import SUPERVISOR_ROLES

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def info(task_id: int, number: str, status: str = "pending", misses: int = 1) -> CallbackInfo:
    return CallbackInfo(
        id=task_id, number=number, customer_id=None, call_linkedid=None, queue="support", source="abandon",
        reason="", status=status, missed_at=AT, last_missed_at=None, misses=misses, wait_seconds=None,
        choices=(), vip=False, due_at=AT, expires_at=None, attempts=0, last_attempt_at=None, outcome=None,
        agent=None, finished_at=None,
    )


@dataclass
class Tasks:
    recorded: list[Miss] = field(default_factory=list)
    cancelled: list[tuple[str, float]] = field(default_factory=list)
    expired_at: list[float] = field(default_factory=list)
    owed: dict[str, list[CallbackInfo]] = field(default_factory=dict)
    due: list[CallbackInfo] = field(default_factory=list)

    async def record_miss(self, miss: Miss) -> tuple[CallbackInfo, bool]:
        self.recorded.append(miss)
        return info(len(self.recorded), miss.number), len(self.recorded) == 1

    async def cancel_for_number(self, number: str, at: float) -> list[CallbackInfo]:
        self.cancelled.append((number, at))
        return [dataclass_replace(task, status="cancelled") for task in self.owed.pop(number, [])]

    async def expire(self, now: float) -> list[CallbackInfo]:
        self.expired_at.append(now)
        due, self.due = self.due, []
        return [dataclass_replace(task, status="expired") for task in due]


def dataclass_replace(task: CallbackInfo, **changes: Any) -> CallbackInfo:
    return dataclasses.replace(task, **changes)


@dataclass
class Customer:
    id: int
    level: str


class Customers:
    def __init__(self, by_phone: dict[str, list[Customer]]) -> None:
        self.by_phone = by_phone
        self.asked: list[str] = []

    async def find_by_phone(self, number: str) -> list[Customer]:
        self.asked.append(number)
        return self.by_phone.get(number, [])


@dataclass
class Run:
    path: list[dict[str, Any]]


class Runs:
    def __init__(self, by_call: dict[str, list[Run]]) -> None:
        self.by_call = by_call

    async def list_for_call(self, linkedid: str) -> list[Run]:
        return self.by_call.get(linkedid, [])


MENU_RUN = Run([
    {"node": "language", "kind": "language", "digits": "1"},
    {"node": "welcome", "kind": "play", "digits": "5"},
    {"node": "main_menu", "kind": "menu", "digits": "0"},
    {"node": "main_menu", "kind": "menu", "digits": ""},
])


def service(tasks: Tasks, customers: Customers | None = None, runs: Runs | None = None,
            ) -> tuple[MissedCallService, list[CallbackInfo]]:
    changed: list[CallbackInfo] = []
    return MissedCallService(tasks, customers or Customers({}), runs or Runs({}), changed=changed.append,
                             clock=lambda: 1234.0), changed


def test_ivr_choices_are_the_digits_of_menus_inputs_and_languages_in_order() -> None:
    assert ivr_choices([MENU_RUN, Run([{"node": "serial", "kind": "input", "digits": "42"}])]) == (
        "language:1", "main_menu:0", "serial:42")


async def test_a_miss_learns_its_vip_customer_and_ivr_choices() -> None:
    customers = Customers({"13800138000": [Customer(7, "vip"), Customer(8, "normal")]})
    missed, _ = service(Tasks(), customers, Runs({"call-1": [MENU_RUN]}))
    miss = await missed.enrich(Miss("13800138000", "abandon", at=1.0, linkedid="call-1"))
    assert (miss.customer_id, miss.vip, miss.choices) == (7, True, ("language:1", "main_menu:0"))


async def test_a_miss_that_knows_its_customer_and_choices_keeps_them() -> None:
    customers = Customers({"13800138000": [Customer(7, "vip")]})
    missed, _ = service(Tasks(), customers, Runs({"call-1": [MENU_RUN]}))
    miss = await missed.enrich(Miss("13800138000", "ivr", at=1.0, linkedid="call-1", customer_id=3,
                                    choices=("main_menu:2",)))
    assert (miss.customer_id, miss.vip, miss.choices) == (3, False, ("main_menu:2",))
    assert customers.asked == []


async def test_an_unknown_caller_stays_unknown() -> None:
    missed, _ = service(Tasks())
    miss = await missed.enrich(Miss("01088886666", "abandon", at=1.0))
    assert (miss.customer_id, miss.vip, miss.choices) == (None, False, ())


async def test_save_records_misses_enriched_and_cancels_what_an_answered_number_is_owed() -> None:
    tasks = Tasks(owed={"13900139000": [info(5, "13900139000"), info(6, "13900139000")]})
    missed, changed = service(tasks, Customers({"13800138000": [Customer(7, "normal")]}))
    await missed.save([
        Miss("13800138000", "abandon", at=1.0),
        Answered("13900139000", at=2.0, linkedid="call-2"),
        Answered("13700137000", at=3.0, linkedid="call-3"),
    ])
    assert [miss.customer_id for miss in tasks.recorded] == [7]
    assert tasks.cancelled == [("13900139000", 2.0), ("13700137000", 3.0)]
    assert [(task.id, task.status) for task in changed] == [(1, "pending"), (5, "cancelled"), (6, "cancelled")]


async def test_expiry_asks_at_the_clock_and_tells_each_expired_task() -> None:
    tasks = Tasks(due=[info(9, "13800138000")])
    missed, changed = service(tasks)
    assert [task.id for task in await missed.expire_due()] == [9]
    assert await missed.expire_due() == []
    assert tasks.expired_at == [1234.0, 1234.0]
    assert [(task.id, task.status) for task in changed] == [(9, "expired")]


class Hub:
    def __init__(self) -> None:
        self.to_role: list[tuple[frozenset[str], dict[str, Any]]] = []
        self.users: list[tuple[int, dict[str, Any]]] = []

    def to_roles(self, roles: Collection[str], message: dict[str, Any]) -> None:
        self.to_role.append((frozenset(roles), message))

    def to_user(self, user_id: int, message: dict[str, Any]) -> None:
        self.users.append((user_id, message))


async def test_notifier_pushes_changes_to_supervisors_and_offers_to_the_agents_desk_in_order() -> None:
    hub = Hub()
    directory: list[Seat] = [Seat("PJSIP/1001", "Alice", 1)]

    async def roster() -> list[Seat]:
        await asyncio.sleep(0)
        return list(directory)

    seats = AgentSeats(roster, hub)
    notifier = CallbackNotifier(hub, seats)
    notifier.changed(info(4, "13800138000"))
    assert hub.to_role == [(frozenset(SUPERVISOR_ROLES), {"type": "callback",
                                                          "callback": info(4, "13800138000").to_dict()})]
    await seats.refresh()
    # Carol is seated after the last reading: her offer waits for the directory, and the next
    # offer (to Alice, already seated) waits behind it
    directory.append(Seat("PJSIP/1003", "Carol", 3))
    notifier.offer("PJSIP/1003", {"event": "ringing", "attempt": 1})
    notifier.offer("PJSIP/1001", {"event": "ended", "attempt": 1})
    notifier.offer("PJSIP/9999", {"event": "ringing", "attempt": 2})  # nobody sits there
    for _ in range(10):
        await asyncio.sleep(0)
    assert hub.users == [
        (3, {"type": "callback_offer", "event": "ringing", "attempt": 1}),
        (1, {"type": "callback_offer", "event": "ended", "attempt": 1}),
    ]


async def test_seats_enrol_every_agent_and_seat_only_the_signed_in_ones() -> None:
    enrolled: list[tuple[str, str | None]] = []

    async def roster() -> list[Seat]:
        return [Seat("PJSIP/1001", "Alice", 1), Seat("PJSIP/1002", "Bob", None)]

    seats = AgentSeats(roster, on_seat=lambda interface, name: enrolled.append((interface, name)))
    await seats.refresh()
    assert enrolled == [("PJSIP/1001", "Alice"), ("PJSIP/1002", "Bob")]
    assert (seats.user_at("PJSIP/1001"), seats.user_at("PJSIP/1002")) == (1, None)
