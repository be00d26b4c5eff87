"""A whole flow: its top-level fields, every node, then the references between nodes
and which nodes the start reaches."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctiserver.ivr.validation.fields import BAD, Context, F, record
from ctiserver.ivr.validation.nodes import check_node
from ctiserver.ivr.validation.positions import Pos, key_pos, start_pos, value_pos
from ctiserver.ivr.validation.references import check_reachable, check_refs
from ctiserver.ivr.validation.values import flow_name, language_code, nonempty_text, ref
from ctiserver.ivr.validation.vocabulary import NODE_ID_RE


@dataclass
class Checked:
    top: dict[str, Any]
    nodes: dict[str, dict[str, Any]]
    positions: dict[str, Pos]
    problems: list[tuple[int, int, str]]


TOP: dict[str, F] = {
    "flow": F(flow_name, True),
    "entry": F(nonempty_text, True),
    "language": F(language_code, True),
    "start": F(ref, True),
    "nodes": F(lambda ctx, v, pos, label: v, True),
}


def validate_flow(root: Any, *, queues: Collection[str], sounds_dirs: Sequence[Path]) -> Checked:
    ctx = Context(queues=queues, sounds_dirs=sounds_dirs)
    checked = Checked({}, {}, {}, ctx.problems)
    if not isinstance(root, Mapping):
        ctx.problem(
            start_pos(root), "a flow is a mapping with flow, entry, language, start and nodes"
        )
        return checked
    checked.top = record(ctx, root, start_pos(root), TOP, "the flow")
    raw_nodes = checked.top.get("nodes")
    if raw_nodes is None:
        return checked
    nodes_pos = value_pos(root, "nodes", start_pos(root))
    if not isinstance(raw_nodes, Mapping) or not raw_nodes:
        ctx.problem(nodes_pos, "nodes must be a mapping of node id -> node, with at least one node")
        return checked
    broken: dict[str, Any] = {}
    for node_id, raw in raw_nodes.items():
        pos = key_pos(raw_nodes, node_id, nodes_pos)
        if not isinstance(node_id, str) or not NODE_ID_RE.fullmatch(node_id):
            ctx.problem(pos, f"node id {node_id!r} must be letters, digits, _ or - (quote numbers)")
            continue
        checked.positions[node_id] = pos
        before = len(ctx.problems)
        node = check_node(ctx, node_id, raw, pos)
        if node is not BAD:
            checked.nodes[node_id] = node
        if len(ctx.problems) > before:
            broken[node_id] = raw
    check_refs(ctx, checked.positions)
    start = checked.top.get("start")
    if isinstance(start, str) and start in checked.positions:
        check_reachable(ctx, checked, start, broken)
    return checked
