"""Load IVR flows from YAML: parse with positions, validate, hand out a frozen Flow.

A flow either loads with no problem at all or raises :class:`FlowError` listing every
problem found, each as ``file:line:column: message``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ctiserver import resources
from ctiserver.ivr.validation.flow import validate_flow
from ctiserver.ivr.validation.positions import start_pos, value_pos

SCHEMA_PATH = resources.FLOW_SCHEMA


@dataclass(frozen=True)
class Flow:
    name: str
    entry: str
    language: str
    start: str
    #: node id -> the node's fields as plain Python data, README defaults filled in
    nodes: Mapping[str, Mapping[str, Any]]
    source: str
    #: first 12 hex digits of the sha256 of ``source``
    version: str
    path: str | None
    #: node id -> (line, column) of its key, 1-based
    positions: Mapping[str, tuple[int, int]]


@dataclass(frozen=True)
class FlowProblem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class FlowError(Exception):
    """A flow has problems; ``problems`` lists all of them in file order."""

    def __init__(self, problems: Sequence[FlowProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(map(str, self.problems)))


class _Constructor(RoundTripConstructor):
    """Leaves dates as text (``2025-10-01``): the validator checks them and reports
    impossible ones where they are, instead of the YAML library failing on them."""


_Constructor.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda c, node: c.construct_scalar(node)
)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = True  # reported by _duplicates, with both positions
    return yaml


def _duplicates(node: Node | None) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    todo = [node]
    seen_nodes: set[int] = set()
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, MappingNode):
            first: dict[tuple[Any, Any], int] = {}
            for key, value in current.value:
                if isinstance(key, ScalarNode):
                    mark = key.start_mark
                    ident = (key.tag, key.value)
                    if ident in first:
                        found.append(
                            (
                                mark.line + 1,
                                mark.column + 1,
                                f"duplicate key {key.value!r} (first at line {first[ident]})",
                            )
                        )
                    else:
                        first[ident] = mark.line + 1
                todo += [key, value]
        elif isinstance(current, SequenceNode):
            todo += current.value
    return found


def _aliases(yaml: YAML, text: str) -> list[tuple[int, int, str]]:
    """Where ``text`` uses an alias (``*name``): a flow has no use for them, and an alias of an
    alias of ... makes a few hundred bytes into gigabytes of data and error messages."""
    found = []
    for event in yaml.parse(text):
        if isinstance(event, AliasEvent):
            mark = event.start_mark
            found.append((mark.line + 1, mark.column + 1, "YAML aliases (*name) are not allowed in flows"))
            if len(found) == 5:
                break
    return found


def parse(text: str) -> tuple[Any, list[tuple[int, int, str]]]:
    """The round-trip YAML data (None when unparsable) and the syntax problems."""
    yaml = _yaml()
    try:
        aliases = _aliases(yaml, text)
        if aliases:
            return None, aliases
        problems = _duplicates(_yaml().compose(text))
        return _yaml().load(text), problems
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "cannot parse"
        if exc.problem and exc.context and exc.context_mark:
            what += f" ({exc.context} at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [(line, col, f"YAML syntax error: {what}")]
    except YAMLError as exc:
        return None, [(1, 1, f"YAML syntax error: {exc}")]


def plain(value: Any) -> Any:
    """ruamel's round-trip types (CommentedMap, ScalarInt, LiteralScalarString...) as
    plain dict, list, str, int, float, bool, None."""
    if isinstance(value, Mapping):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


def yaml_data(text: str) -> Any:
    """A flow file as plain data, without validation (for the JSON Schema and tools)."""
    root, problems = parse(text)
    if root is None and problems:
        raise FlowError([FlowProblem("<flow>", *p) for p in problems])
    return plain(root)


def load_flow(
    text: str,
    *,
    file: str = "<flow>",
    queues: Collection[str],
    sounds_dirs: Sequence[Path] = (),
) -> Flow:
    """The flow in ``text``; ``file`` only names it in problems (``path`` stays None)."""
    root, problems = parse(text)
    if root is None and problems:
        raise FlowError([FlowProblem(file, *problem) for problem in problems])
    checked = validate_flow(root, queues=queues, sounds_dirs=[Path(d) for d in sounds_dirs])
    problems += checked.problems
    if problems:
        unique = sorted(dict.fromkeys(problems), key=lambda p: (p[0], p[1]))
        raise FlowError([FlowProblem(file, *problem) for problem in unique])
    top = checked.top
    return Flow(
        name=top["flow"],
        entry=top["entry"],
        language=top["language"],
        start=top["start"],
        nodes=plain(checked.nodes),
        source=text,
        version=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
        path=None,
        positions=dict(checked.positions),
    )


def load_flow_file(
    path: Path, *, queues: Collection[str], sounds_dirs: Sequence[Path] = ()
) -> Flow:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError([FlowProblem(str(path), 1, 1, f"cannot read the flow: {exc}")]) from exc
    flow = load_flow(text, file=str(path), queues=queues, sounds_dirs=sounds_dirs)
    return dataclasses.replace(flow, path=str(path))


def check_files(
    paths: Sequence[Path], *, queues: Collection[str], sounds_dirs: Sequence[Path] = ()
) -> list[FlowProblem]:
    """Every problem of every file, plus flow names or entries used by two files."""
    problems: list[FlowProblem] = []
    owners: dict[tuple[str, str], str] = {}
    for path in paths:
        try:
            flow = load_flow_file(path, queues=queues, sounds_dirs=sounds_dirs)
        except FlowError as exc:
            problems += exc.problems
            continue
        for field, value in (("flow", flow.name), ("entry", flow.entry)):
            first = owners.setdefault((field, value), str(path))
            if first != str(path):
                line, col = _top_value_pos(flow.source, field)
                problems.append(
                    FlowProblem(
                        str(path), line, col, f"{field} {value!r} is already used by {first}"
                    )
                )
    return problems


def _top_value_pos(text: str, key: str) -> tuple[int, int]:
    root, _ = parse(text)
    return value_pos(root, key, start_pos(root))
