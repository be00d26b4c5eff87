"""The web API's own shapes (the user, login, meta, health, errors) and the building blocks
every feature's ``schemas.py`` declares its shapes with.

A shape is declared once, as a pydantic model: request bodies and query strings are
validated from it, answers are checked against it (``ctiserver.web.contract``), and the
OpenAPI document (``GET /api/openapi.json``) is generated from it.

Answers (:class:`Shape`) forbid keys they do not declare and list every key as required
(a value that may be missing is ``null``), so that the pages can rely on each key being
there. Requests (:class:`RequestBody`, :class:`QueryString`) ignore keys they do not know.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Collection
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from ctiserver import vocabulary


class Shape(BaseModel):
    """A JSON answer (or websocket message) of the server: exactly these keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestBody(BaseModel):
    """A JSON request body; keys it does not declare are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class QueryString(BaseModel):
    """A query string; an empty value (``?lang=``) counts as not given."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_empty(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value != ""}
        return data


@dataclasses.dataclass(frozen=True)
class OneOf:
    """``Annotated`` metadata: a string that must be one of ``words`` (the vocabulary's
    own tuple), an ``enum`` in the schema; the message lists the words."""

    words: tuple[str, ...]

    def __init__(self, words: Collection[str]) -> None:
        object.__setattr__(self, "words", tuple(words))

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": list(self.words)}

    def _check(self, value: str) -> str:
        if value not in self.words:
            raise ValueError(f"must be one of {', '.join(self.words)}")
        return value


@dataclasses.dataclass(frozen=True)
class NotAudited:
    """``Annotated`` metadata: a request field the audit log never keeps (a password)."""


#: a request field kept out of the audit log (``ctiserver.web.auditing``)
Secret = Annotated[str, NotAudited()]


#: times are ISO-8601 with their offset (the server sends UTC)
Moment = AwareDatetime
#: a duration or a wait in seconds
Seconds = Annotated[float, WithJsonSchema({"type": "number", "minimum": 0})]


def _iso_day(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("must be YYYY-MM-DD") from exc


#: a calendar day, YYYY-MM-DD
Day = Annotated[dt.date, BeforeValidator(_iso_day)]

#: the largest number an Integer column holds (32 bits on PostgreSQL): beyond it a request
#: is refused (400), never sent to the database (500)
INT_MAX = 2**31 - 1
#: a row's id in a request
RowId = Annotated[int, Field(ge=1, le=INT_MAX)]
#: a whole number of a request kept in an Integer column (a version, a count)
Count = Annotated[int, Field(ge=0, le=INT_MAX)]

Role = Annotated[str, OneOf(vocabulary.USER_ROLES)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


# ---- the user, login and logout


class UserView(Shape):
    id: int
    username: str
    role: Role
    display_name: str | None


class UserAnswer(Shape):
    """``POST /login``, ``GET /api/me``."""

    user: UserView


class Credentials(RequestBody):
    """``POST /login``, as JSON or as a form."""

    username: Annotated[str, StringConstraints(max_length=64)]
    password: Annotated[Secret, StringConstraints(max_length=1024)]


class Acknowledged(Shape):
    ok: Literal[True]


# ---- errors


class ErrorBody(BaseModel):
    """Every error: ``{"error": text}``, some with more keys (e.g. a flow's ``problems``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    error: str


# ---- health


class AmiHealth(Shape):
    connected: bool


class DatabaseHealth(Shape):
    ok: bool


class PartHealthView(Shape):
    """A long-lived part of the server (flow watcher, agent clock, wallboard...)."""

    state: str
    restarts: int
    last_error: str | None
    #: epoch seconds
    last_failure_at: float | None


class WriterHealthView(Shape):
    """What a background writer holds: queued in memory, journaled on disk, dead-lettered."""

    queued: int
    journaled: int
    dead_lettered: int
    written: int
    database_reachable: bool
    last_error: str | None
    #: epoch seconds
    last_error_at: float | None


class HealthStatus(Shape):
    """``GET /healthz`` for anyone but an admin: up (``ok``) or ``degraded``, nothing more."""

    status: Literal["ok", "degraded"]


class HealthView(Shape):
    """``GET /healthz`` for an admin: always 200; ``degraded`` when Asterisk or the database is
    away, a long-lived part failed and is being restarted, or a feature's check fails (a stuck
    webhook endpoint)."""

    status: Literal["ok", "degraded"]
    ami: AmiHealth
    database: DatabaseHealth
    #: by the part's name
    parts: dict[str, PartHealthView]
    #: the background writers (``ctiserver.storage.writer``), by name
    writers: dict[str, WriterHealthView]
    #: the features' own checks (``health.watch_check``), by name: ``ok`` and what they show
    checks: dict[str, dict[str, Any]]

