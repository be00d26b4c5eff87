"""The shapes of the IVR flow administration (admins only): check, publish, versions,
rollback."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ctiserver.web.schemas import ErrorBody, RequestBody, RowId, Shape


class FlowSummary(Shape):
    """A running flow and its active version."""

    name: str
    #: the dialled number (or entry) the flow answers
    entry: str
    number: int
    #: the content hash of the source
    version: str
    author: str
    created_at: dt.datetime


class FlowList(Shape):
    flows: list[FlowSummary]


class FlowVersionView(Shape):
    flow: str
    #: 1, 2, ... in the order published
    number: int
    version: str
    author: str
    created_at: dt.datetime
    note: str | None
    active: bool


class FlowVersionText(FlowVersionView):
    """A version with its source and its diff from the version before."""

    source: str
    diff: str | None


class FlowDetail(Shape):
    name: str
    #: the active version's source
    source: str
    active: FlowVersionView
    #: newest first
    versions: list[FlowVersionView]


class FlowProblemView(Shape):
    line: int
    column: int
    message: str


class FlowHeading(Shape):
    name: str
    entry: str
    version: str


class FlowCheckPassed(Shape):
    ok: Literal[True]
    problems: list[FlowProblemView]
    flow: FlowHeading
    #: the diagram, or null when it cannot be drawn (no Graphviz)
    svg: str | None


class FlowCheckFailed(Shape):
    ok: Literal[False]
    problems: list[FlowProblemView]


class FlowPublished(Shape):
    version: FlowVersionView


class FlowRejected(ErrorBody):
    """422: the flow (or the version rolled back to) does not validate."""

    problems: list[FlowProblemView]


class FlowSource(RequestBody):
    """The flow's YAML."""

    source: str


class FlowPublish(FlowSource):
    note: str | None = None


class FlowRollback(RequestBody):
    """Publish that earlier version again (as a new version)."""

    number: RowId
