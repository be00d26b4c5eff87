"""Drawing a flow: DOT with every node and labelled edges; SVG through Debian's dot."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ctiserver.ivr import Flow, graph, load_flow, load_flow_file
from ctiserver.ivr.graph import flow_to_dot, flow_to_svg
from ctiserver.ivr.validation.references import node_edges
from ctiserver.settings import Settings
from tests.conftest import require

HOTLINE = Path(__file__).resolve().parents[2] / "ivr_flows" / "hotline.yaml"
QUEUES = [q.name for q in Settings().hotline.queues]


@pytest.fixture(scope="module")
def hotline() -> Flow:
    return load_flow_file(HOTLINE, queues=QUEUES)


def test_dot_has_every_node_with_kind_and_prompt(hotline: Flow) -> None:
    dot = flow_to_dot(hotline)
    assert dot.startswith('digraph "hotline" {') and dot.rstrip().endswith("}")
    for node_id, node in hotline.nodes.items():
        assert re.search(
            rf'^  "{node_id}" \[label="{node_id}\\n{node["kind"]}', dot, re.MULTILINE
        ), node_id
    assert '"greet_new" [label="greet_new\\nplay\\n您好，欢迎致电售后服务热线。"' in dot
    assert '"repair_queue" [label="repair_queue\\nqueue\\nqueue repair, priority 0/5"' in dot


@pytest.mark.parametrize(
    "edge",
    [
        '"(start)" -> "choose_language";',
        '"check_hours" -> "identify" [label="open"];',
        '"check_hours" -> "closed_menu" [label="closed"];',
        '"identify" -> "greet_customer" [label="found"];',
        '"identify" -> "greet_vip" [label="vip"];',
        '"identify" -> "greet_new" [label="not found"];',
        '"main_menu" -> "repair_product" [label="1"];',
        '"main_menu" -> "agent_queue" [label="0, fail"];',
        '"repair_product" -> "repair_product_name" [label="ok"];',
        '"repair_product" -> "agent_queue" [label="fail"];',
        '"repair_product_name" -> "product_air_conditioner" [label="case 1"];',
        '"repair_product_name" -> "product_water_heater" [label="else"];',
        '"complaint_queue" -> "survey" [label="after", style=dashed];',
        '"survey" -> "goodbye" [label=""];',
    ],
)
def test_dot_edges_are_labelled(hotline: Flow, edge: str) -> None:
    assert f"  {edge}\n" in flow_to_dot(hotline)


def test_dot_has_one_edge_per_pair_of_nodes(hotline: Flow) -> None:
    """Ways out to the same node share one edge ("0, fail"), plus the edge from the start dot."""
    edges = [line for line in flow_to_dot(hotline).splitlines() if " -> " in line]
    pairs = {
        (node_id, target)
        for node_id, node in hotline.nodes.items()
        for _, target in node_edges(node)
    }
    assert len(edges) == len(set(edges)) == len(pairs) + 1
    assert not any(line.startswith('  "goodbye" ->') for line in edges)


def test_dot_quotes_awkward_text() -> None:
    flow = load_flow(
        'flow: q\nentry: "1"\nlanguage: en\nstart: a\nnodes:\n'
        '  a: {kind: play, prompt: "say \\"hi\\" \\\\ bye", next: b}\n'
        '  b: {kind: hangup, prompt: {zh: "再见"}}\n',
        queues=QUEUES,
    )
    dot = flow_to_dot(flow)
    assert '"a" [label="a\\nplay\\nsay \\"hi\\" \\\\ bye"' in dot
    assert '"b" [label="b\\nhangup\\n再见"' in dot
    if shutil.which("dot"):
        assert "say &quot;hi&quot; \\ bye" in flow_to_svg(flow)


def test_svg_is_drawn_by_dot(hotline: Flow) -> None:
    require(
        shutil.which("dot") is not None, "Graphviz dot is not installed (apt-get install graphviz)"
    )
    svg = flow_to_svg(hotline)
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for node_id in hotline.nodes:
        assert f"<title>{node_id}</title>" in svg


def test_svg_without_dot_is_a_clear_error(hotline: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz 'dot' is not installed"):
        flow_to_svg(hotline)
