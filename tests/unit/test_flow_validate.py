"""The IVR flow language: the sample loads; every kind of mistake is reported where it is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ctiserver.ivr import SCHEMA_PATH, FlowError, check_files, load_flow, load_flow_file
from ctiserver.ivr.loader import yaml_data
from ctiserver.ivr.validation.nodes import KINDS
from ctiserver.settings import Settings
from ctiserver.vocabulary import TICKET_TYPES

ROOT = Path(__file__).resolve().parents[2]
HOTLINE = ROOT / "ivr_flows" / "hotline.yaml"
BROKEN = ROOT / "tests" / "flows_broken"
QUEUES = [q.name for q in Settings().hotline.queues]

# file -> every problem expected in it: (line, column, a fragment of the message)
EXPECTED: dict[str, list[tuple[int, int, str]]] = {
    "syntax.yaml": [(9, 6, "YAML syntax error: expected <block end>")],
    "unterminated.yaml": [
        (
            8,
            1,
            "YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at line 6, column 33)",
        )
    ],
    "duplicates.yaml": [
        (11, 7, "duplicate key '1' (first at line 10)"),
        (15, 3, "duplicate key 'menu' (first at line 6)"),
    ],
    "unknown_kind.yaml": [(7, 11, "unknown kind 'pley' (did you mean 'play'?)")],
    "fields.yaml": [
        (2, 8, "entry must be text (quote numbers), not a number"),
        (6, 3, "play node 'welcome' is missing field 'next'"),
        (9, 5, "unknown field 'nxet' in play node 'welcome' (did you mean 'next'?)"),
        (14, 14, "timeout must be a number of seconds, not text"),
        (15, 14, "retries must be at least 1, not 0"),
        (19, 13, "prompt must be text, {zh: ..., en: ...} or {file: NAME}, not a list"),
    ],
    "references.yaml": [
        (10, 26, "options[2]: no node named 'agent'"),
        (11, 14, "on_fail: no node named 'bey' (did you mean 'bye'?)"),
        (13, 3, "node 'orphan' is unreachable from start 'welcome'"),
    ],
    "no_way_out.yaml": [
        (6, 3, "menu node 'main_menu' has no on_fail"),
        (10, 3, "input node 'order' has no on_fail"),
    ],
    "queues.yaml": [
        (8, 12, "no queue named 'sales'; queues: complaint, installation, repair, support"),
        (14, 29, "no queue named 'servise'"),
        (16, 3, "node 'both' is unreachable from start 'route'"),
    ],
    "hours.yaml": [
        (8, 15, "unknown time zone 'Asia/Shangai'"),
        (10, 62, "bad time '25:00' for to"),
        (11, 22, "days[1] must be mon, tue, wed, thu, fri, sat or sun, not 'sunday'"),
        (11, 37, "bad time '8:00' for from"),
        (12, 42, "closing time is not after opening time"),
        (13, 28, "bad date '2026-02-30'"),
        (13, 40, "bad date '2026/05/01'"),
    ],
    "regex.yaml": [
        (10, 25, "regex '[0-9' does not compile"),
        (16, 39, "regex '(a|b' does not compile"),
    ],
    "conditions.yaml": [
        (
            9,
            15,
            "condition with var needs exactly one of equals, not_equals, in, matches or set (has: equals, in, var)",
        ),
        (11, 15, "malformed condition (has: equals, variable)"),
        (13, 21, "all needs at least 1 item"),
        (15, 21, "not must be a condition mapping, not a list"),
        (17, 42, "set must be true or false, not text"),
    ],
    "digits.yaml": [
        (3, 11, "language must be zh or en, not 'fr'"),
        (8, 27, "language 'fr' in prompt must be zh or en"),
        (9, 29, "options['2'] must be zh or en, not 'fr'"),
        (14, 25, "options key '10' is not a phone key"),
        (14, 36, "options key 'a' is not a phone key"),
    ],
    "prompt_files.yaml": [(16, 20, "prompt file '../../etc/passwd' must be a sound name")],
}


@pytest.fixture
def sounds(tmp_path: Path) -> list[Path]:
    """An Asterisk-like sounds dir with ``beep``, and a flows dir with ``sounds/jingle``."""
    asterisk, flows = tmp_path / "asterisk", tmp_path / "flows"
    asterisk.mkdir()
    (flows / "sounds").mkdir(parents=True)
    (asterisk / "beep.gsm").write_bytes(b"\0")
    (flows / "sounds" / "jingle.wav").write_bytes(b"\0")
    return [asterisk, flows]


def problems_of(name: str, sounds_dirs: list[Path]) -> list[str]:
    path = BROKEN / name
    with pytest.raises(FlowError) as caught:
        load_flow_file(path, queues=QUEUES, sounds_dirs=sounds_dirs)
    return [str(p) for p in caught.value.problems]


def test_sample_hotline_loads_without_problems() -> None:
    flow = load_flow_file(HOTLINE, queues=QUEUES)
    assert (flow.name, flow.entry, flow.language, flow.start) == (
        "hotline",
        "4008001234",
        "zh",
        "choose_language",
    )
    assert flow.path == str(HOTLINE)
    assert len(flow.version) == 12 and flow.source == HOTLINE.read_text(encoding="utf-8")
    assert check_files([HOTLINE], queues=QUEUES) == []
    kinds = {node["kind"] for node in flow.nodes.values()}
    assert {
        "language",
        "hours",
        "lookup",
        "menu",
        "input",
        "branch",
        "set",
        "ticket",
        "queue",
        "callback",
        "voicemail",
        "survey",
        "hangup",
    } <= kinds
    assert flow.nodes["complaint_queue"]["vip_priority"] == 10
    assert flow.nodes["complaint_queue"]["priority"] == 0
    assert all(n.get("after") == "survey" for n in flow.nodes.values() if n["kind"] == "queue")
    assert flow.positions["choose_language"] == (9, 3)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_flow_reports_every_problem_at_its_position(name: str, sounds: list[Path]) -> None:
    got = problems_of(name, sounds)
    path = str(BROKEN / name)
    assert len(got) == len(EXPECTED[name]), "\n".join(got)
    for problem, (line, column, fragment) in zip(got, EXPECTED[name], strict=True):
        assert problem.startswith(f"{path}:{line}:{column}: "), problem
        assert fragment in problem, problem


def test_every_broken_flow_has_expectations() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


def test_missing_prompt_files_are_reported_with_where_they_were_looked_for(tmp_path: Path) -> None:
    got = problems_of("prompt_files.yaml", [tmp_path])
    path = BROKEN / "prompt_files.yaml"
    assert (
        got[0]
        == f"{path}:8:20: prompt file 'beep' not found (.wav, .gsm, .sln or .ulaw in {tmp_path})"
    )
    assert got[1].startswith(f"{path}:12:20: prompt file 'sounds/jingle' not found")
    assert len(got) == 3


def test_error_message_lists_all_problems() -> None:
    with pytest.raises(FlowError) as caught:
        load_flow_file(BROKEN / "fields.yaml", queues=QUEUES)
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]


def flow_text(nodes: str, top: str = 'flow: t\nentry: "1"\nlanguage: en\nstart: a\n') -> str:
    return top + "nodes:\n" + nodes


def test_defaults_are_filled_and_keys_normalised(sounds: list[Path]) -> None:
    flow = load_flow(
        flow_text(
            "  a: {kind: menu, prompt: Hi, options: {1: b, 2: c}, on_fail: c}\n"
            "  b: {kind: lookup, by: caller_id, found: c, not_found: d}\n"
            "  c: {kind: queue, queue: support, priority: 3, after: d}\n"
            "  d: {kind: hours, timezone: UTC, open: [{days: [mon], from: '09:00', to: '24:00'}],"
            " holidays: [2026-10-01], when_open: e, when_closed: e}\n"
            "  e: {kind: input, prompt: {file: beep}, var: x, next: f, on_fail: f}\n"
            "  f: {kind: survey, prompt: Rate us, next: g}\n"
            "  g: {kind: hangup}\n"
        ),
        queues=QUEUES,
        sounds_dirs=sounds,
    )
    n = flow.nodes
    assert n["a"] == {
        "kind": "menu",
        "prompt": "Hi",
        "options": {"1": "b", "2": "c"},
        "timeout": 5,
        "retries": 3,
        "on_fail": "c",
    }
    assert n["b"]["vip"] == "c"
    assert (n["c"]["priority"], n["c"]["vip_priority"], n["c"]["timeout"]) == (3, 3, 0)
    assert n["d"]["holidays"] == ["2026-10-01"]
    assert (n["e"]["min_digits"], n["e"]["max_digits"], n["e"]["terminator"]) == (1, 20, "#")
    assert (n["f"]["var"], n["f"]["timeout"], n["f"]["retries"]) == ("survey_score", 5, 2)
    assert flow.path is None
    assert all(type(node) is dict for node in n.values())
    json.dumps(n)  # plain data only


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "<flow>:1:1: a flow is a mapping"),
        ("- a\n- b\n", "<flow>:1:1: a flow is a mapping"),
        (
            "flow: t\nentry: '1'\nlanguage: en\nnodes: {a: {kind: hangup}}\n",
            "<flow>:1:1: the flow is missing field 'start'",
        ),
        (
            flow_text("  a: {kind: goto, target: a}\n  b: hangup\n"),
            "<flow>:7:3: node 'b' must be a mapping with a kind",
        ),
        (flow_text("  a: {prompt: x}\n"), "<flow>:6:3: node 'a' has no kind"),
        (
            flow_text("  a: {kind: queue, after: a}\n"),
            "<flow>:6:3: queue node 'a' needs exactly one of queue or queue_by",
        ),
        (
            flow_text("  a: {kind: lookup, by: digits, found: a, not_found: a}\n"),
            "<flow>:6:3: lookup node 'a' is by digits",
        ),
        (
            flow_text("  a: {kind: queue, queue: support, overflow_queue: repair}\n"),
            "<flow>:6:3: queue node 'a': overflow_queue and overflow_after go together",
        ),
        (
            flow_text("  a: {kind: queue, queue: support, overflow_queue: sales, overflow_after: 30}\n"),
            "<flow>:6:52: no queue named 'sales'",
        ),
        (
            flow_text("  a: {kind: queue, queue: support, no_agents: offer}\n"),
            "<flow>:6:47: no_agents: no node named 'offer'",
        ),
        (
            flow_text("  a: {kind: play, prompt: 'Hi ${name', next: a}\n"),
            "<flow>:6:27: prompt has a bad placeholder",
        ),
        (
            flow_text("  a: {kind: transfer, to: '1001,r'}\n"),
            "<flow>:6:27: to '1001,r' is not an extension",
        ),
        (
            flow_text(
                "  a: {kind: input, prompt: x, var: v, min_digits: 5, max_digits: 2, next: a, on_fail: a}\n"
            ),
            "<flow>:6:51: min_digits is more than max_digits",
        ),
        (
            flow_text(
                "  a: {kind: goto, target: a}\n",
                top='flow: T\nentry: "1"\nlanguage: en\nstart: a\n',
            ),
            "<flow>:1:7: flow name 'T' must be lower-case",
        ),
    ],
)
def test_small_mistakes(text: str, expected: str) -> None:
    with pytest.raises(FlowError) as caught:
        load_flow(text, queues=QUEUES)
    assert str(caught.value.problems[0]).startswith(expected), caught.value


def test_check_files_reports_every_file_and_reused_names(tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    shutil.copy(HOTLINE, copy)
    problems = check_files([HOTLINE, copy, BROKEN / "regex.yaml"], queues=QUEUES)
    got = [str(p) for p in problems]
    assert got[0] == f"{copy}:3:7: flow 'hotline' is already used by {HOTLINE}"
    assert got[1] == f"{copy}:4:8: entry '4008001234' is already used by {HOTLINE}"
    assert [p.file for p in problems[2:]] == [str(BROKEN / "regex.yaml")] * 2


def test_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    problems = check_files([tmp_path / "missing.yaml"], queues=QUEUES)
    assert (
        len(problems) == 1
        and problems[0].line == 1
        and "cannot read the flow" in problems[0].message
    )


# ---- the JSON Schema, for editors -------------------------------------------------


@pytest.fixture(scope="module")
def schema_validator():  # type: ignore[no-untyped-def]
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_sample_matches_the_schema(schema_validator) -> None:  # type: ignore[no-untyped-def]
    errors = list(schema_validator.iter_errors(yaml_data(HOTLINE.read_text(encoding="utf-8"))))
    assert errors == []


@pytest.mark.parametrize(
    "name", ["unknown_kind.yaml", "fields.yaml", "digits.yaml", "hours.yaml", "conditions.yaml"]
)
def test_broken_flows_fail_the_schema(schema_validator, name: str) -> None:  # type: ignore[no-untyped-def]
    data = yaml_data((BROKEN / name).read_text(encoding="utf-8"))
    assert list(schema_validator.iter_errors(data))


def test_schema_knows_the_same_kinds_and_fields_as_the_validator() -> None:
    defs = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["$defs"]
    assert defs["node"]["properties"]["kind"]["enum"] == list(KINDS)
    for kind, fields in KINDS.items():
        schema_kind = defs[f"kind_{kind}"]
        assert set(schema_kind["properties"]) == {"kind", *fields}, kind
        required = {name for name, f in fields.items() if f.required}
        assert set(schema_kind["required"]) == {"kind", *required}, kind


def test_schema_knows_the_ticket_kinds_of_the_vocabulary() -> None:
    defs = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["$defs"]
    assert defs["kind_ticket"]["properties"]["type"]["enum"] == list(TICKET_TYPES)


def test_hours_node_calendar_fields() -> None:
    hours = (
        "  a: {kind: hours, timezone: Asia/Shanghai, open: [{days: [mon], from: '09:00', to: '18:00'}],\n"
        "      holidays: [2026-02-24], workdays: [%s], public_holidays: %s, when_open: b, when_closed: b}\n"
        "  b: {kind: hangup}\n"
    )
    flow = load_flow(flow_text(hours % ("2026-02-08", "false")), queues=QUEUES)
    node = flow.nodes["a"]
    assert node["workdays"] == ["2026-02-08"] and node["public_holidays"] is False
    with pytest.raises(FlowError) as caught:
        load_flow(flow_text(hours % ("2026-02-24, 2026-02-30", "maybe")), queues=QUEUES)
    messages = [p.message for p in caught.value.problems]
    assert any("2026-02-24 both a holiday and a working day" in m for m in messages), messages
    assert any("2026-02-30" in m for m in messages), messages
    assert any("public_holidays" in m and "true or false" in m for m in messages), messages
