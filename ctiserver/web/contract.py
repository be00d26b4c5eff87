"""One declaration per route: its method and path, who may call it, the shapes it takes
and answers (``*/schemas.py``). :func:`route` adds the route to the router and records it
for the OpenAPI document (``ctiserver.web.openapi``).

The wrapper around the handler does what every API route shares:

* 403 for a role not in ``roles`` (the auth middleware has refused anonymous users);
* the query string and the JSON body validated from their models (400 naming the field),
  for the handler to take with :func:`query_of` and :func:`body_of`;
* an :class:`ApiError` raised by the handler becomes its JSON error;
* a mutating request under ``/api/`` (or a route declared ``audited``) is recorded in the
  audit log once answered, a refusal too (``ctiserver.web.auditing``);
* what the handler returns (a dict, a list or a model) is sent as JSON with the declared
  status, after being checked against the declared answer. A mismatch is logged; where
  ``app[CHECK_ANSWERS_KEY]`` is true (the tests) it is answered with 500 instead, so that
  a test of the route fails. A handler may also return its own response (an SVG).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from ctiserver.web import auditing
from ctiserver.web.handling import MAX_BODY, ApiError, read_json
from ctiserver.web.keys import USER_KEY
from ctiserver.web.responses import json_error, json_ok
from ctiserver.web.schemas import OneOf, QueryString, RequestBody

log = logging.getLogger(__name__)

ApiHandler = Callable[[web.Request], Awaitable[Any]]
M = TypeVar("M", bound=BaseModel)


@dataclasses.dataclass(frozen=True)
class Operation:
    """A route as the contract declares it."""

    method: str
    #: as given to the router, e.g. ``/api/customers/{id:\\d{1,9}}``
    path: str
    summary: str
    #: the roles that may call it; None: anyone past the auth middleware
    roles: frozenset[str] | None
    #: no session needed
    public: bool
    body: type[RequestBody] | None
    query: type[QueryString] | None
    #: the JSON answer's type (a model or a union of models); None: not a JSON answer
    answer: Any
    status: int
    #: error statuses it may answer besides 400/401/403 -> what they mean
    errors: Mapping[int, str]
    #: the shape of an error status whose body says more than ``{"error"}``
    error_shapes: Mapping[int, type[BaseModel]]
    #: the media type of an answer that is not JSON (an SVG), or of a websocket upgrade
    media_type: str | None
    description: str
    #: what the route acts on, for the audit log ("ticket", "flow")
    target: str | None = None
    #: recorded in the audit log
    audited: bool = False


@dataclasses.dataclass
class Declared:
    """What an application declares: its routes in the order added, its websocket messages."""

    operations: list[Operation] = dataclasses.field(default_factory=list)
    messages: list[type[BaseModel]] = dataclasses.field(default_factory=list)


CONTRACT_KEY = web.AppKey("api_contract", Declared)
#: answer 500 when an answer does not match its declaration (the tests turn it on)
CHECK_ANSWERS_KEY = web.AppKey("check_answers", bool)
_BODY_KEY = web.RequestKey("contract_body", RequestBody)
_QUERY_KEY = web.RequestKey("contract_query", QueryString)


def route(
    app: web.Application,
    method: str,
    path: str,
    handler: ApiHandler,
    *,
    summary: str,
    roles: Collection[str] | None = None,
    denied: str = "not allowed for your role",
    public: bool = False,
    body: type[RequestBody] | None = None,
    body_optional: bool = False,
    body_forms: bool = False,
    body_limit: int = MAX_BODY,
    query: type[QueryString] | None = None,
    answer: Any = None,
    status: int = 200,
    errors: Mapping[int, str] | None = None,
    error_shapes: Mapping[int, type[BaseModel]] | None = None,
    media_type: str | None = None,
    description: str = "",
    target: str | None = None,
    audited: bool | None = None,
) -> Operation:
    """Add ``handler`` at ``method path`` and record the declaration; see the module docstring.

    ``answer`` is the type of the JSON answer, ``None`` for a handler that makes its own
    response (then ``media_type`` says what it is). With ``body_optional`` an empty body
    reads as ``{}``; with ``body_forms`` a form (``application/x-www-form-urlencoded``)
    is read as well as JSON. ``target`` names the kind of thing the route acts on, for the
    audit log; ``audited`` defaults to true for POST, PUT, PATCH and DELETE under ``/api/``.
    """
    if roles is None and not public:
        # every route says who may call it: the route-by-role test holds them to it
        raise TypeError(f"{method} {path}: declare the roles that may call it, or public=True")
    allowed = None if roles is None else frozenset(roles)
    operation = Operation(
        method=method.upper(), path=path, summary=summary, roles=allowed, public=public,
        body=body, query=query, answer=answer, status=status, errors=dict(errors or {}),
        error_shapes=dict(error_shapes or {}), media_type=media_type,
        description=description or (handler.__doc__ or "").strip(), target=target,
        audited=auditing.audited_by_default(method, path) if audited is None else audited,
    )
    action = auditing.action_of(method, path)
    checker = None if answer is None else TypeAdapter(answer)

    async def handle(request: web.Request) -> web.StreamResponse:
        if not operation.audited:
            return await respond(request)
        return await auditing.answered(request, respond, action=action, target=target, body_key=_BODY_KEY)

    async def respond(request: web.Request) -> web.StreamResponse:
        if allowed is not None and request[USER_KEY].role not in allowed:
            return json_error(403, denied)
        try:
            if query is not None:
                request[_QUERY_KEY] = validated(query, dict(request.query))
            if body is not None:
                request[_BODY_KEY] = await _read_body(
                    request, body, limit=body_limit, optional=body_optional, forms=body_forms
                )
            result = await handler(request)
        except ApiError as exc:
            return json_ok({"error": exc.message, **exc.extra}, status=exc.status)
        if isinstance(result, web.StreamResponse):
            return result
        return _send(request, operation, checker, result)

    app.router.add_route(operation.method, path, handle)
    _declared(app).operations.append(operation)
    return operation


def declare(app: web.Application, method: str, path: str, *, summary: str, description: str = "",
            media_type: str | None = None, public: bool = False) -> Operation:
    """Record a route added to the router elsewhere (the websocket) for the document."""
    operation = Operation(
        method=method.upper(), path=path, summary=summary, roles=None, public=public, body=None,
        query=None, answer=None, status=200, errors={}, error_shapes={}, media_type=media_type,
        description=description,
    )
    _declared(app).operations.append(operation)
    return operation


async def _read_body(
    request: web.Request, model: type[M], *, limit: int, optional: bool, forms: bool
) -> M:
    if forms and request.content_type in FORMS:
        if request.content_length is not None and request.content_length > limit:
            raise ApiError(413, f"request body over {limit // 1024} KB")
        return validated(model, dict(await request.post()))
    if request.content_type != "application/json" and not (optional and not request.body_exists):
        # a browser sends a text/plain body or form cross-origin without asking first: JSON only
        raise ApiError(415, "the body must be JSON (Content-Type: application/json)")
    data = await read_json(request, limit=limit, optional=optional)
    return validated(model, data, strict=True)


FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def validated(model: type[M], data: Any, *, strict: bool = False) -> M:
    """``model`` from ``data``, or an :class:`ApiError` 400 naming the wrong fields."""
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise ApiError(400, describe(exc, model)) from exc


def _words(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> tuple[str, ...] | None:
    """The words a top-level field of ``model`` must be one of, if it is such a field."""
    if model is None or len(loc) != 1 or not isinstance(loc[0], str):
        return None
    field = model.model_fields.get(loc[0])
    if field is None:
        return None
    found = [m for m in field.metadata if isinstance(m, OneOf)]
    args = getattr(field.annotation, "__args__", ())
    for arg in args:  # ``Word | None``
        found += [m for m in getattr(arg, "__metadata__", ()) if isinstance(m, OneOf)]
    return found[0].words if found else None


def describe(error: ValidationError, model: type[BaseModel] | None = None) -> str:
    """``"summary: String should have ..."``, ``"type must be one of ..."``,
    ``"number is required"``; a field of words always says which words."""
    texts = []
    for problem in error.errors(include_url=False):
        field = ".".join(str(part) for part in problem["loc"])
        words = _words(model, problem["loc"])
        if words is not None:
            texts.append(f"{field} must be one of {', '.join(words)}")
        elif problem["type"] == "value_error":
            text = str(problem["ctx"]["error"])
            texts.append(f"{field} {text}" if field else text)
        elif problem["type"] == "missing":
            texts.append(f"{field} is required")
        else:
            texts.append(f"{field}: {problem['msg']}" if field else problem["msg"])
    return "; ".join(texts)


def body_of(request: web.Request, model: type[M]) -> M:
    """The request's body, as validated from the route's ``body`` model."""
    return _parsed(request.get(_BODY_KEY), model)


def query_of(request: web.Request, model: type[M]) -> M:
    """The request's query string, as validated from the route's ``query`` model."""
    return _parsed(request.get(_QUERY_KEY), model)


def _parsed(value: object, model: type[M]) -> M:
    if not isinstance(value, model):
        raise TypeError(f"the route does not declare {model.__name__}")
    return value


def _send(
    request: web.Request, operation: Operation, checker: TypeAdapter[Any] | None, result: Any
) -> web.Response:
    if checker is None:
        raise TypeError(f"{operation.method} {operation.path} declares no JSON answer")
    text = result.model_dump_json() if isinstance(result, BaseModel) else json.dumps(result, ensure_ascii=False)
    problem = answer_problem(checker, text)
    if problem is not None:
        message = f"the answer of {operation.method} {operation.path} breaks its declaration: {problem}"
        log.error("%s", message)
        if request.app.get(CHECK_ANSWERS_KEY, False):
            return json_error(500, message)
    return web.Response(
        text=text, status=operation.status, content_type="application/json", charset="utf-8"
    )


def answer_problem(checker: TypeAdapter[Any], text: str | bytes) -> str | None:
    """What is wrong with the JSON ``text`` as an answer of that type, or None."""
    try:
        checker.validate_json(text, strict=True)
    except ValidationError as exc:
        return describe(exc)
    return None


def operations(app: web.Application) -> list[Operation]:
    return list(_declared(app).operations)


def add_messages(app: web.Application, *shapes: type[BaseModel]) -> None:
    """Declare shapes the websocket sends (each with its ``type``)."""
    _declared(app).messages.extend(shapes)


def messages(app: web.Application) -> list[type[BaseModel]]:
    return list(_declared(app).messages)


def _declared(app: web.Application) -> Declared:
    if CONTRACT_KEY not in app:
        app[CONTRACT_KEY] = Declared()
    return app[CONTRACT_KEY]
