"""JSON shapes of the customer import, and the exports' query."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ctiserver.web.schemas import Day, OneOf, QueryString, Shape


class ImportProblem(Shape):
    line: int
    #: in English
    reason: str
    #: what kind of refusal (the pages say it in their language with ``params``); None: a reason
    #: the pages show as it is (a database error)
    code: str | None = None
    params: dict[str, str] = Field(default_factory=dict)


class ImportResult(Shape):
    """What an upload did: rows accepted (of which ``unchanged`` were there already), what
    was added, and every rejected row by its line."""

    accepted: int
    unchanged: int
    customers: int
    phones: int
    products: int
    rejected: int
    problems: list[ImportProblem]


class ImportQuery(QueryString):
    """``encoding``: a CSV file's (``gb18030``, ``big5``, ``utf-8``, ``utf-16``...); found when not
    given. ``sheet``: the sheet of an Excel workbook to read (the first when not given)."""

    encoding: str | None = Field(default=None, max_length=40)
    sheet: str | None = Field(default=None, min_length=1, max_length=31)


class ExportQuery(QueryString):
    """``from`` and ``to``: local days YYYY-MM-DD, both included (creation, or a call's start).
    ``headers``: the first row names the columns as the page in ``lang`` does, the cells' codes
    (types, statuses, queues...) said alike (``labels``), or the columns' and cells' codes
    (``codes``, the stable form for integrations)."""

    first: Day | None = Field(default=None, alias="from")
    last: Day | None = Field(default=None, alias="to")
    headers: Annotated[str, OneOf(("labels", "codes"))] = "labels"
    lang: Annotated[str, OneOf(("zh", "en"))] = "zh"
