"""The shapes of the dispatch routes: departments, branches, rules."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ctiserver import vocabulary
from ctiserver.web.schemas import OneOf, RequestBody, RowId, Shape

Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class BranchView(Shape):
    id: int
    name: str
    province: str
    #: null: the whole province
    city: str | None
    manager_user_id: int | None


class DispatchView(Shape):
    """``GET /api/dispatch``: department code -> name, and the branches."""

    departments: dict[str, str]
    branches: list[BranchView]


class RuleView(Shape):
    """A null kind, province or city matches any; the most specific matching rule wins."""

    id: int
    kind: str | None
    province: str | None
    city: str | None
    department: str
    branch_id: int | None


class RuleList(Shape):
    rules: list[RuleView]


class RuleAnswer(Shape):
    rule: RuleView


class BranchAnswer(Shape):
    branch: BranchView


class RuleNew(RequestBody):
    department: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    kind: Annotated[str, OneOf(vocabulary.TICKET_TYPES)] | None = None
    province: Place | None = None
    city: Place | None = None
    branch_id: RowId | None = None


class BranchNew(RequestBody):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    province: Place
    city: Place | None = None
    manager_user_id: RowId | None = None


class RuleDeleted(Shape):
    deleted: bool
