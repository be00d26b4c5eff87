"""Issue 12 acceptance, end to end on real Asterisk: a repair ticket opened by a real IVR call
is dispatched to the branch of the caller's region, scheduled, worked, completed, and closed
with the score a real return-visit call's DTMF gave; an out-of-order transition is refused
with 409. One lab for the module's one test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ctiserver.dispatch.store import DispatchRepository
from ctiserver.lab.caller import IvrCaller, set_global
from ctiserver.lab.runner import Lab
from ctiserver.tickets.store import TicketRepository
from ctiserver.visits.store import VisitRepository
from tests.conftest import REPO
from tests.integration.conftest import LabFactory, WebClient, eventually, lab_settings

pytestmark = pytest.mark.integration

HOTLINE = (REPO / "ivr_flows" / "hotline.yaml").read_text(encoding="utf-8")
SURVEY = (REPO / "ivr_flows" / "visit_survey.yaml").read_text(encoding="utf-8")
CALLER = "13912345678"  # 李娜 of 上海市 in the demo data


async def _post(web: WebClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with web.session.post(web.base + path, json=body) as response:
        return response.status, await response.json()


async def test_a_repair_ticket_from_an_ivr_call_is_closed_by_the_return_visit_score(
    make_lab: LabFactory, tmp_path: Path,
) -> None:
    settings = lab_settings(tmp_path, flow=HOTLINE, visits={"auto_call": True, "interval": 0.3})
    (Path(settings.ivr.flows_dir) / "visit_survey.yaml").write_text(SURVEY, encoding="utf-8")
    lab: Lab = await make_lab(settings)
    assert lab.server is not None
    db = lab.server.db
    # the lab's demo dispatch (ctiserver.lab.demo_dispatch): repairs by province, Beijing's and
    # Shanghai's to their own branch
    branches = {branch.name: branch for branch in await DispatchRepository(db).branches()}
    shanghai = branches["上海分公司"]
    assert branches["北京分公司"].id != shanghai.id
    await set_global(lab, "LAB_ANSWER_DELAY", "60")  # the caller waits in the queue; no agent takes it

    # a real caller opens a repair ticket with real DTMF: 中文, repair, washing machine
    caller = await IvrCaller.dial(lab, CALLER, "李娜")
    await caller.press("1")
    await caller.press("1")
    await caller.press("2")
    await caller.queue_entry("repair")
    await caller.hang_up()
    tickets = TicketRepository(db)
    (ticket,) = await eventually(lambda: tickets.list_for_call(caller.call_id), 15, "the IVR's ticket")
    assert (ticket.type, ticket.status, ticket.department) == ("repair", "dispatched", "repair")
    assert ticket.branch_id == shanghai.id, "dispatched to the branch of the caller's region"

    web = WebClient(lab)
    try:
        assert (await web.login("supervisor", lab.settings.lab.demo_password)).status == 200
        one = f"/api/tickets/{ticket.id}"
        start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)
        end = start + dt.timedelta(hours=2)
        window = {"start": start.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(), "end": end.isoformat()}
        status, body = await _post(web, one + "/schedule", {**window, "version": ticket.version})
        assert status == 200 and body["ticket"]["status"] == "scheduled", body
        scheduled = await tickets.get(ticket.id)
        assert scheduled is not None and (scheduled.appointment_start, scheduled.appointment_end) == (start, end)
        status, body = await _post(web, one + "/status", {"status": "completed"})
        assert status == 409, "scheduled -> completed skips the work: refused"
        status, body = await _post(web, one + "/status", {"status": "in_progress"})
        assert status == 200 and body["ticket"]["status"] == "in_progress", body
        stale = body["ticket"]["version"] - 1
        status, _ = await _post(web, one + "/status", {"status": "completed", "version": stale})
        assert status == 409, "a stale version is refused"
        status, body = await _post(web, one + "/status", {"status": "completed"})
        assert status == 200 and body["ticket"]["status"] == "completed", body

        # the return visit: the automatic call to the customer's phone, who presses 5
        visits = VisitRepository(db)

        async def calling() -> Any:
            found = await visits.search(ticket_id=ticket.id)
            return found[0] if found and found[0].call_linkedid else None

        visit = await eventually(calling, 20, "the return visit's call")
        assert visit.number == CALLER
        customer = IvrCaller(lab, str(visit.call_linkedid))
        await customer.press("5")

        async def closed() -> Any:
            found = await tickets.get(ticket.id)
            return found if found is not None and found.status == "closed" else None

        await eventually(closed, 30, "the ticket to be closed by the score")
        done = await visits.get(visit.id)
        assert done is not None and (done.status, done.score) == ("done", 5)
        history = await tickets.events(ticket.id)
        kinds = [e.kind for e in history]
        assert kinds[:2] == ["created", "dispatched"]
        assert [k for k in kinds if k not in ("note", "fields")][2:] == [
            "scheduled", "started", "completed", "return_visit", "closed",
        ]
        assert history[-1].payload["score"] == 5 and history[-1].payload["call_linkedid"] == visit.call_linkedid
        listed = await web.get_json("/api/visits?status=done")
        assert [v["id"] for v in listed["visits"]] == [visit.id]
        detail = await web.get_json(one)
        assert detail["ticket"]["status"] == "closed"
        assert [(v["id"], v["score"], v["status"]) for v in detail["ticket"]["visits"]] == [(visit.id, 5, "done")]
        status, _ = await _post(web, one + "/status", {"status": "in_progress"})
        assert status == 409, "a closed ticket is final"
    finally:
        await web.close()
