"""The IVR flow interpreter: walks a validated flow (ivr_flows/README.md) over one call.

The engine only talks to a CallChannel (the phone call), a PromptSource (text and
``file:`` prompts to sound names) and FlowServices (customers, tickets, callbacks,
voicemail, surveys), so the same walk serves live calls, tests and dry runs.

A run ends with a FlowOutcome (queue, transfer or hang up), or without one when
the caller hangs up or the engine itself fails; in the latter case the dialplan's
defaults (the default queue) apply, so a caller still reaches a human. A service
that fails (database down) is logged and the call goes on as if it had found
nothing: a broken ticket system must not drop a caller.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ctiserver.agi.session import AgiHangup
from ctiserver.ivr import hours
from ctiserver.ivr.channel import CallChannel, CallerHungUp
from ctiserver.ivr.conditions import evaluate, text

if TYPE_CHECKING:
    from ctiserver.ivr.loader import Flow

log = logging.getLogger(__name__)

#: channel variables the dialplan reads once the IVR returns (dialplans/extensions.conf.j2)
ACTION_VAR = "CTI_ACTION"
QUEUE_VAR = "CTI_QUEUE"
PRIORITY_VAR = "QUEUE_PRIO"
QUEUE_TIMEOUT_VAR = "CTI_QUEUE_TIMEOUT"
AFTER_VAR = "CTI_AFTER"
OVERFLOW_VAR = "CTI_OVERFLOW"
TRANSFER_VAR = "CTI_TRANSFER"
TICKET_VAR = "CTI_TICKET"

KINDS = frozenset({
    "play", "menu", "input", "hours", "lookup", "branch", "set", "ticket", "queue",
    "callback", "voicemail", "transfer", "survey", "language", "goto", "hangup",
})
CUSTOMER_VARS = ("customer_id", "customer_name", "customer_level", "customer_region")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_PHONE = re.compile(r"1[3-9][0-9]{9}|0(?:10|2[0-9]|[3-9][0-9]{2})[2-9][0-9]{6,7}")
_VALIDATORS = {
    "phone": _PHONE,
    "order_number": re.compile(r"[0-9]{8,20}"),
    "digits": re.compile(r"[0-9]+"),
}


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class CustomerMatch:
    id: int
    name: str
    level: str
    region: str | None = None


@dataclass(frozen=True)
class TicketRequest:
    type: str
    summary: str
    fields: dict[str, str]
    caller_number: str | None
    customer_id: int | None
    call_id: str
    #: ids of the nodes the call went through, this ticket node last
    flow_path: list[str]


@dataclass(frozen=True)
class CallbackRequest:
    number: str
    customer_id: int | None
    call_id: str
    reason: str


@dataclass(frozen=True)
class VoicemailRequest:
    #: host path of the recorded file, with its ``.wav`` extension
    path: str
    caller_number: str | None
    customer_id: int | None
    call_id: str


class FlowServices(Protocol):
    async def lookup_customer(self, number: str) -> CustomerMatch | None: ...

    async def open_ticket(self, request: TicketRequest) -> str: ...

    async def request_callback(self, request: CallbackRequest) -> str: ...

    async def save_voicemail(self, request: VoicemailRequest) -> str: ...

    async def record_survey(self, call_id: str, score: int) -> None: ...

    def voicemail_path(self, call_id: str) -> tuple[str, str]:
        """(host path, Asterisk path) of a new recording, both without extension."""

    def agents_available(self, queue: str) -> bool:
        """Whether an agent of ``queue`` can take a call now (logged in and not paused)."""


class PromptSource(Protocol):
    async def sound_for(self, text: str, language: str) -> str: ...

    def file_sound(self, name: str) -> str: ...


@dataclass(frozen=True)
class Event:
    """One thing that happened inside a step, in order.

    kinds: ``say`` (detail: the text, tag: its language), ``file`` (detail: the
    sound name), ``keys`` (detail: keys pressed, tag: ``ok``/``invalid``/``timeout``),
    ``ticket`` (detail: summary, tag: type), ``callback`` (detail: number),
    ``voicemail`` (detail: host path), ``survey`` (detail: score), ``hours`` (detail:
    the local time checked), ``lookup`` (detail: number, tag: the customer's name
    or None), ``error``.
    """

    kind: str
    detail: str
    tag: str | None = None


@dataclass
class Step:
    node: str
    kind: str
    #: seconds since the run started
    at: float
    digits: str | None = None
    #: e.g. selected/failed (menu), valid (input), open/closed, found/vip/not_found, the queue
    result: str | None = None
    #: the node the flow went on to, None when the step ended the flow
    next: str | None = None
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class FlowOutcome:
    action: Literal["queue", "transfer", "hangup"]
    queue: str | None = None
    priority: int = 0
    timeout: int = 0
    after: str | None = None
    transfer_to: str | None = None
    #: after ``timeout`` seconds unanswered the caller moves to this queue
    overflow_queue: str | None = None


@dataclass
class FlowRun:
    flow_name: str
    flow_version: str
    variables: dict[str, str]
    path: list[Step]
    outcome: FlowOutcome | None
    ended_by_hangup: bool
    started_at: datetime | None = None
    #: why the engine gave up (loop guard, internal error), None when it did not
    error: str | None = None

    @property
    def node_ids(self) -> list[str]:
        return [step.node for step in self.path]


class FlowEngine:
    def __init__(
        self,
        services: FlowServices,
        prompts: PromptSource,
        clock: Callable[[], datetime] = now_utc,
        max_steps: int = 200,
    ) -> None:
        self.services = services
        self.prompts = prompts
        self.clock = clock
        self.max_steps = max_steps

    async def run(
        self,
        flow: Flow,
        channel: CallChannel,
        *,
        call_id: str,
        caller_number: str | None,
        caller_name: str | None,
        start_at: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> FlowRun:
        """Walk ``flow`` from its start (or ``start_at``, for ``after:`` continuations).

        ``variables`` seeds the call's variables, e.g. those of the first run when
        continuing after the agent hung up.
        """
        values = {
            "caller_number": caller_number or "",
            "caller_name": caller_name or "",
            "language": flow.language,
            **{name: "" for name in CUSTOMER_VARS},
            "last_digits": "",
            "ticket_id": "",
            "queue": "",
            "queue_priority": "",
        }
        values.update(variables or {})
        run = FlowRun(flow.name, flow.version, values, [], None, False, self.clock())
        walk = _Walk(self, flow, channel, run, call_id)
        try:
            await walk.walk(start_at or flow.start)
        except (CallerHungUp, AgiHangup) as exc:
            run.ended_by_hangup = True
            log.info("call %s: caller hung up in %s: %s", call_id, walk.where, exc)
        except Exception as exc:
            run.error = f"{type(exc).__name__} in {walk.where}: {exc}"
            log.exception("call %s: flow %s failed in %s", call_id, flow.name, walk.where)
        return run


class _Walk:
    """One run of one flow over one call: the node handlers and their shared state."""

    def __init__(
        self, engine: FlowEngine, flow: Flow, channel: CallChannel, run: FlowRun, call_id: str
    ) -> None:
        self.engine = engine
        self.services = engine.services
        self.flow = flow
        self.channel = channel
        self.run = run
        self.vars = run.variables
        self.call_id = call_id
        self.step: Step | None = None
        self._t0 = time.monotonic()

    @property
    def where(self) -> str:
        return f"node {self.step.node!r}" if self.step else "the start"

    async def walk(self, node_id: str) -> None:
        while True:
            if len(self.run.path) >= self.engine.max_steps:
                self.run.error = f"more than {self.engine.max_steps} steps (a loop?) at node {node_id!r}"
                log.error("call %s: flow %s: %s; hanging up", self.call_id, self.flow.name, self.run.error)
                await self._finish(FlowOutcome("hangup"))
                return
            node = self.flow.nodes[node_id]
            kind = str(node["kind"])
            self.step = Step(node_id, kind, round(time.monotonic() - self._t0, 3))
            self.run.path.append(self.step)
            if kind not in KINDS:
                raise ValueError(f"unknown node kind {kind!r}")
            result = await getattr(self, f"_{kind}")(node)
            if isinstance(result, FlowOutcome):
                await self._finish(result)
                return
            if not result:
                log.warning("call %s: node %r leads nowhere; hanging up", self.call_id, node_id)
                await self._finish(FlowOutcome("hangup"))
                return
            self.step.next = node_id = str(result)

    async def _finish(self, outcome: FlowOutcome) -> None:
        """Record the outcome, then hand it to the dialplan through channel variables."""
        self.run.outcome = outcome
        await self.channel.set_variable(ACTION_VAR, outcome.action)
        if outcome.action == "queue":
            await self.channel.set_variable(QUEUE_VAR, outcome.queue or "")
            await self.channel.set_variable(PRIORITY_VAR, str(outcome.priority))
            await self.channel.set_variable(QUEUE_TIMEOUT_VAR, str(outcome.timeout or ""))
            if outcome.overflow_queue:
                await self.channel.set_variable(OVERFLOW_VAR, outcome.overflow_queue)
            if outcome.after:
                await self.channel.set_variable(AFTER_VAR, outcome.after)
        elif outcome.action == "transfer":
            await self.channel.set_variable(TRANSFER_VAR, outcome.transfer_to or "")
        else:
            await self.channel.hangup()

    # -- node kinds --------------------------------------------------------

    async def _play(self, node: Mapping[str, Any]) -> str:
        await self._say(node.get("prompt"))
        return node.get("next")

    async def _menu(self, node: Mapping[str, Any]) -> str:
        options = {text(k): str(v) for k, v in node["options"].items()}
        for _ in range(_attempts(node, 3)):
            keys = await self._ask(node.get("prompt"), node, max_digits=1)
            self.vars["last_digits"] = keys
            if keys in options:
                self._keys(keys, "ok")
                self.step.result = "selected"
                return options[keys]
            self._keys(keys, "invalid" if keys else "timeout")
            await self._say(node.get("invalid_prompt" if keys else "timeout_prompt"))
        self.step.result = "failed"
        return node["on_fail"]

    async def _input(self, node: Mapping[str, Any]) -> str:
        low, high = int(node.get("min_digits", 1)), int(node.get("max_digits", 20))
        terminator = text(node.get("terminator", "#"))
        for _ in range(_attempts(node, 3)):
            keys = await self._ask(node.get("prompt"), node, max_digits=high, terminator=terminator)
            self.vars["last_digits"] = keys
            if keys and low <= len(keys) <= high and _valid(node.get("validate"), keys):
                self._keys(keys, "ok")
                self.vars[str(node["var"])] = keys
                self.step.result = "valid"
                return node["next"]
            self._keys(keys, "invalid" if keys else "timeout")
            await self._say(node.get("invalid_prompt"))
        self.step.result = "failed"
        return node["on_fail"]

    async def _hours(self, node: Mapping[str, Any]) -> str:
        at = self.engine.clock()
        local = hours.local_time(node, at)
        self.step.events.append(Event("hours", f"{local:%a %Y-%m-%d %H:%M} {node.get('timezone', 'UTC')}"))
        is_open = hours.is_open(node, at)
        self.step.result = "open" if is_open else "closed"
        return node["when_open"] if is_open else node["when_closed"]

    async def _lookup(self, node: Mapping[str, Any]) -> str:
        if node.get("by", "caller_id") == "digits":
            number = self.vars.get(str(node["var"]), "")
        else:
            number = self.vars.get("caller_number", "")
        self.step.digits = number or None
        match = None
        if number:
            try:
                match = await self.services.lookup_customer(number)
            except Exception as exc:
                self._error(f"customer lookup failed: {exc}")
        self.step.events.append(Event("lookup", number, match.name if match else None))
        if match is None:
            self.vars.update({name: "" for name in CUSTOMER_VARS})
            self.step.result = self.step.result or "not_found"
            return node["not_found"]
        self.vars.update(
            customer_id=str(match.id),
            customer_name=match.name or "",
            customer_level=match.level or "",
            customer_region=match.region or "",
        )
        if match.level == "vip":
            self.step.result = "vip"
            return node.get("vip") or node["found"]
        self.step.result = "found"
        return node["found"]

    async def _branch(self, node: Mapping[str, Any]) -> str:
        for number, case in enumerate(node.get("cases") or (), 1):
            if evaluate(case["when"], self.vars):
                self.step.result = f"case {number}"
                return case["goto"]
        self.step.result = "else"
        return node.get("else")

    async def _set(self, node: Mapping[str, Any]) -> str:
        for name, value in (node.get("vars") or {}).items():
            self.vars[str(name)] = self._fill(text(value))
        return node.get("next")

    async def _ticket(self, node: Mapping[str, Any]) -> str:
        kind = str(node["type"])
        summary = self._fill(text(node.get("summary", "")))
        request = TicketRequest(
            type=kind,
            summary=summary,
            fields={str(k): self._fill(text(v)) for k, v in (node.get("fields") or {}).items()},
            caller_number=self.vars.get("caller_number") or None,
            customer_id=self._customer_id(),
            call_id=self.call_id,
            flow_path=self.run.node_ids,
        )
        self.step.events.append(Event("ticket", summary, kind))
        try:
            ticket_id = str(await self.services.open_ticket(request))
        except Exception as exc:
            self._error(f"could not open a {kind} ticket: {exc}")
            return node["next"]
        self.vars["ticket_id"] = ticket_id
        self.step.result = ticket_id
        await self.channel.set_variable(TICKET_VAR, ticket_id)
        return node["next"]

    async def _queue(self, node: Mapping[str, Any]) -> FlowOutcome | str:
        if node.get("queue"):
            name = str(node["queue"])
        else:
            rule = node["queue_by"]
            value = self.vars.get(str(rule["var"]), "")
            mapping = {text(k): str(v) for k, v in (rule.get("map") or {}).items()}
            name = mapping.get(value) or str(rule["default"])
        if node.get("no_agents") and not self.engine.services.agents_available(name):
            self.step.result = "no agents"
            return str(node["no_agents"])
        priority = int(node.get("priority") or 0)
        vip_priority = node.get("vip_priority")
        if self.vars.get("customer_level") == "vip" and vip_priority is not None:
            priority = int(vip_priority)
        self.vars["queue"] = name
        self.vars["queue_priority"] = str(priority)
        self.step.result = name
        return FlowOutcome(
            "queue",
            queue=name,
            priority=priority,
            timeout=int(node.get("overflow_after") or node.get("timeout") or 0),
            after=node.get("after") or None,
            overflow_queue=node.get("overflow_queue") or None,
        )

    async def _callback(self, node: Mapping[str, Any]) -> str:
        spec = node.get("number", "caller_id")
        if isinstance(spec, Mapping):
            number = self.vars.get(str(spec["var"]), "")
        else:
            number = self.vars.get("caller_number", "")
        if not number:
            self._error("no number to call back")
            return node["next"]
        self.step.events.append(Event("callback", number))
        reason = self._fill(text(node.get("reason") or f"IVR {self.flow.name}: {self.step.node}"))
        request = CallbackRequest(number, self._customer_id(), self.call_id, reason)
        try:
            await self.services.request_callback(request)
        except Exception as exc:
            self._error(f"could not record the callback: {exc}")
            return node["next"]
        self.step.result = "requested"
        await self._say(node.get("prompt"))
        return node["next"]

    async def _voicemail(self, node: Mapping[str, Any]) -> str:
        await self._say(node.get("prompt"))
        host_path, asterisk_path = self.services.voicemail_path(self.call_id)
        if not await self.channel.record(asterisk_path, int(node.get("max_seconds", 120))):
            self.step.result = "not_recorded"
            return node["next"]
        path = f"{host_path}.wav"
        self.step.events.append(Event("voicemail", path))
        request = VoicemailRequest(
            path, self.vars.get("caller_number") or None, self._customer_id(), self.call_id
        )
        try:
            await self.services.save_voicemail(request)
        except Exception as exc:
            self._error(f"could not save the voicemail {path}: {exc}")
            return node["next"]
        self.step.result = "recorded"
        return node["next"]

    async def _transfer(self, node: Mapping[str, Any]) -> FlowOutcome:
        destination = text(node["to"])
        self.step.result = destination
        return FlowOutcome("transfer", transfer_to=destination)

    async def _survey(self, node: Mapping[str, Any]) -> str:
        var = str(node.get("var") or "survey_score")
        for _ in range(_attempts(node, 2)):
            keys = await self._ask(node.get("prompt"), node, max_digits=1)
            if keys in ("1", "2", "3", "4", "5"):
                self._keys(keys, "ok")
                self.vars[var] = keys
                self.step.events.append(Event("survey", keys))
                self.step.result = "scored"
                try:
                    await self.services.record_survey(self.call_id, int(keys))
                except Exception as exc:
                    self._error(f"could not record the survey score: {exc}")
                await self._say(node.get("thanks"))
                return node.get("next")
            self._keys(keys, "invalid" if keys else "timeout")
        self.step.result = "no_score"
        return node.get("next")

    async def _language(self, node: Mapping[str, Any]) -> str:
        options = {text(k): str(v) for k, v in node["options"].items()}
        keys = await self._ask(node.get("prompt"), node, max_digits=1)
        if keys in options:
            self._keys(keys, "ok")
            language = options[keys]
        else:
            self._keys(keys, "invalid" if keys else "timeout")
            language = str(node.get("default") or self.vars.get("language") or self.flow.language)
        self.vars["language"] = language
        self.step.result = language
        return node["next"]

    async def _goto(self, node: Mapping[str, Any]) -> str:
        return node["target"]

    async def _hangup(self, node: Mapping[str, Any]) -> FlowOutcome:
        await self._say(node.get("prompt"))
        return FlowOutcome("hangup")

    # -- helpers -----------------------------------------------------------

    async def _ask(
        self, prompt: Any, node: Mapping[str, Any], *, max_digits: int, terminator: str = ""
    ) -> str:
        sound = await self._sound(prompt)
        keys = await self.channel.play_and_read(
            sound,
            timeout=float(node.get("timeout", 5)),
            max_digits=max_digits,
            terminator=terminator,
        )
        self.step.digits = keys
        return keys

    async def _say(self, prompt: Any) -> None:
        sound = await self._sound(prompt)
        if sound is not None:
            await self.channel.play(sound)

    async def _sound(self, prompt: Any) -> str | None:
        """The sound of a prompt; None (and a logged error) if it cannot be made.

        A caller who misses one prompt can still press keys or reach a queue,
        which beats dropping the call because the synthesiser failed.
        """
        if prompt is None or prompt == "" or prompt == {}:
            return None
        try:
            if isinstance(prompt, Mapping) and "file" in prompt:
                name = str(prompt["file"])
                self.step.events.append(Event("file", name))
                return self.engine.prompts.file_sound(name)
            language, words = self._pick(prompt)
            words = self._fill(words)
            self.step.events.append(Event("say", words, language))
            return await self.engine.prompts.sound_for(words, language)
        except Exception as exc:
            self._error(f"prompt {prompt!r} has no sound: {exc}")
            return None

    def _pick(self, prompt: Any) -> tuple[str, str]:
        """(language, text) of a prompt in the call's language, else the flow's, else any."""
        language = self.vars.get("language") or self.flow.language
        if not isinstance(prompt, Mapping):
            return language, text(prompt)
        for candidate in (language, self.flow.language):
            if prompt.get(candidate) not in (None, ""):
                return candidate, text(prompt[candidate])
        candidate, words = next(iter(prompt.items()))
        return str(candidate), text(words)

    def _fill(self, template: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.vars.get(m.group(1), "") or "", template)

    def _keys(self, keys: str, verdict: str) -> None:
        self.step.events.append(Event("keys", keys, verdict))

    def _error(self, message: str) -> None:
        log.error("call %s: flow %s, %s: %s", self.call_id, self.flow.name, self.where, message)
        self.step.events.append(Event("error", message))
        self.step.result = "error"

    def _customer_id(self) -> int | None:
        value = self.vars.get("customer_id", "")
        return int(value) if value.isdigit() else None


def _attempts(node: Mapping[str, Any], default: int) -> int:
    return max(1, int(node.get("retries", default)))


def _valid(rule: Any, keys: str) -> bool:
    if rule is None or rule == "":
        return _VALIDATORS["digits"].fullmatch(keys) is not None
    if isinstance(rule, Mapping):
        return re.fullmatch(str(rule["pattern"]), keys) is not None
    return _VALIDATORS[str(rule)].fullmatch(keys) is not None
