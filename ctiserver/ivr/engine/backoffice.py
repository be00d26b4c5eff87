"""Nodes that reach the back office through FlowServices: customer lookup, tickets,
callbacks, voicemail. A service that fails is logged as an error of the step and the
call goes on as if it had found nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ctiserver.ivr.conditions import text
from ctiserver.ivr.engine.handoff import TICKET_VAR
from ctiserver.ivr.engine.run import Event
from ctiserver.ivr.engine.services import CallbackQueued, CallbackRequest, TicketQueued, TicketRequest, VoicemailRequest
from ctiserver.ivr.engine.walk import CUSTOMER_VARS, Walk

log = logging.getLogger(__name__)


class BackOfficeNodes(Walk):
    async def _lookup(self, node: Mapping[str, Any]) -> str | None:
        if node.get("by", "caller_id") == "digits":
            number = self.vars.get(str(node["var"]), "")
        else:
            number = self.vars.get("caller_number", "")
        self.current.digits = number or None
        match = None
        if number:
            try:
                match = await self.services.lookup_customer(number)
            except Exception as exc:
                self._error(f"customer lookup failed: {exc}")
        self.current.events.append(Event("lookup", number, match.name if match else None))
        if match is None:
            self.vars.update(dict.fromkeys(CUSTOMER_VARS, ""))
            self.current.result = self.current.result or "not_found"
            return node["not_found"]
        self.vars.update(
            customer_id=str(match.id),
            customer_name=match.name or "",
            customer_level=match.level or "",
            customer_region=match.region or "",
        )
        if match.level == "vip":
            self.current.result = "vip"
            return node.get("vip") or node["found"]
        self.current.result = "found"
        return node["found"]

    async def _ticket(self, node: Mapping[str, Any]) -> str | None:
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
        self.current.events.append(Event("ticket", summary, kind))
        try:
            ticket_id = str(await self.services.open_ticket(request))
        except TicketQueued as exc:
            log.warning("call %s: flow %s, %s: the %s ticket is queued: %s", self.call_id, self.flow.name,
                        self.where, kind, exc)
            self.current.result = "queued"
            return node["next"]
        except Exception as exc:
            self._error(f"could not open a {kind} ticket: {exc}")
            return node["next"]
        self.vars["ticket_id"] = ticket_id
        self.current.result = ticket_id
        await self.channel.set_variable(TICKET_VAR, ticket_id)
        return node["next"]

    async def _callback(self, node: Mapping[str, Any]) -> str | None:
        spec = node.get("number", "caller_id")
        if isinstance(spec, Mapping):
            number = self.vars.get(str(spec["var"]), "")
        else:
            number = self.vars.get("caller_number", "")
        if not number:
            self._error("no number to call back")
            return node["next"]
        self.current.events.append(Event("callback", number))
        reason = self._fill(text(node.get("reason") or f"IVR {self.flow.name}: {self.current.node}"))
        request = CallbackRequest(
            number, self._customer_id(), self.call_id, reason, source=self._why_callback(),
            choices=tuple(f"{step.node}:{step.digits}" for step in self.run.path
                          if step.digits and step.kind in ("menu", "input", "language")),
            vip=self.vars.get("customer_level") == "vip",
        )
        try:
            await self.services.request_callback(request)
        except CallbackQueued as exc:
            log.warning("call %s: flow %s, %s: the callback request is queued: %s", self.call_id,
                        self.flow.name, self.where, exc)
            self.current.result = "queued"
        except Exception as exc:
            self._error(f"could not record the callback: {exc}")
            return node["next"]
        else:
            self.current.result = "requested"
        await self._say(node.get("prompt"))
        return node["next"]

    def _why_callback(self) -> str:
        """What the path says about the callback: the queue had nobody, the hotline was closed."""
        for step in reversed(self.run.path):
            if step.kind == "queue" and step.result == "no agents":
                return "no_agent"
            if step.kind == "hours" and step.result == "closed":
                return "closed"
        return "requested"

    async def _voicemail(self, node: Mapping[str, Any]) -> str | None:
        await self._say(node.get("prompt"))
        host_path, asterisk_path = self.services.voicemail_path(self.call_id)
        if not await self.channel.record(asterisk_path, int(node.get("max_seconds", 120))):
            self.current.result = "not_recorded"
            return node["next"]
        path = f"{host_path}.wav"
        self.current.events.append(Event("voicemail", path))
        request = VoicemailRequest(
            path, self.vars.get("caller_number") or None, self._customer_id(), self.call_id
        )
        try:
            await self.services.save_voicemail(request)
        except Exception as exc:
            self._error(f"could not save the voicemail {path}: {exc}")
            return node["next"]
        self.current.result = "recorded"
        return node["next"]
