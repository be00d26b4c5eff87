"""How a run hands the call back to the dialplan: the queue, transfer and hangup
nodes end it with a FlowOutcome, which goes to the dialplan as channel variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ctiserver.ivr.conditions import text
from ctiserver.ivr.engine.run import FlowOutcome
from ctiserver.ivr.engine.walk import Walk
from ctiserver.ivr.validation.vocabulary import LANGUAGES

#: channel variables the dialplan reads once the IVR returns (dialplans/extensions.conf.j2)
ACTION_VAR = "CTI_ACTION"
QUEUE_VAR = "CTI_QUEUE"
PRIORITY_VAR = "QUEUE_PRIO"
QUEUE_TIMEOUT_VAR = "CTI_QUEUE_TIMEOUT"
AFTER_VAR = "CTI_AFTER"
OVERFLOW_VAR = "CTI_OVERFLOW"
TRANSFER_VAR = "CTI_TRANSFER"
TICKET_VAR = "CTI_TICKET"
#: the caller's language as Asterisk knows it: the queue's announcements are played in it
LANGUAGE_VAR = "CHANNEL(language)"


class HandoffNodes(Walk):
    async def _queue(self, node: Mapping[str, Any]) -> FlowOutcome | str:
        if node.get("queue"):
            name = str(node["queue"])
        else:
            rule = node["queue_by"]
            value = self.vars.get(str(rule["var"]), "")
            mapping = {text(k): str(v) for k, v in (rule.get("map") or {}).items()}
            name = mapping.get(value) or str(rule["default"])
        if node.get("no_agents") and not self.engine.services.agents_available(name):
            self.current.result = "no agents"
            return str(node["no_agents"])
        priority = int(node.get("priority") or 0)
        vip_priority = node.get("vip_priority")
        if self.vars.get("customer_level") == "vip" and vip_priority is not None:
            priority = int(vip_priority)
        self.vars["queue"] = name
        self.vars["queue_priority"] = str(priority)
        self.current.result = name
        return FlowOutcome(
            "queue",
            queue=name,
            priority=priority,
            timeout=int(node.get("overflow_after") or node.get("timeout") or 0),
            after=node.get("after") or None,
            overflow_queue=node.get("overflow_queue") or None,
        )

    async def _transfer(self, node: Mapping[str, Any]) -> FlowOutcome:
        destination = text(node["to"])
        self.current.result = destination
        return FlowOutcome("transfer", transfer_to=destination)

    async def _hangup(self, node: Mapping[str, Any]) -> FlowOutcome:
        await self._say(node.get("prompt"))
        return FlowOutcome("hangup")

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
            language = self.vars.get("language") or self.flow.language
            if language in LANGUAGES:
                await self.channel.set_variable(LANGUAGE_VAR, language)
        elif outcome.action == "transfer":
            await self.channel.set_variable(TRANSFER_VAR, outcome.transfer_to or "")
        else:
            await self.channel.hangup()
