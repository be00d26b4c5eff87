"""The text prompts of a flow: which text a call in a given language hears, and every
text a flow may need synthesised (what is made before the flow goes in force)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from ctiserver.ivr.conditions import text as scalar_text
from ctiserver.ivr.spoken import PHRASES
from ctiserver.ivr.validation.vocabulary import LANGUAGES

if TYPE_CHECKING:
    from ctiserver.ivr.loader import Flow

#: a ``${var}`` placeholder, filled from the call's variables
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def pick_text(prompt: Any, language: str, flow_language: str) -> tuple[str, str]:
    """(language, text) of a text prompt for a call in ``language``: a plain string is
    spoken in it; a mapping gives its text in that language, else in the flow's, else
    its first one."""
    if not isinstance(prompt, Mapping):
        return language, scalar_text(prompt)
    for candidate in (language, flow_language):
        if prompt.get(candidate) not in (None, ""):
            return candidate, scalar_text(prompt[candidate])
    candidate, words = next(iter(prompt.items()))
    return str(candidate), scalar_text(words)


@cache
def prompt_fields() -> Mapping[str, tuple[str, ...]]:
    """Node kind -> its fields that hold a prompt, read from the validator's node kinds
    (a kind or field added there is prepared without a change here)."""
    from ctiserver.ivr.validation.nodes import KINDS
    from ctiserver.ivr.validation.values import prompt

    return {
        kind: tuple(name for name, field in fields.items() if field.check is prompt)
        for kind, fields in KINDS.items()
    }


def flow_texts(flow: Flow, languages: Iterable[str] = LANGUAGES) -> set[tuple[str, str]]:
    """Every (language, text) a call through ``flow`` may have synthesised, for a call in
    any of ``languages``, except texts with ``${var}`` placeholders (known only in the call)."""
    found: set[tuple[str, str]] = set()
    fields = prompt_fields()
    for node in flow.nodes.values():
        if node.get("kind") == "progress":
            # the node's own sentences (those about a ticket are made during the call)
            found.update((language, words[0] if language == "zh" else words[1])
                         for words in PHRASES.values() for language in languages)
        for name in fields.get(str(node.get("kind")), ()):
            value = node.get(name)
            if value in (None, "", {}) or (isinstance(value, Mapping) and "file" in value):
                continue
            for language in languages:
                picked, words = pick_text(value, language, flow.language)
                if words and not PLACEHOLDER.search(words):
                    found.add((picked, words))
    return found
