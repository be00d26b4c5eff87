"""The ``progress`` node: "where is my engineer?" answered by the IVR.

It finds the caller's open tickets (by the customer the call is from, or by a ticket number
keyed in), says each one's kind, product, status and appointment window in the call's
language (``ctiserver.ivr.spoken``), and offers: 1 keep the appointment, 2 ask for another
time (recorded in the ticket's history, pushed to the branch's work view), 0 an agent (the
``agent`` way, with ``ticket_number`` set and the channel's CTI_TICKET, so the agent's pop
opens on that ticket), 9 the next ticket. Silence after a ticket goes on to the next one;
after the last, to ``next``. Every sentence said is an event of the step (the run's record).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ctiserver.ivr.engine.handoff import TICKET_VAR
from ctiserver.ivr.engine.run import Event
from ctiserver.ivr.engine.services import AppointmentAnswer, TicketProgress
from ctiserver.ivr.engine.walk import Walk
from ctiserver.ivr.spoken import count_sentence, phrase, ticket_sentence

#: the most tickets read out in one call (newest first)
MOST_TICKETS = 3
KEY_CONFIRM, KEY_ANOTHER_TIME, KEY_AGENT, KEY_NEXT = "1", "2", "0", "9"


class ProgressNodes(Walk):
    async def _progress(self, node: Mapping[str, Any]) -> str | None:
        language = self._call_language()
        tickets = await self._find_tickets(node)
        if not tickets:
            self.current.result = self.current.result or "none"
            await self._speak(phrase("none", language), language)
            return node["none"]
        tickets = tickets[:MOST_TICKETS]
        today = self.engine.clock().astimezone(_zone_of(tickets)).date()
        if len(tickets) > 1:
            await self._speak(count_sentence(len(tickets), language), language)
        for ordinal, ticket in enumerate(tickets, 1):
            self.vars["ticket_number"] = ticket.number
            self.vars["ticket_status"] = ticket.status
            self.current.events.append(Event("progress", ticket.number, ticket.status))
            await self._speak(ticket_sentence(
                number=ticket.number, type=ticket.type, status=ticket.status, product=ticket.product,
                start=ticket.appointment_start, end=ticket.appointment_end, language=language,
                today=today, ordinal=ordinal,
            ), language)
            choice = await self._choose(node, ticket, more=ordinal < len(tickets), language=language)
            if choice is None:
                continue
            return await self._act(node, ticket, choice, language)
        self.current.result = "heard"
        return node["next"]

    async def _find_tickets(self, node: Mapping[str, Any]) -> list[TicketProgress]:
        """The caller's tickets, or the one keyed in if it is theirs (a ticket number is
        anyone's guess: the services read a keyed ticket only to its own customer)."""
        keyed: str | None = None
        if node.get("by", "caller_id") == "digits":
            keyed = self.vars.get(str(node["var"]), "") or None
            self.current.digits = keyed
            if keyed is None:
                return []
        customer_id = self._customer_id()
        if customer_id is None:
            customer_id = await self._caller_customer()
        if customer_id is None and keyed is None:
            return []
        try:
            return list(await self.services.ticket_progress(
                customer_id=customer_id, keyed=keyed, caller_number=self.vars.get("caller_number") or None,
            ))
        except Exception as exc:
            self._error(f"could not read the tickets: {exc}")
            return []

    async def _caller_customer(self) -> int | None:
        number = self.vars.get("caller_number", "")
        if not number:
            return None
        try:
            match = await self.services.lookup_customer(number)
        except Exception as exc:
            self._error(f"customer lookup failed: {exc}")
            return None
        self.current.events.append(Event("lookup", number, match.name if match else None))
        return match.id if match is not None else None

    async def _choose(
        self, node: Mapping[str, Any], ticket: TicketProgress, *, more: bool, language: str
    ) -> str | None:
        """The key the caller chose for ``ticket``; None: the next ticket (9, or silence)."""
        scheduled = ticket.appointment_start is not None
        allowed = {KEY_AGENT} | ({KEY_CONFIRM, KEY_ANOTHER_TIME} if scheduled else set())
        words = phrase("choices" if scheduled else "choices_no_window", language)
        if more:
            allowed.add(KEY_NEXT)
            words += phrase("more", language)
        for _ in range(max(1, int(node.get("retries", 2)))):
            keys = await self._ask_text(words, language, node)
            if keys in allowed and keys != KEY_NEXT:
                self._keys(keys, "ok")
                return keys
            if keys == KEY_NEXT or not keys:
                self._keys(keys, "ok" if keys else "timeout")
                return None
            self._keys(keys, "invalid")
            await self._speak(phrase("invalid", language), language)
        return None

    async def _act(self, node: Mapping[str, Any], ticket: TicketProgress, choice: str, language: str) -> str | None:
        if choice == KEY_AGENT:
            self.current.result = "agent"
            await self.channel.set_variable(TICKET_VAR, ticket.number)
            await self._speak(phrase("agent", language), language)
            return node["agent"]
        answer = "confirmed" if choice == KEY_CONFIRM else "time_requested"
        self.current.events.append(Event("answer", ticket.number, answer))
        try:
            await self.services.answer_appointment(AppointmentAnswer(
                ticket.id, ticket.number, answer, self.call_id, self.vars.get("caller_number") or None,
            ))
        except Exception as exc:
            self._error(f"could not record the answer {answer} on {ticket.number}: {exc}")
            return node["agent"]  # not recorded: a person takes it
        self.current.result = answer
        await self._speak(phrase(answer, language), language)
        return node["confirmed" if answer == "confirmed" else "another_time"]

    def _call_language(self) -> str:
        return self.vars.get("language") or self.flow.language

    async def _speak(self, words: str, language: str) -> None:
        """Say text made by the server (no ``${}`` filling: a product's name is data)."""
        sound = await self._text_sound(words, language)
        if sound is not None:
            await self.channel.play(sound)

    async def _ask_text(self, words: str, language: str, node: Mapping[str, Any]) -> str:
        sound = await self._text_sound(words, language)
        keys = await self.channel.play_and_read(
            sound, timeout=float(node.get("timeout", 5)), max_digits=1, terminator="",
        )
        self.current.digits = keys
        return keys

    async def _text_sound(self, words: str, language: str) -> str | None:
        self.current.events.append(Event("say", words, language))
        try:
            return await self.engine.prompts.sound_for(words, language)
        except Exception as exc:
            self._error(f"no sound for {words!r}: {exc}")
            return None


def _zone_of(tickets: list[TicketProgress]) -> dt.tzinfo:
    """The hotline's zone the services gave the appointments in (UTC when none has one)."""
    for ticket in tickets:
        if ticket.appointment_start is not None and ticket.appointment_start.tzinfo is not None:
            return ticket.appointment_start.tzinfo
    return dt.UTC
