"""One run of one flow over one call: the state every node kind shares (the call's
variables, the step being taken) and what they all do: say a prompt, ask for keys,
fill ``${placeholders}``, note an error and carry on."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ctiserver.ivr.channel import CallChannel
from ctiserver.ivr.engine.run import Event, FlowRun, Step
from ctiserver.ivr.prompt_texts import PLACEHOLDER, pick_text

if TYPE_CHECKING:
    from ctiserver.ivr.engine.runner import FlowEngine
    from ctiserver.ivr.loader import Flow

log = logging.getLogger(__name__)

CUSTOMER_VARS = ("customer_id", "customer_name", "customer_level", "customer_region")


class Walk:
    """The shared state and helpers of a run; the node handlers are in the kind modules."""

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
    def current(self) -> Step:
        """The step being taken; the node handlers only run while there is one."""
        if self.step is None:
            raise RuntimeError("no step is being taken")
        return self.step

    @property
    def where(self) -> str:
        return f"node {self.current.node!r}" if self.step else "the start"

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
        self.current.digits = keys
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
                self.current.events.append(Event("file", name))
                return self.engine.prompts.file_sound(name)
            language, words = self._pick(prompt)
            words = self._fill(words)
            self.current.events.append(Event("say", words, language))
            return await self.engine.prompts.sound_for(words, language)
        except Exception as exc:
            self._error(f"prompt {prompt!r} has no sound: {exc}")
            return None

    def _pick(self, prompt: Any) -> tuple[str, str]:
        """(language, text) of a prompt in the call's language, else the flow's, else any."""
        return pick_text(prompt, self.vars.get("language") or self.flow.language, self.flow.language)

    def _fill(self, template: str) -> str:
        return PLACEHOLDER.sub(lambda m: self.vars.get(m.group(1), "") or "", template)

    def _keys(self, keys: str, verdict: str) -> None:
        self.current.events.append(Event("keys", keys, verdict))

    def _error(self, message: str) -> None:
        log.error("call %s: flow %s, %s: %s", self.call_id, self.flow.name, self.where, message)
        self.current.events.append(Event("error", message))
        self.current.result = "error"

    def _customer_id(self) -> int | None:
        value = self.vars.get("customer_id", "")
        return int(value) if value.isdigit() else None
