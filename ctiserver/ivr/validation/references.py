"""The ways between nodes: where each node leads, references to nodes that do not
exist, and nodes the caller can never reach."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ctiserver.ivr.validation.fields import Context, suggest

if TYPE_CHECKING:
    from ctiserver.ivr.validation.flow import Checked


def node_edges(node: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ways out of a (validated) node: ``(label, target node id)``, in a stable order."""
    kind = node.get("kind")
    edges: list[tuple[str, Any]] = []
    if kind == "menu":
        edges += [(digit, target) for digit, target in node.get("options", {}).items()]
        edges.append(("fail", node.get("on_fail")))
    elif kind == "input":
        edges += [("ok", node.get("next")), ("fail", node.get("on_fail"))]
    elif kind == "hours":
        edges += [("open", node.get("when_open")), ("closed", node.get("when_closed"))]
    elif kind == "lookup":
        edges += [
            ("found", node.get("found")),
            ("vip", node.get("vip")),
            ("not found", node.get("not_found")),
        ]
    elif kind == "branch":
        edges += [
            (f"case {i}", case.get("goto")) for i, case in enumerate(node.get("cases", []), 1)
        ]
        edges.append(("else", node.get("else")))
    elif kind == "queue":
        edges.append(("after", node.get("after")))
        edges.append(("no agents", node.get("no_agents")))
    elif kind == "progress":
        edges += [
            ("none", node.get("none")),
            ("confirmed", node.get("confirmed")),
            ("another time", node.get("another_time")),
            ("agent", node.get("agent")),
            ("heard", node.get("next")),
        ]
    elif kind == "goto":
        edges.append(("", node.get("target")))
    else:
        edges.append(("", node.get("next")))
    return [(label, target) for label, target in edges if isinstance(target, str)]


def _loose_targets(v: Any, ids: Collection[str]) -> Iterator[str]:
    """Node ids mentioned anywhere in a broken node, so that one broken node does
    not also make everything behind it 'unreachable'."""
    if isinstance(v, str) and v in ids:
        yield v
    elif isinstance(v, Mapping):
        for item in v.values():
            yield from _loose_targets(item, ids)
    elif isinstance(v, list):
        for item in v:
            yield from _loose_targets(item, ids)


def check_refs(ctx: Context, ids: Collection[str]) -> None:
    for target, pos, label in ctx.refs:
        if target not in ids:
            ctx.problem(pos, f"{label}: no node named {target!r}{suggest(target, ids)}")


def check_reachable(ctx: Context, checked: Checked, start: str, broken: Mapping[str, Any]) -> None:
    ids = checked.positions
    seen: set[str] = set()
    todo = [start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in ids:
            continue
        seen.add(node_id)
        todo += [target for _, target in node_edges(checked.nodes.get(node_id, {}))]
        if node_id in broken:
            todo += _loose_targets(broken[node_id], ids)
    for node_id, pos in ids.items():
        if node_id not in seen:
            ctx.problem(pos, f"node {node_id!r} is unreachable from start {start!r}")
