"""Draw a flow: Graphviz DOT text, and SVG through Debian's ``dot``."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from ctiserver.ivr.loader import Flow
from ctiserver.ivr.validation.references import node_edges

PROMPT_CHARS = 24
#: the invisible entry point; not a valid node id, so it cannot clash with one
START = "(start)"

_STYLE = {
    "menu": ("box", "#dbeafe"),
    "input": ("box", "#dbeafe"),
    "language": ("box", "#dbeafe"),
    "survey": ("box", "#dbeafe"),
    "hours": ("hexagon", "#fef3c7"),
    "lookup": ("hexagon", "#fef3c7"),
    "branch": ("hexagon", "#fef3c7"),
    "progress": ("box", "#fce7f3"),
    "queue": ("box", "#dcfce7"),
    "transfer": ("box", "#dcfce7"),
    "hangup": ("box", "#e5e7eb"),
}


def quote(text: str) -> str:
    """A DOT string literal; newlines become DOT's centred line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def short_prompt(prompt: Any, language: str) -> str:
    if isinstance(prompt, Mapping):
        if "file" in prompt:
            return f"file: {prompt['file']}"
        prompt = prompt.get(language) or next(iter(prompt.values()), "")
    words = " ".join(str(prompt or "").split())
    return words if len(words) <= PROMPT_CHARS else words[: PROMPT_CHARS - 1] + "…"


def _detail(node: Mapping[str, Any], language: str) -> str:
    kind = node.get("kind")
    if kind == "queue":
        if "queue" in node:
            return f"queue {node['queue']}, priority {node.get('priority', 0)}/{node.get('vip_priority', 0)}"
        return f"queue by {node.get('queue_by', {}).get('var', '?')}"
    if kind == "transfer":
        return f"to {node.get('to', '')}"
    if kind == "ticket":
        return f"ticket {node.get('type', '')}"
    if kind == "hours":
        return str(node.get("timezone", ""))
    if kind == "lookup":
        return f"by {node.get('by', '')}"
    if kind == "progress":
        by = node.get("by", "caller_id")
        return "tickets by " + (f"number in {node.get('var', '')}" if by == "digits" else "caller")
    if kind == "set":
        return ", ".join(f"{k}={v}" for k, v in node.get("vars", {}).items())[:PROMPT_CHARS]
    if kind == "input":
        return f"{node.get('var', '')}: " + short_prompt(node.get("prompt"), language)
    return short_prompt(node.get("prompt"), language)


def flow_to_dot(flow: Flow) -> str:
    title = quote(f"{flow.name} ({flow.entry}) v{flow.version}")
    lines = [
        f"digraph {quote(flow.name)} {{",
        f'  graph [label={title}, labelloc=t, fontname="sans-serif", rankdir=TB];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="sans-serif", fontsize=10];',
        '  edge [fontname="sans-serif", fontsize=9];',
        f'  {quote(START)} [shape=circle, label="", width=0.2, style=filled, fillcolor=black];',
        f"  {quote(START)} -> {quote(flow.start)};",
    ]
    for node_id, node in flow.nodes.items():
        kind = str(node.get("kind", ""))
        shape, colour = _STYLE.get(kind, ("box", "#ffffff"))
        label = "\n".join(part for part in (node_id, kind, _detail(node, flow.language)) if part)
        lines.append(
            f"  {quote(node_id)} [label={quote(label)}, shape={shape}, fillcolor={quote(colour)}];"
        )
    for node_id, node in flow.nodes.items():
        merged: dict[str, list[str]] = {}
        for label, target in node_edges(node):
            labels = merged.setdefault(target, [])
            if label and label not in labels:
                labels.append(label)
        # a queue's way on (after the agent hangs up) is not a step of the IVR: dashed
        style = ", style=dashed" if node.get("kind") == "queue" else ""
        for target, labels in merged.items():
            lines.append(
                f"  {quote(node_id)} -> {quote(target)} [label={quote(', '.join(labels))}{style}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def flow_to_svg(flow: Flow) -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "cannot draw the flow: Graphviz 'dot' is not installed (Debian: apt-get install graphviz)"
        )
    result = subprocess.run(  # noqa: S603  (fixed arguments; the flow goes in on stdin as DOT text)
        [dot, "-Tsvg"],
        input=flow_to_dot(flow).encode("utf-8"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"dot failed ({result.returncode}): {result.stderr.decode('utf-8', 'replace').strip()}"
        )
    return result.stdout.decode("utf-8")
