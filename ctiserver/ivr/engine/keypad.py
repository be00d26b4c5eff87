"""Nodes that ask the caller for keys: menus, digit input, surveys, the language
choice. Each asks again after a wrong or missing answer, up to its retries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ctiserver.ivr.conditions import text
from ctiserver.ivr.engine.run import Event
from ctiserver.ivr.engine.walk import Walk

_PHONE = re.compile(r"1[3-9][0-9]{9}|0(?:10|2[0-9]|[3-9][0-9]{2})[2-9][0-9]{6,7}")
_VALIDATORS = {
    "phone": _PHONE,
    "order_number": re.compile(r"[0-9]{8,20}"),
    "digits": re.compile(r"[0-9]+"),
}


class KeypadNodes(Walk):
    async def _menu(self, node: Mapping[str, Any]) -> str | None:
        options = {text(k): str(v) for k, v in node["options"].items()}
        for _ in range(_attempts(node, 3)):
            keys = await self._ask(node.get("prompt"), node, max_digits=1)
            self.vars["last_digits"] = keys
            if keys in options:
                self._keys(keys, "ok")
                self.current.result = "selected"
                return options[keys]
            self._keys(keys, "invalid" if keys else "timeout")
            await self._say(node.get("invalid_prompt" if keys else "timeout_prompt"))
        self.current.result = "failed"
        return node["on_fail"]

    async def _input(self, node: Mapping[str, Any]) -> str | None:
        low, high = int(node.get("min_digits", 1)), int(node.get("max_digits", 20))
        terminator = text(node.get("terminator", "#"))
        for _ in range(_attempts(node, 3)):
            keys = await self._ask(node.get("prompt"), node, max_digits=high, terminator=terminator)
            self.vars["last_digits"] = keys
            if keys and low <= len(keys) <= high and _valid(node.get("validate"), keys):
                self._keys(keys, "ok")
                self.vars[str(node["var"])] = keys
                self.current.result = "valid"
                return node["next"]
            self._keys(keys, "invalid" if keys else "timeout")
            await self._say(node.get("invalid_prompt"))
        self.current.result = "failed"
        return node["on_fail"]

    async def _survey(self, node: Mapping[str, Any]) -> str | None:
        var = str(node.get("var") or "survey_score")
        for _ in range(_attempts(node, 2)):
            keys = await self._ask(node.get("prompt"), node, max_digits=1)
            if keys in ("1", "2", "3", "4", "5"):
                self._keys(keys, "ok")
                self.vars[var] = keys
                self.current.events.append(Event("survey", keys))
                self.current.result = "scored"
                try:
                    await self.services.record_survey(self.call_id, int(keys))
                except Exception as exc:
                    self._error(f"could not record the survey score: {exc}")
                await self._say(node.get("thanks"))
                return node.get("next")
            self._keys(keys, "invalid" if keys else "timeout")
        self.current.result = "no_score"
        return node.get("next")

    async def _language(self, node: Mapping[str, Any]) -> str | None:
        options = {text(k): str(v) for k, v in node["options"].items()}
        keys = await self._ask(node.get("prompt"), node, max_digits=1)
        if keys in options:
            self._keys(keys, "ok")
            language = options[keys]
        else:
            self._keys(keys, "invalid" if keys else "timeout")
            language = str(node.get("default") or self.vars.get("language") or self.flow.language)
        self.vars["language"] = language
        self.current.result = language
        return node["next"]


def _attempts(node: Mapping[str, Any], default: int) -> int:
    return max(1, int(node.get("retries", default)))


def _valid(rule: Any, keys: str) -> bool:
    if rule is None or rule == "":
        return _VALIDATORS["digits"].fullmatch(keys) is not None
    if isinstance(rule, Mapping):
        return re.fullmatch(str(rule["pattern"]), keys) is not None
    return _VALIDATORS[str(rule)].fullmatch(keys) is not None
