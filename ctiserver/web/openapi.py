"""The OpenAPI 3.1 document of the declared routes (``ctiserver.web.contract``), served at
``GET /api/openapi.json``.

The schemas are the models' own JSON schemas (``*/schemas.py``), collected under
``components/schemas``; the roles that may call a route are in its ``x-roles`` (and
said in its description); the session cookie is the security scheme. The shapes the
websocket sends are listed in ``x-messages`` of ``GET /ws``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from ctiserver.vocabulary import USER_ROLES
from ctiserver.web.auth import COOKIE_NAME
from ctiserver.web.contract import Operation, messages, operations, route
from ctiserver.web.schemas import ErrorBody

REF = "#/components/schemas/{model}"
#: the document, built at the first request (when every route has been added)
_CACHE_KEY = web.AppKey("openapi_cache", dict[str, dict[str, Any]])
_PARAMETER = re.compile(r"\{(\w+)(?::([^{}]*(?:\{[^{}]*\}[^{}]*)*))?\}")

STANDARD_ERRORS = {
    400: "the query or the body is not what the route takes",
    401: "no session (log in first)",
    403: "the user's role may not call it",
    413: "the body is larger than the route takes",
    415: "the body is not JSON (Content-Type: application/json)",
}


def openapi_path(path: str) -> str:
    """``/api/customers/{id:\\d{1,9}}`` -> ``/api/customers/{id}``."""
    return _PARAMETER.sub(lambda m: "{" + m.group(1) + "}", path)


def _path_parameters(path: str) -> list[dict[str, Any]]:
    parameters = []
    for match in _PARAMETER.finditer(path):
        name, pattern = match.group(1), match.group(2)
        schema: dict[str, Any] = {"type": "string"}
        if pattern and pattern.startswith(r"\d"):
            schema = {"type": "integer", "minimum": 0}
        elif pattern:
            schema["pattern"] = f"^{pattern}$"
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _models(ops: Sequence[Operation], extra: Iterable[type[BaseModel]]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [ErrorBody, *extra]
    for op in ops:
        found += [m for m in (op.body, op.answer, *op.error_shapes.values()) if _is_model(m)]
    return list(dict.fromkeys(found))


class _Components:
    """The schemas collected for ``components/schemas`` and the references to the models."""

    def __init__(self, models: Sequence[type[BaseModel]]) -> None:
        refs, defs = models_json_schema([(model, "validation") for model in models], ref_template=REF)
        self.refs: dict[Any, dict[str, Any]] = {model: ref for (model, _), ref in refs.items()}
        self.schemas: dict[str, Any] = dict(defs.get("$defs", {}))

    def ref(self, model: type[BaseModel]) -> dict[str, Any]:
        return dict(self.refs[model])

    def schema_of(self, answer: Any) -> dict[str, Any]:
        """A reference to a model, or the schema of another type (its $defs collected)."""
        if _is_model(answer):
            return self.ref(answer)
        schema = TypeAdapter(answer).json_schema(ref_template=REF)
        self.schemas.update(schema.pop("$defs", {}))
        return schema


def _query_parameters(model: type[BaseModel], components: _Components) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    components.schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _given(field),
            **({"description": field["description"]} if "description" in field else {}),
        }
        for name, field in schema.get("properties", {}).items()
    ]


def _given(field: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: absent or a value (``X | None`` reads as X)."""
    options = [o for o in field.get("anyOf", []) if o != {"type": "null"}]
    if len(options) != 1:
        return field
    rest = {k: v for k, v in field.items() if k not in ("anyOf", "default")}
    return {**options[0], **rest}


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(op: Operation, components: _Components, messages: list[type[BaseModel]]) -> dict[str, Any]:
    roles = sorted(op.roles) if op.roles is not None else None
    who = "no session needed" if op.public else (
        f"roles: {', '.join(roles)}" if roles is not None else "any logged-in user"
    )
    doc: dict[str, Any] = {
        "summary": op.summary,
        "description": f"{op.description}\n\n({who})".strip(),
        "operationId": f"{op.method.lower()}_{_slug(openapi_path(op.path))}",
        "x-roles": roles if roles is not None else [],
    }
    if op.public:
        doc["security"] = []
    parameters = _path_parameters(op.path)
    if op.query is not None:
        parameters += _query_parameters(op.query, components)
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": _json(components.ref(op.body)),
        }
    responses: dict[str, Any] = {}
    if op.answer is not None:
        responses[str(op.status)] = {"description": "OK", "content": _json(components.schema_of(op.answer))}
    elif op.path == "/ws":
        responses["101"] = {"description": "switched to the websocket"}
        doc["x-messages"] = [components.ref(m) for m in messages]
    else:
        media = op.media_type or "application/octet-stream"
        responses[str(op.status)] = {"description": "OK", "content": {media: {"schema": {"type": "string"}}}}
    errors = {} if op.public else {401: STANDARD_ERRORS[401]}
    if op.roles is not None:
        errors[403] = STANDARD_ERRORS[403]
    if op.body is not None or op.query is not None:
        errors[400] = STANDARD_ERRORS[400]
    if op.body is not None:
        errors[413], errors[415] = STANDARD_ERRORS[413], STANDARD_ERRORS[415]
    if op.method not in ("GET", "HEAD", "OPTIONS"):
        errors.setdefault(403, "from another origin (Origin or Referer), or the user's role may not call it")
    errors.update(op.errors)
    for status, text in sorted(errors.items()):
        shape = components.ref(op.error_shapes.get(status, ErrorBody))
        responses[str(status)] = {"description": text, "content": _json(shape)}
    doc["responses"] = responses
    return doc


def build_document(
    app: web.Application, *, title: str = "ctiserver", version: str = "0.1.0"
) -> dict[str, Any]:
    ops = operations(app)
    sent = messages(app)
    components = _Components(_models(ops, sent))
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        operation = _operation(op, components, sent)
        paths.setdefault(openapi_path(op.path), {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "The contact center's HTTP API and websocket (docs/agent-desktop.md). "
            "Every /api route and /ws need the session cookie that POST /login sets.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": COOKIE_NAME}},
        },
        "security": [{"session": []}],
    }


async def openapi_json(request: web.Request) -> dict[str, Any]:
    """This document."""
    cache = request.app[_CACHE_KEY]
    if "document" not in cache:
        cache["document"] = build_document(request.app)
    return cache["document"]


def register(app: web.Application) -> None:
    app[_CACHE_KEY] = {}
    route(app, "GET", "/api/openapi.json", openapi_json, summary="The API's OpenAPI 3.1 document",
          roles=USER_ROLES, answer=dict[str, Any])

