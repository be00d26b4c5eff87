"""The FlowEngine: runs a flow over one call, node after node, until an outcome, the
caller's hangup or a failure of the engine itself (see the package docstring)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ctiserver.calendar import DayRules
from ctiserver.ivr.channel import CallChannel, CallerHungUp
from ctiserver.ivr.engine.backoffice import BackOfficeNodes
from ctiserver.ivr.engine.handoff import HandoffNodes
from ctiserver.ivr.engine.keypad import KeypadNodes
from ctiserver.ivr.engine.progress import ProgressNodes
from ctiserver.ivr.engine.routing import RoutingNodes
from ctiserver.ivr.engine.run import FlowOutcome, FlowRun, Step
from ctiserver.ivr.engine.services import FlowServices, PromptSource
from ctiserver.ivr.engine.walk import CUSTOMER_VARS
from ctiserver.telephony.agi.session import AgiHangup

#: the variables every call has (a flow adds its own); the pages give each a label (i18n.js ``var.*``)
BUILT_IN_VARIABLES = (
    "caller_number", "caller_name", "language", *CUSTOMER_VARS, "last_digits", "ticket_id", "ticket_number",
    "queue", "queue_priority",
)


if TYPE_CHECKING:
    from ctiserver.ivr.loader import Flow

log = logging.getLogger(__name__)

KINDS = frozenset({
    "play", "menu", "input", "hours", "lookup", "branch", "set", "ticket", "queue",
    "callback", "voicemail", "transfer", "survey", "language", "goto", "hangup", "progress",
})


#: ``hours`` of the engine: the flow's own opening hours, or open at any hour (the lab)
HOURS_MODES = ("flow", "open")


def now_utc() -> datetime:
    return datetime.now(UTC)


class FlowEngine:
    def __init__(
        self,
        services: FlowServices,
        prompts: PromptSource,
        clock: Callable[[], datetime] = now_utc,
        max_steps: int = 200,
        hours: str = "flow",
        days: DayRules | None = None,
    ) -> None:
        """``days``: the business calendar's dates ``hours`` nodes follow (official holidays
        and make-up working days, the operator's); None: only each node's own."""
        if hours not in HOURS_MODES:
            raise ValueError(f"hours must be one of {', '.join(HOURS_MODES)}, not {hours!r}")
        self.services = services
        self.prompts = prompts
        self.clock = clock
        self.max_steps = max_steps
        #: "flow": hours nodes follow the flow's opening hours; "open": always open (the lab)
        self.hours = hours
        self.days = days if days is not None else DayRules()

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
            **dict.fromkeys(BUILT_IN_VARIABLES, ""),
            "caller_number": caller_number or "",
            "caller_name": caller_name or "",
            "language": flow.language,
        }
        values.update(variables or {})
        run = FlowRun(flow.name, flow.version, values, [], None, False, self.clock())
        walk = _FlowWalk(self, flow, channel, run, call_id)
        try:
            await walk.walk(start_at or flow.start)
        except (CallerHungUp, AgiHangup) as exc:
            run.ended_by_hangup = True
            log.info("call %s: caller hung up in %s: %s", call_id, walk.where, exc)
        except Exception as exc:
            run.error = f"{type(exc).__name__} in {walk.where}: {exc}"
            log.exception("call %s: flow %s failed in %s", call_id, flow.name, walk.where)
        return run


class _FlowWalk(KeypadNodes, RoutingNodes, BackOfficeNodes, ProgressNodes, HandoffNodes):
    """One run of one flow over one call: the loop from node to node, each node going
    to the handler of its kind (``_menu`` for ``menu``...)."""

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
