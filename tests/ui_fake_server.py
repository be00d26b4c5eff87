"""A tiny in-memory server implementing docs/agent-desktop.md, for testing the desk pages.

It serves ``screenpop/`` under ``/ui/`` like the real app, keeps users, agents, customers,
tickets and knowledge-base articles in dicts, records every request it answers
(``FakeDesk.requests``), and lets a test push websocket messages to one user
(``await fake.push(user_id, message)``) or to the supervisors (``push_supervisors``).

Run it by hand to look at the pages: ``python -m tests.ui_fake_server --port 8765``, then
POST ``/_fake/push`` with ``{"user": "agent1", "message": {...}}`` (or ``"supervisors": true``),
or ``/_fake/demo`` to push a sample pop to agent1 and a sample wallboard.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import WSCloseCode, web

from ctiserver.meta import meta_body
from ctiserver.settings import Settings
from ctiserver.vocabulary import DEPARTMENT_BY_TYPE, PAUSE_REASONS, TICKET_TYPES
from tests.api_contract import ContractCheck

#: the agent's own actions, POST /api/agent/<action>
AGENT_ACTIONS = ("login", "logout", "pause", "ready", "transfer")
SCREENPOP = Path(__file__).resolve().parents[1] / "screenpop"
COOKIE = "fake_desk_session"
PASSWORD = "口令 pw"
XSS = "<img src=x onerror=alert(1)>"
#: the hotline's time zone: "today" of the daily report (like the real server's default)
REPORT_TIMEZONE = "Asia/Shanghai"
#: a past day the fake has a report for (the other days have no calls)
OTHER_REPORT_DAY = "2026-11-25"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now_iso(seconds_ago: float = 0.0) -> str:
    return iso(datetime.now(UTC) - timedelta(seconds=seconds_ago))


def normalise_phone(number: str) -> str:
    """+86, 0086, a leading 0, spaces and dashes do not matter (like the real server)."""
    text = (number or "").strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+86"):
        digits = digits[2:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits.lstrip("0")


@dataclasses.dataclass
class FakeUser:
    id: int
    username: str
    role: str
    display_name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role,
            "display_name": self.display_name,
        }


# ---- sample data (Chinese, like the hotline's)


def sample_users() -> list[FakeUser]:
    return [
        FakeUser(1, "agent1", "agent", "王小明"),
        FakeUser(2, "agent2", "agent", "李娜"),
        FakeUser(3, "super", "supervisor", "赵主管"),
        FakeUser(4, "clerk", "agent", "无分机文员"),
    ]


def sample_agents() -> dict[int, dict[str, Any]]:
    def agent(extension: str, name: str) -> dict[str, Any]:
        return {
            "extension": extension,
            "name": name,
            "interface": f"PJSIP/{extension}",
            "state": "logged_out",
            "since": None,
            "reason": None,
            "paused_by": None,
            "queues": [],
            "call_id": None,
            "skills": ["售后", "投诉"],
        }

    return {1: agent("1001", "王小明"), 2: agent("1002", "李娜")}


def sample_customers() -> dict[int, dict[str, Any]]:
    zhang = {
        "id": 1,
        "name": "张伟",
        "level": "vip",
        "phones": [
            {"number": "13800138000", "label": "手机"},
            {"number": "0755-86001234", "label": "家"},
        ],
        "address": {
            "province": "广东省",
            "city": "深圳市",
            "district": "南山区",
            "street": "科技园路",
            "detail": "1号 A栋 1201",
        },
        "products": [
            {
                "id": 11,
                "category": "空调",
                "model": "KFR-35GW/BP3",
                "serial": "AC2023051800123",
                "installed_on": "2023-05-20",
            },
            {
                "id": 12,
                "category": "洗衣机",
                "model": "XQG100-B14",
                "serial": "WM2022110900077",
                "installed_on": "2022-11-12",
            },
        ],
        "open_tickets": [
            {
                "id": 501,
                "number": "T-1501",
                "type": "repair",
                "status": "dispatched",
                "version": 2,
                "department": "repair",
                "branch_id": 1,
                "engineer_id": None,
                "urgency": "normal",
                "summary": "洗衣机脱水时噪音大",
                "fields": {"fault_symptom": "脱水时噪音大"},
                "customer_id": 1,
                "product_id": 12,
                "call_linkedid": "1717000000.1",
                "source": "ivr",
                "created_at": now_iso(3 * 86400),
                "due_at": now_iso(-3600),
                "escalation_level": 1,
            },
        ],
        "recent_calls": [
            {
                "id": "1717000000.1",
                "state": "ended",
                "caller_number": "13800138000",
                "caller_name": "张伟",
                "started_at": now_iso(3 * 86400 + 300),
                "answered_at": now_iso(3 * 86400 + 280),
                "ended_at": now_iso(3 * 86400),
                "duration": 300.0,
                "queue": "售后",
                "agent": "李娜",
                "wait_seconds": 20.0,
                "hangup_cause": 16,
                "hangup_cause_text": "Normal Clearing",
                "customer_id": 1,
            },
        ],
    }
    chen1 = {
        "id": 2,
        "name": "陈静",
        "level": "normal",
        "phones": [{"number": "020-12345678", "label": "家"}],
        "address": {
            "province": "广东省",
            "city": "广州市",
            "district": "天河区",
            "street": "体育西路",
            "detail": "88号 502",
        },
        "products": [
            {
                "id": 21,
                "category": "冰箱",
                "model": "BCD-520W",
                "serial": "RF2021",
                "installed_on": "2021-08-01",
            }
        ],
        "open_tickets": [],
        "recent_calls": [],
    }
    chen2 = {
        "id": 3,
        "name": "陈建国",
        "level": "normal",
        "phones": [{"number": "02012345678", "label": "家"}],
        "address": {
            "province": "广东省",
            "city": "广州市",
            "district": "天河区",
            "street": "体育西路",
            "detail": "88号 502",
        },
        "products": [
            {
                "id": 31,
                "category": "热水器",
                "model": "JSQ25-13",
                "serial": "WH2020",
                "installed_on": "2020-03-15",
            }
        ],
        "open_tickets": [],
        "recent_calls": [],
    }
    return {card["id"]: card for card in (zhang, chen1, chen2)}


def sample_articles() -> list[dict[str, Any]]:
    return [
        {
            "id": 1,
            "title": "空调不制冷的排查步骤",
            "language": "zh",
            "tags": ["空调", "制冷"],
            "reads": 12,
            "body": "1. 确认遥控器为制冷模式，设定温度低于室温。\n2. 检查滤网是否脏堵。\n"
            "3. 室外机是否运转；不运转请登记上门维修。",
        },
        {
            "id": 2,
            "title": "洗衣机显示 E4 故障代码",
            "language": "zh",
            "tags": ["洗衣机", "故障码"],
            "reads": 5,
            "body": "E4 表示进水超时：请检查水龙头是否打开、进水管是否弯折。",
        },
        {
            "id": 3,
            "title": "移机收费标准",
            "language": "zh",
            "tags": ["移机", "收费"],
            "reads": 9,
            "body": "同城移机：空调 200 元/台（含拆装），其他家电免费。",
        },
        {
            "id": 4,
            "title": "Air conditioner not cooling: checklist",
            "language": "en",
            "tags": ["air conditioner"],
            "reads": 7,
            "body": "1. Cooling mode, set below room temperature.\n2. Clean the filter.\n"
            "3. Outdoor unit not running: book a repair visit.",
        },
        {
            "id": 5,
            "title": "Washing machine error E4",
            "language": "en",
            "tags": ["washer"],
            "reads": 3,
            "body": "E4: water inlet timeout. Check the tap and the inlet hose.",
        },
    ]


def sample_pop(
    call_id: str = "1718000000.42",
    *,
    caller_number: str = "13800138000",
    caller_name: str | None = "张伟",
    customers: list[dict[str, Any]] | None = None,
    answered: bool = False,
    ended: bool = False,
    tickets: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A POP as the server sends it; ``customers`` defaults to the cards of that number;
    ``tickets``: those opened on the call (by the IVR), none by default."""
    if customers is None:
        wanted = normalise_phone(caller_number)
        customers = [
            card
            for card in sample_customers().values()
            if any(normalise_phone(p["number"]) == wanted for p in card["phones"])
        ]
    return {
        "call_id": call_id,
        "caller_number": caller_number,
        "caller_name": caller_name,
        "queue": "售后",
        "transferred_from": None,
        "waited_seconds": 35.4,
        "ringing_at": now_iso(3),
        "answered_at": now_iso(1) if answered or ended else None,
        "ended_at": now_iso(0) if ended else None,
        "customers": customers,
        "tickets": list(tickets or []),
        "ivr": {
            "flow": "hotline",
            "flow_version": 3,
            "path": [
                {"node": "choose_language", "kind": "language", "digits": "1", "result": "zh"},
                {"node": "hours", "kind": "hours", "digits": None, "result": "open"},
                {"node": "main_menu", "kind": "menu", "digits": "1", "result": "repair"},
                {"node": "repair_product", "kind": "input", "digits": "1", "result": "1"},
                {"node": "product_air_conditioner", "kind": "set", "digits": None, "result": None},
                {"node": "repair_queue", "kind": "queue", "digits": None, "result": "售后"},
            ],
            "digits": ["1", "1", "1"],
            "variables": {
                "language": "zh",
                "product": "空调",
                "product_key": "1",
                "caller_number": caller_number,
            },
        },
    }


def sample_wallboard() -> dict[str, Any]:
    return {
        "at": now_iso(),
        "queues": [
            {
                "name": "售后",
                "waiting": 2,
                "longest_wait": 48.0,
                "offered": 126,
                "answered": 112,
                "abandoned": 9,
                "answered_within_sl": 98,
                "service_level": 98 / 121,
            },
            {
                "name": "投诉",
                "waiting": 0,
                "longest_wait": 0.0,
                "offered": 18,
                "answered": 15,
                "abandoned": 3,
                "answered_within_sl": 10,
                "service_level": 10 / 18,
            },
            {
                "name": "English",
                "waiting": 0,
                "longest_wait": 0.0,
                "offered": 0,
                "answered": 0,
                "abandoned": 0,
                "answered_within_sl": 0,
                "service_level": None,
            },
        ],
        "agents": [
            {
                "extension": "1001",
                "name": "王小明",
                "interface": "PJSIP/1001",
                "state": "ready",
                "since": now_iso(125),
                "seconds_in_state": 125.0,
                "reason": None,
                "queues": ["售后", "投诉"],
            },
            {
                "extension": "1002",
                "name": "李娜",
                "interface": "PJSIP/1002",
                "state": "on_call",
                "since": now_iso(310),
                "seconds_in_state": 310.0,
                "reason": None,
                "queues": ["售后"],
            },
            {
                "extension": "1003",
                "name": "刘洋",
                "interface": "PJSIP/1003",
                "state": "paused",
                "since": now_iso(600),
                "seconds_in_state": 600.0,
                "reason": "lunch",
                "queues": ["售后"],
            },
            {
                "extension": "1004",
                "name": "周婷",
                "interface": "PJSIP/1004",
                "state": "wrap_up",
                "since": now_iso(12),
                "seconds_in_state": 12.0,
                "reason": None,
                "queues": ["投诉"],
            },
        ],
        "waiting_calls": [
            {
                "call_id": "1718000100.7",
                "caller_number": "13912345678",
                "caller_name": "孙丽",
                "queue": "售后",
                "waiting_seconds": 48.0,
            },
            {
                "call_id": "1718000120.9",
                "caller_number": "02012345678",
                "caller_name": None,
                "queue": "售后",
                "waiting_seconds": 21.0,
            },
        ],
        "recent_calls": [
            live_call(
                "1717990000.3",
                "13500001111",
                "黄先生",
                queue="售后",
                agent="李娜",
                duration=245.0,
                ended=True,
            ),
            live_call(
                "1717990100.5",
                "13700002222",
                None,
                queue="投诉",
                agent=None,
                duration=40.0,
                ended=True,
                answered=False,
            ),
        ],
    }


def live_call(
    call_id: str,
    number: str,
    name: str | None,
    *,
    queue: str | None = "售后",
    agent: str | None = None,
    duration: float = 30.0,
    answered: bool = True,
    ended: bool = False,
    wait: float | None = 10.0,
) -> dict[str, Any]:
    """A LIVE_CALL (the shape of GET /api/calls)."""
    return {
        "id": call_id,
        "state": "ended" if ended else "active",
        "caller_number": number,
        "caller_name": name,
        "started_at": now_iso(duration),
        "answered_at": now_iso(duration - (wait or 0)) if answered else None,
        "ended_at": now_iso() if ended else None,
        "duration": duration,
        "queue": queue,
        "agent": agent if answered else None,
        "wait_seconds": wait,
        "hangup_cause": 16 if ended else None,
        "hangup_cause_text": "Normal Clearing" if ended else None,
        "legs": [],
    }


def report_today() -> str:
    return datetime.now(ZoneInfo(REPORT_TIMEZONE)).date().isoformat()


def report_queue(name: str, **figures: Any) -> dict[str, Any]:
    """A queue of GET /api/reports/daily: zeros and nulls unless given (a day without calls)."""
    queue: dict[str, Any] = {
        "name": name,
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
        "unanswered": 0,
        "answered_within_sl": 0,
        "service_level": None,
        "average_answer_seconds": None,
        "longest_answer_wait": 0.0,
        "average_abandon_seconds": None,
    }
    unknown = set(figures) - set(queue)
    assert not unknown, f"not a figure of the daily report: {unknown}"
    queue.update(figures)
    return queue


def report_agent(
    answered: int = 0,
    state_seconds: dict[str, float] | None = None,
    pause_seconds: dict[str, float] | None = None,
) -> dict[str, Any]:
    """An agent's figures of GET /api/reports/daily (pause reason "" when none was given)."""
    return {
        "answered": answered,
        "state_seconds": state_seconds or {},
        "pause_seconds": pause_seconds or {},
    }


def daily_report(
    day: str, queues: list[dict[str, Any]], agents: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """GET /api/reports/daily: every configured queue, agents by interface."""
    return {"date": day, "timezone": REPORT_TIMEZONE, "queues": queues, "agents": agents}


def empty_daily_report(day: str) -> dict[str, Any]:
    return daily_report(day, [report_queue(name) for name in ("售后", "投诉", "English")], {})


def sample_daily_report(day: str) -> dict[str, Any]:
    """Today, consistent with the sample wallboard's queues and agents."""
    queues = [
        report_queue(
            "售后",
            offered=126,
            answered=112,
            abandoned=9,
            unanswered=3,
            answered_within_sl=98,
            service_level=0.8099,
            average_answer_seconds=14.2,
            longest_answer_wait=95.0,
            average_abandon_seconds=41.7,
        ),
        report_queue(
            "投诉",
            offered=18,
            answered=15,
            abandoned=3,
            answered_within_sl=10,
            service_level=0.5556,
            average_answer_seconds=22.5,
            longest_answer_wait=61.0,
            average_abandon_seconds=30.3,
        ),
        report_queue("English"),
    ]
    agents = {
        "PJSIP/1001": report_agent(
            70,
            {
                "logged_out": 600.0,
                "ready": 9000.0,
                "ringing": 310.0,
                "on_call": 14400.5,
                "wrap_up": 1200.0,
            },
        ),
        "PJSIP/1002": report_agent(
            42, {"ready": 5400.0, "on_call": 10800.0, "paused": 900.0}, {"training": 900.0}
        ),
        # paused during a call too: pause time (45 min) over the time in state paused (40 min)
        "PJSIP/1003": report_agent(
            15,
            {"ready": 3600.0, "on_call": 4500.0, "paused": 2400.0},
            {"lunch": 1800.0, "": 300.0, "after_call_work": 600.0},
        ),
        "PJSIP/1004": report_agent(0, {"ready": 1800.0}),
    }
    return daily_report(day, queues, agents)


def other_daily_report(day: str = OTHER_REPORT_DAY) -> dict[str, Any]:
    """A quiet past day (the records of tests/unit/test_stats_history.py)."""
    queues = [
        report_queue(
            "售后",
            offered=2,
            answered=1,
            abandoned=1,
            answered_within_sl=1,
            service_level=0.5,
            average_answer_seconds=12.0,
            longest_answer_wait=12.0,
            average_abandon_seconds=35.0,
        ),
        report_queue(
            "投诉",
            offered=1,
            answered=1,
            answered_within_sl=1,
            service_level=1.0,
            average_answer_seconds=5.0,
            longest_answer_wait=5.0,
        ),
        report_queue("English"),
    ]
    agents = {
        "PJSIP/1001": report_agent(1, {"on_call": 288.0}),
        "PJSIP/1003": report_agent(1, {}, {"lunch": 1800.0}),
    }
    return daily_report(day, queues, agents)


# ---- the server


class FakeDesk:
    def __init__(self, contract: ContractCheck | None = None) -> None:
        #: checks every answer and push against the real server's declared shapes
        self.contract = contract
        self.sockets: dict[int, set[web.WebSocketResponse]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.reset()

    def reset(self) -> None:
        """Fresh data; used between tests (the server and its sockets stay)."""
        self.users = {user.username: user for user in sample_users()}
        self.agents = sample_agents()
        self.customers = sample_customers()
        self.articles = sample_articles()
        self.tickets: list[dict[str, Any]] = [
            ticket for card in self.customers.values() for ticket in card["open_tickets"]
        ]
        self.wallboard = sample_wallboard()
        today = report_today()
        #: daily reports by date; any other valid date has no calls
        self.reports = {today: sample_daily_report(today), OTHER_REPORT_DAY: other_daily_report()}
        #: (status, error) that GET /api/reports/daily answers instead, e.g. (500, "...")
        self.report_failure: tuple[int, str] | None = None
        #: callback tasks by id (GET /api/callbacks)
        self.callbacks: dict[int, dict[str, Any]] = {}
        #: the desk's return visits (GET /api/visits), see sample_visit
        self.visits: list[dict[str, Any]] = []
        self.calls: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        self.live_pops: dict[int, dict[str, Any]] = {}
        self._ticket_numbers = itertools.count(2001)
        self._customer_ids = itertools.count(100)

    # -- what tests use

    def user(self, user_id: int) -> FakeUser:
        return next(user for user in self.users.values() if user.id == user_id)

    def requests_to(self, method: str, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]

    async def push(self, user_id: int, message: dict[str, Any]) -> int:
        """Send to every socket of that user; pops are remembered for reconnections."""
        if message.get("type") == "pop":
            if message.get("event") in ("ringing", "answered"):
                self.live_pops[user_id] = message
            else:
                self.live_pops.pop(user_id, None)
        return await self._send(self.sockets.get(user_id, set()), message)

    async def push_supervisors(self, message: dict[str, Any]) -> int:
        if message.get("type") == "wallboard":
            self.wallboard = message["wallboard"]
        if message.get("type") == "call":
            call = message["call"]
            if message.get("event") == "ended":
                self.calls.pop(call["id"], None)
            else:
                self.calls[call["id"]] = call
        targets = set()
        for user_id, sockets in self.sockets.items():
            if self.user(user_id).role in ("supervisor", "admin"):
                targets |= sockets
        return await self._send(targets, message)

    async def wait_sockets(self, user_id: int, count: int = 1, timeout: float = 10.0) -> None:
        """Until that user has ``count`` open websockets that have had their hello."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.sockets.get(user_id, ())) >= count)

    async def drop_sockets(self, user_id: int) -> None:
        """Close a user's websockets from the server side (the page should reconnect)."""
        for ws in list(self.sockets.get(user_id, ())):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"test drop")

    async def _send(self, sockets: set[web.WebSocketResponse], message: dict[str, Any]) -> int:
        if self.contract is not None:
            self.contract.check_message(message)
        text = json.dumps(message, ensure_ascii=False)
        sent = 0
        for ws in list(sockets):
            if not ws.closed:
                await ws.send_str(text)
                sent += 1
        return sent

    # -- lifecycle

    def app(self) -> web.Application:
        checks = [] if self.contract is None else [self.contract.middleware]
        app = web.Application(middlewares=[*checks, self._middleware])
        app.router.add_post("/login", self.login)
        app.router.add_post("/logout", self.logout)
        app.router.add_get("/api/me", self.me)
        app.router.add_get("/api/meta", self.meta)
        app.router.add_get("/api/agent", self.get_agent)
        app.router.add_get("/api/phone", self.get_phone)
        for action in AGENT_ACTIONS:
            app.router.add_post(f"/api/agent/{action}", self.agent_action)
        app.router.add_get("/api/customers", self.find_customers)
        app.router.add_post("/api/customers", self.create_customer)
        app.router.add_get("/api/customers/{id}", self.get_customer)
        app.router.add_get("/api/customers/{id}/history", self.customer_history)
        app.router.add_post("/api/tickets", self.create_ticket)
        app.router.add_get("/api/tickets", self.list_tickets)
        app.router.add_get("/api/visits", self.list_visits)
        app.router.add_post("/api/visits/{id}/call", self.call_visit)
        app.router.add_post("/api/visits/{id}/result", self.record_visit)
        app.router.add_get("/api/kb", self.search_kb)
        app.router.add_post("/api/kb/{id}/read", self.read_article)
        app.router.add_get("/api/wallboard", self.get_wallboard)
        app.router.add_get("/api/nodes", self.get_nodes)
        app.router.add_get("/api/reports/daily", self.get_daily_report)
        app.router.add_get("/api/callbacks", self.get_callbacks)
        app.router.add_post("/api/callbacks/{id}/cancel", self.cancel_callback)
        app.router.add_get("/ws", self.websocket)
        app.router.add_post("/_fake/push", self.control_push)
        app.router.add_post("/_fake/demo", self.control_demo)
        app.router.add_static("/ui/", SCREENPOP)
        app.on_shutdown.append(self._close_sockets)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.base = f"http://{host}:{bound}"
        return self.base

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _close_sockets(self, _app: web.Application) -> None:
        for sockets in list(self.sockets.values()):
            for ws in list(sockets):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown")

    # -- plumbing

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body and request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"error": "malformed JSON"}, status=400)
        if not request.path.startswith("/ui/"):
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": dict(request.query),
                    "json": body,
                }
            )
        request["json"] = body
        protected = request.path == "/ws" or request.path.startswith("/api/")
        user = self._session_user(request)
        if protected and user is None:
            return web.json_response({"error": "login required"}, status=401)
        request["user"] = user
        response = await handler(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    def _session_user(self, request: web.Request) -> FakeUser | None:
        user_id = self.sessions.get(request.cookies.get(COOKIE, ""))
        return None if user_id is None else self.user(user_id)

    @staticmethod
    def _json(data: Any, status: int = 200) -> web.Response:
        return web.json_response(
            data, status=status, dumps=lambda value: json.dumps(value, ensure_ascii=False)
        )

    def _error(self, status: int, text: str) -> web.Response:
        return self._json({"error": text}, status)

    def _public_agent(self, user_id: int) -> dict[str, Any] | None:
        agent = self.agents.get(user_id)
        if agent is None:
            return None
        return {key: value for key, value in agent.items() if key != "skills"}

    # -- session

    async def login(self, request: web.Request) -> web.Response:
        data = request["json"] or {}
        user = self.users.get(str(data.get("username", "")))
        if user is None or data.get("password") != PASSWORD:
            return self._error(401, "invalid username or password")
        token = secrets.token_urlsafe(16)
        self.sessions[token] = user.id
        response = self._json({"user": user.to_dict()})
        response.set_cookie(COOKIE, token, httponly=True, samesite="Lax")
        return response

    async def logout(self, request: web.Request) -> web.Response:
        self.sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = self._json({"ok": True})
        response.del_cookie(COOKIE)
        return response

    async def me(self, request: web.Request) -> web.Response:
        return self._json({"user": request["user"].to_dict()})

    async def meta(self, request: web.Request) -> web.Response:
        return self._json(meta_body(Settings()))

    # -- agent actions

    async def get_agent(self, request: web.Request) -> web.Response:
        agent = self._public_agent(request["user"].id)
        return self._json({"agent": agent}) if agent else self._error(404, "no agent for this user")

    async def get_phone(self, request: web.Request) -> web.Response:
        """As the real server with no browser phone (webrtc.enabled off): the desk phone stays."""
        if self._public_agent(request["user"].id) is None:
            return self._error(404, "no agent for this user")
        phone = {"enabled": False, "wss_url": "", "endpoint": "", "uri": "", "password": "", "ice_servers": []}
        return self._json({"phone": phone})

    async def agent_action(self, request: web.Request) -> web.Response:
        user_id = request["user"].id
        agent = self.agents.get(user_id)
        if agent is None:
            return self._error(404, "no agent for this user")
        action = request.path.rsplit("/", 1)[1]
        body = request["json"] or {}
        if action == "login":
            agent.update(
                state="ready",
                since=now_iso(),
                reason=None,
                queues=list(body.get("queues") or agent["skills"]),
            )
        elif action == "logout":
            if agent["state"] in ("ringing", "on_call"):
                return self._error(409, "finish the call before logging out")
            agent.update(state="logged_out", since=now_iso(), reason=None, queues=[])
        elif action in ("pause", "ready"):
            if agent["state"] == "logged_out":
                return self._error(409, "log in to your queues first")
            if action == "pause":
                reason = body.get("reason")
                if reason not in PAUSE_REASONS:
                    return self._error(400, f"unknown pause reason {reason!r}")
                agent.update(state="paused", since=now_iso(), reason=reason, paused_by=None)
            else:
                agent.update(state="ready", since=now_iso(), reason=None, paused_by=None)
        elif action == "transfer":
            extension = body.get("extension")
            if not isinstance(extension, str) or not extension:
                return self._error(400, "extension is required")
            if not any(a["extension"] == extension for a in self.agents.values()):
                return self._error(404, f"no agent at extension {extension}")
            if agent["state"] != "on_call":
                return self._error(409, "you have no call to transfer")
        public = self._public_agent(user_id)
        await self.push(user_id, {"type": "agent", "agent": public})
        return self._json({"agent": public})

    # -- customers and tickets

    def _customer(self, request: web.Request) -> dict[str, Any]:
        try:
            card = self.customers.get(int(request.match_info["id"]))
        except ValueError:
            card = None
        if card is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "no such customer"}), content_type="application/json"
            )
        return card

    async def find_customers(self, request: web.Request) -> web.Response:
        wanted = normalise_phone(request.query.get("phone", ""))
        found = [
            card
            for card in self.customers.values()
            if wanted and any(normalise_phone(p["number"]) == wanted for p in card["phones"])
        ]
        return self._json({"customers": found})

    async def get_customer(self, request: web.Request) -> web.Response:
        return self._json({"customer": self._customer(request)})

    async def create_customer(self, request: web.Request) -> web.Response:
        data = request["json"] or {}
        name, phone = str(data.get("name") or "").strip(), str(data.get("phone") or "").strip()
        if not name or not phone:
            return self._error(400, "name and phone are required")
        card = {
            "id": next(self._customer_ids),
            "name": name,
            "level": data.get("level") or "normal",
            "phones": [{"number": phone, "label": None}],
            "address": {key: data.get(key) for key in ("province", "city", "district", "street")}
            | {"detail": data.get("address_detail")},
            "products": [],
            "open_tickets": [],
            "recent_calls": [],
        }
        self.customers[card["id"]] = card
        return self._json({"customer": card}, 201)

    async def customer_history(self, request: web.Request) -> web.Response:
        card = self._customer(request)
        tickets = [t for t in reversed(self.tickets) if t["customer_id"] == card["id"]]
        return self._json({"calls": card["recent_calls"], "tickets": tickets})

    async def create_ticket(self, request: web.Request) -> web.Response:
        data = request["json"] or {}
        if data.get("type") not in TICKET_TYPES:
            return self._error(400, "unknown ticket type")
        if not str(data.get("summary") or "").strip():
            return self._error(400, "summary is required")
        customer_id = data.get("customer_id")
        if customer_id is not None and customer_id not in self.customers:
            return self._error(400, "no such customer")
        number = next(self._ticket_numbers)
        ticket = {
            "id": number,
            "number": f"T-{number}",
            "type": data["type"],
            "status": "dispatched",
            "version": 1,
            "department": DEPARTMENT_BY_TYPE[data["type"]],
            "branch_id": None,
            "engineer_id": None,
            "urgency": data.get("urgency") or "normal",
            "summary": data["summary"],
            "fields": dict(data.get("fields") or {}),
            "customer_id": customer_id,
            "product_id": data.get("product_id"),
            "call_linkedid": data.get("call_id"),
            "source": "agent",
            "created_at": now_iso(),
            "due_at": now_iso(-4 * 3600),
            "escalation_level": 0,
        }
        self.tickets.append(ticket)
        if customer_id is not None:
            self.customers[customer_id]["open_tickets"].insert(0, ticket)
        return self._json({"ticket": ticket}, 201)

    async def list_tickets(self, request: web.Request) -> web.Response:
        tickets = self.tickets
        if "customer_id" in request.query:
            tickets = [t for t in tickets if str(t["customer_id"]) == request.query["customer_id"]]
        if "call_id" in request.query:
            tickets = [t for t in tickets if t["call_linkedid"] == request.query["call_id"]]
        return self._json({"tickets": list(reversed(tickets))})

    async def list_visits(self, request: web.Request) -> web.Response:
        """The return visits of the desk (none unless a test adds some to ``self.visits``)."""
        status = request.query.get("status")
        return self._json({"visits": [v for v in self.visits if not status or v["status"] == status]})

    def _visit(self, request: web.Request) -> dict[str, Any] | None:
        visit_id = int(request.match_info["id"])
        return next((v for v in self.visits if v["id"] == visit_id), None)

    async def call_visit(self, request: web.Request) -> web.Response:
        """Like the real server with a callback interface: the agent's phone rings first."""
        user: FakeUser = request["user"]
        if user.role not in ("agent", "supervisor", "admin"):
            return self._error(403, "not allowed for your role")
        visit = self._visit(request)
        if visit is None:
            return self._error(404, "no such visit")
        if visit["status"] not in ("pending", "calling"):
            return self._error(409, f"visit {visit['id']} is {visit['status']}: it is not called now")
        agent = self.agents.get(user.id)
        if agent is None:
            return self._error(409, "you have no phone to call from")
        visit.update(status="calling", agent=agent["extension"], call_linkedid=f"1764.v{visit['id']}")
        return self._json({"visit": visit})

    async def record_visit(self, request: web.Request) -> web.Response:
        user: FakeUser = request["user"]
        if user.role not in ("agent", "supervisor", "admin"):
            return self._error(403, "not allowed for your role")
        body = request["json"] or {}
        visit = self._visit(request)
        if visit is None:
            return self._error(404, "no such visit")
        score = body.get("score")
        if not isinstance(score, int) or not 1 <= score <= 5:
            return self._error(400, "score: between 1 and 5")
        if visit["status"] in ("done", "cancelled"):
            return self._error(409, f"ticket {visit['ticket_number']} is not waiting for its return visit")
        visit.update(status="done", score=score, remarks=(body.get("remarks") or "").strip() or None,
                     finished_at=now_iso())
        return self._json({"visit": visit})

    # -- knowledge base

    async def search_kb(self, request: web.Request) -> web.Response:
        q = request.query.get("q", "").strip().lower()
        lang = request.query.get("lang")
        found = []
        for article in self.articles:
            if lang and article["language"] != lang:
                continue
            text = " ".join([article["title"], article["body"], *article["tags"]]).lower()
            if q and not all(word in text for word in q.split()):
                continue
            found.append(article)
        found.sort(key=lambda article: -article["reads"])
        return self._json({"articles": found})

    async def read_article(self, request: web.Request) -> web.Response:
        article = next((a for a in self.articles if str(a["id"]) == request.match_info["id"]), None)
        if article is None:
            return self._error(404, "no such article")
        article["reads"] += 1
        return self._json({"article": article})

    # -- supervisor

    async def get_wallboard(self, request: web.Request) -> web.Response:
        if request["user"].role not in ("supervisor", "admin"):
            return self._error(403, "supervisors only")
        return self._json(self.wallboard)

    async def get_nodes(self, request: web.Request) -> web.Response:
        """As the real server on SQLite: this node alone, up."""
        if request["user"].role not in ("supervisor", "admin"):
            return self._error(403, "supervisors only")
        now = datetime.now(UTC).isoformat()
        node = {"name": "fake", "web": "http://127.0.0.1", "agi": "127.0.0.1:4573", "started_at": now,
                "seen_at": now, "up": True}
        return self._json({"this": "fake", "nodes": [node]})

    async def get_daily_report(self, request: web.Request) -> web.Response:
        """Like the real one: ``?date=YYYY-MM-DD``, default today; 400 on a malformed date."""
        if request["user"].role not in ("supervisor", "admin"):
            return self._error(403, "supervisors and admins only")
        if self.report_failure is not None:
            return self._error(*self.report_failure)
        text = request.query.get("date")
        try:
            day = date.fromisoformat(text).isoformat() if text else report_today()
        except ValueError:
            return self._error(400, "date must be YYYY-MM-DD")
        return self._json(self.reports.get(day) or empty_daily_report(day))

    async def get_callbacks(self, request: web.Request) -> web.Response:
        if request["user"].role not in ("supervisor", "admin"):
            return self._error(403, "not allowed for your role")
        status = request.query.get("status")
        found = [c for c in self.callbacks.values() if not status or c["status"] == status]
        found.sort(key=lambda c: c["missed_at"], reverse=True)
        return self._json({"callbacks": found})

    async def cancel_callback(self, request: web.Request) -> web.Response:
        if request["user"].role not in ("supervisor", "admin"):
            return self._error(403, "not allowed for your role")
        task = self.callbacks.get(int(request.match_info["id"]))
        if task is None:
            return self._error(404, "no such callback")
        if task["status"] != "pending":
            return self._error(409, f"the callback is {task['status']}, not pending")
        task.update(status="cancelled", finished_at=datetime.now(UTC).isoformat())
        return self._json({"callback": task})

    # -- websocket

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        user: FakeUser = request["user"]
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        await self._send(
            {ws}, {"type": "hello", "user": user.to_dict(), "agent": self._public_agent(user.id)}
        )
        if user.id in self.live_pops:
            await self._send({ws}, self.live_pops[user.id])
        if user.role in ("supervisor", "admin"):
            await self._send({ws}, {"type": "calls", "calls": list(self.calls.values())})
        async with self._changed:
            self.sockets.setdefault(user.id, set()).add(ws)
            self._changed.notify_all()
        try:
            async for _message in ws:
                pass  # one-way feed
        finally:
            async with self._changed:
                self.sockets.get(user.id, set()).discard(ws)
                self._changed.notify_all()
        return ws

    # -- manual control

    def _user_id(self, value: Any) -> int:
        if isinstance(value, int):
            return value
        return self.users[str(value)].id

    async def control_push(self, request: web.Request) -> web.Response:
        data = request["json"] or {}
        if data.get("supervisors"):
            sent = await self.push_supervisors(data["message"])
        else:
            sent = await self.push(self._user_id(data.get("user", 1)), data["message"])
        return self._json({"sent": sent})

    async def control_demo(self, _request: web.Request) -> web.Response:
        sent = await self.push(1, {"type": "pop", "event": "ringing", "pop": sample_pop()})
        sent += await self.push_supervisors({"type": "wallboard", "wallboard": sample_wallboard()})
        return self._json({"sent": sent})


async def _serve(port: int) -> None:
    fake = FakeDesk(ContractCheck.of_server())
    base = await fake.start(port=port)
    print(
        f"{base}/ui/agent.html  {base}/ui/supervisor.html  users agent1, agent2, super;"
        f" password {PASSWORD!r}",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()


def sample_visit(visit_id: int, **changes: Any) -> dict[str, Any]:
    """A return visit as GET /api/visits lists it."""
    visit: dict[str, Any] = {
        "id": visit_id, "ticket_id": 100 + visit_id, "ticket_number": f"R20261125-{visit_id:04d}",
        "customer_id": None, "customer_name": None, "number": "13800138000", "language": "zh",
        "status": "pending", "attempts": 0, "next_at": "2026-11-25T02:00:00+00:00", "score": None,
        "remarks": None, "call_linkedid": None, "agent": None, "complaint_ticket_id": None,
        "created_at": "2026-11-25T01:00:00+00:00", "finished_at": None,
    }
    visit.update(changes)
    return visit


def sample_callback(task_id: int, **changes: Any) -> dict[str, Any]:
    """A callback task as GET /api/callbacks lists it."""
    task: dict[str, Any] = {
        "id": task_id, "number": "13800138000", "customer_id": None, "call_id": f"1764.{task_id}",
        "queue": "support", "source": "abandoned", "reason": "abandoned",
        "status": "pending", "missed_at": "2026-11-25T02:00:00+00:00", "last_missed_at": None, "misses": 1,
        "wait_seconds": 42.0, "choices": [], "vip": False, "due_at": "2026-11-25T02:00:00+00:00",
        "expires_at": "2026-11-27T02:00:00+00:00", "attempts": 0, "last_attempt_at": None, "outcome": None,
        "agent": None, "finished_at": None,
    }
    task.update(changes)
    return task
