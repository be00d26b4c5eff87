"""Walk a flow without a phone: scripted key presses in, a readable account out.

``ctiserver flows simulate FLOW --caller N --dtmf 1,2`` prints the lines of
``dry_run``: every node, the prompt text it would say, the keys pressed, the
branch taken and the outcome. Nothing is written anywhere: DryRunServices
finds only the customers it is given and says what it would have done.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ctiserver.calendar import DayRules
from ctiserver.ivr.channel import ScriptedChannel
from ctiserver.ivr.engine.run import Event, FlowRun, Step
from ctiserver.ivr.engine.runner import FlowEngine, now_utc
from ctiserver.ivr.engine.services import (
    AppointmentAnswer,
    CallbackRequest,
    CustomerMatch,
    FlowServices,
    TicketProgress,
    TicketRequest,
    VoicemailRequest,
)

if TYPE_CHECKING:
    from ctiserver.ivr.loader import Flow

DRY_CALL_ID = "dry-run"


class DryRunServices:
    """FlowServices that change nothing; ``actions`` lists what they would have done."""

    def __init__(
        self, customers: Mapping[str, CustomerMatch] | None = None,
        tickets: Mapping[int, Sequence[TicketProgress]] | None = None,
    ) -> None:
        """``tickets``: customer id -> their open tickets (the ``progress`` node reads them)."""
        self.customers = dict(customers or {})
        self.tickets = {customer: list(found) for customer, found in (tickets or {}).items()}
        self.actions: list[str] = []
        self._ids = itertools.count(1)

    async def lookup_customer(self, number: str) -> CustomerMatch | None:
        return self.customers.get(number)

    async def open_ticket(self, request: TicketRequest) -> str:
        self.actions.append(f"would open {request.type} ticket: {request.summary}")
        return f"DRY-{next(self._ids)}"

    async def request_callback(self, request: CallbackRequest) -> str:
        self.actions.append(f"would request a callback to {request.number}")
        return f"DRY-{next(self._ids)}"

    async def save_voicemail(self, request: VoicemailRequest) -> str:
        self.actions.append(f"would save voicemail {request.path}")
        return f"DRY-{next(self._ids)}"

    async def record_survey(self, call_id: str, score: int) -> None:
        self.actions.append(f"would record survey score {score}")

    async def ticket_progress(
        self, *, customer_id: int | None, keyed: str | None, caller_number: str | None = None,
    ) -> list[TicketProgress]:
        if keyed is not None:
            digits = "".join(c for c in keyed if c.isdigit())
            return [t for owner, found in self.tickets.items() for t in found if owner == customer_id
                    and "".join(c for c in t.number if c.isdigit()) == digits]
        return list(self.tickets.get(customer_id, ())) if customer_id is not None else []

    async def answer_appointment(self, answer: AppointmentAnswer) -> None:
        self.actions.append(f"would record {answer.answer} on ticket {answer.ticket_number}")

    def agents_available(self, queue: str) -> bool:
        return True

    def voicemail_path(self, call_id: str) -> tuple[str, str]:
        return (f"voicemail/{call_id}", f"voicemail/{call_id}")


class TextPrompts:
    """A PromptSource whose sounds are the prompts themselves: nothing is synthesised."""

    async def sound_for(self, text: str, language: str) -> str:
        return f"tts:{language}:{text}"

    def file_sound(self, name: str) -> str:
        return name


async def dry_run(
    flow: Flow,
    presses: Sequence[str],
    *,
    caller_number: str | None,
    caller_name: str | None = None,
    services: FlowServices | None = None,
    clock: Callable[[], datetime] | None = None,
    start_at: str | None = None,
    days: DayRules | None = None,
) -> tuple[FlowRun, list[str]]:
    """Run ``flow`` with ``presses`` (``""`` = pressed nothing); the caller hangs up
    when the engine wants more input than the script has. ``days``: the business
    calendar's dates the ``hours`` nodes follow (None: only their own)."""
    services = services if services is not None else DryRunServices()
    engine = FlowEngine(services, TextPrompts(), clock=clock or now_utc, days=days)
    channel = ScriptedChannel(presses)
    run = await engine.run(
        flow,
        channel,
        call_id=DRY_CALL_ID,
        caller_number=caller_number,
        caller_name=caller_name,
        start_at=start_at,
    )
    lines = format_run(run, dry=isinstance(services, DryRunServices))
    if channel.remaining:
        lines.append("unused key presses: " + ", ".join(repr(p) for p in channel.remaining))
    return run, lines


def format_run(run: FlowRun, *, dry: bool = True) -> list[str]:
    caller = run.variables.get("caller_number") or "unknown"
    lines = [f"flow {run.flow_name} (version {run.flow_version}), caller {caller}"]
    for number, step in enumerate(run.path, 1):
        lines.append(f"{number:>3}. {step.node} [{step.kind}]")
        lines.extend(f"       {_event(event, dry)}" for event in step.events)
        lines.append(f"       {_after(step)}")
    lines.append(_outcome(run))
    if run.error:
        lines.append(f"error: {run.error}")
    known = {k: v for k, v in run.variables.items() if v}
    lines.append("variables: " + ", ".join(f"{k}={v}" for k, v in sorted(known.items())))
    return lines


def _event(event: Event, dry: bool) -> str:
    would = "would " if dry else ""
    match event.kind:
        case "say":
            return f"says ({event.tag}): {event.detail}"
        case "file":
            return f"plays file {event.detail}"
        case "keys" if event.tag == "timeout":
            return "pressed nothing (timeout)"
        case "keys" if event.tag == "ok":
            return f"pressed {event.detail}"
        case "keys":
            return f"pressed {event.detail}: {event.tag}"
        case "ticket":
            return f"{would}open {event.tag} ticket: {event.detail}"
        case "callback":
            return f"{would}request a callback to {event.detail}"
        case "voicemail":
            return f"{would}save voicemail {event.detail}"
        case "survey":
            return f"{would}record survey score {event.detail}"
        case "hours":
            return f"local time {event.detail}"
        case "lookup":
            return f"looks up {event.detail or 'no number'}: {event.tag or 'nobody'}"
        case "progress":
            return f"reads out ticket {event.detail} ({event.tag})"
        case "answer":
            return f"{would}record {event.tag} on ticket {event.detail}"
        case "error":
            return f"error: {event.detail}"
    return f"{event.kind}: {event.detail}"


def _after(step: Step) -> str:
    result = f" ({step.result})" if step.result else ""
    if step.next is not None:
        return f"-> {step.next}{result}"
    return f"-> end{result}"


def _outcome(run: FlowRun) -> str:
    if run.ended_by_hangup:
        return "caller hung up"
    outcome = run.outcome
    if outcome is None:
        return "outcome: none (the dialplan's default queue takes the call)"
    if outcome.action == "queue":
        extras = [f"priority {outcome.priority}"]
        if outcome.timeout:
            extras.append(f"timeout {outcome.timeout} s")
        if outcome.after:
            extras.append(f"then {outcome.after}")
        return f"outcome: queue {outcome.queue} ({', '.join(extras)})"
    if outcome.action == "transfer":
        return f"outcome: transfer to {outcome.transfer_to}"
    return "outcome: hang up"
