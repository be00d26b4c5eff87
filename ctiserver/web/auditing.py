"""What the route contract (``ctiserver.web.contract``) records of an API request in the audit
log, ``app[AUDIT_KEY]`` (the ``ctiserver.audit`` feature; absent, nothing is recorded).

Every POST, PUT, PATCH and DELETE under ``/api/`` is recorded once it is answered (success,
error, or a 403 refusal); a GET only where its route asks for it (``route(audited=True)``).
The entry holds the user, the action (the method and the declared path, ``POST
/api/flows/{name}/rollback``), the target (the route's ``target`` kind; its id from the path,
or noted by the handler with :func:`note_target`), the status, the client's address, and as
details the path parameters and the validated body's fields: not those marked
:class:`~ctiserver.web.schemas.NotAudited` (``Secret``) or named like a secret, each text cut
at :data:`MAX_TEXT` characters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from ctiserver.web.keys import AUDIT_KEY, USER_KEY
from ctiserver.web.schemas import NotAudited

log = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: a body field with such a name is never kept, marked or not
SECRET_NAME = re.compile(r"passw|secret|token|credential", re.IGNORECASE)
#: characters kept of a text, items kept of a list or an object
MAX_TEXT = 256
MAX_ITEMS = 50

_TARGET_KEY: web.RequestKey[tuple[str | None, str]] = web.RequestKey("audit_target")


def audited_by_default(method: str, path: str) -> bool:
    return method.upper() in MUTATING and path.startswith("/api/")


def action_of(method: str, path: str) -> str:
    """``POST /api/kb/{id}/read`` for the route ``POST /api/kb/{id:\\d{1,9}}/read``."""
    out: list[str] = []
    depth, pattern = 0, False
    for char in path:
        if char == "{":
            depth += 1
            if depth == 1:
                out.append(char)
                pattern = False
                continue
        elif char == "}":
            depth -= 1
            if depth == 0:
                out.append(char)
                continue
        elif char == ":" and depth == 1:
            pattern = True
        if depth == 0 or not pattern:
            out.append(char)
    return f"{method.upper()} {''.join(out)}"


def note_target(request: web.Request, target_id: object, kind: str | None = None) -> None:
    """The thing the request acted on, where its path does not name it (a ticket just opened,
    the user's own agent); ``kind`` overrides the route's ``target``."""
    request[_TARGET_KEY] = (kind, str(target_id))


async def answered(
    request: web.Request, answer: Callable[[web.Request], Awaitable[web.StreamResponse]], *,
    action: str, target: str | None, body_key: web.RequestKey[Any],
) -> web.StreamResponse:
    """``answer(request)``, then its entry recorded: the status answered, 500 for an error that
    escaped, None when the request was cancelled."""
    status: int | None = None
    try:
        response = await answer(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except Exception:
        status = 500
        raise
    finally:
        record(request, action=action, target=target, status=status, body=request.get(body_key))


def record(request: web.Request, *, action: str, target: str | None, status: int | None,
           body: BaseModel | None) -> None:
    """Hand the request's entry to the audit log; a failure is logged, never raised."""
    sink = request.app.get(AUDIT_KEY)
    if sink is None:
        return
    try:
        user = request.get(USER_KEY)
        params = dict(request.match_info)
        kind, target_id = request.get(_TARGET_KEY, (None, None))
        if target_id is None:
            target_id = params.get("id", params.get("name"))
        details: dict[str, Any] = {}
        if params:
            details["params"] = params
        if body is not None:
            details["body"] = body_fields(body)
        sink.record(
            action, user_id=None if user is None else user.id,
            username="anonymous" if user is None else user.username,
            target_kind=kind or target, target_id=target_id, status=status,
            details=details or None, client=request.remote,
        )
    except Exception:  # the audit log never breaks the request it records
        log.exception("could not audit %s", action)


def body_fields(body: BaseModel) -> dict[str, Any]:
    """The body's fields as JSON, without the secret ones, each value cut to size."""
    kept = {
        name for name, field in type(body).model_fields.items()
        if not SECRET_NAME.search(name) and not _marked(field.metadata, field.annotation)
    }
    return {name: _cut(value) for name, value in body.model_dump(mode="json", include=kept).items()}


def _marked(metadata: list[Any], annotation: Any) -> bool:
    found = list(metadata)
    for arg in getattr(annotation, "__args__", ()):  # ``Secret | None``
        found += getattr(arg, "__metadata__", ())
    return any(isinstance(m, NotAudited) for m in found)


def _cut(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else f"{value[:MAX_TEXT]}… ({len(value)} characters)"
    if isinstance(value, list):
        return [_cut(v) for v in value[:MAX_ITEMS]]
    if isinstance(value, Mapping):
        return {str(k): _cut(v) for k, v in list(value.items())[:MAX_ITEMS] if not SECRET_NAME.search(str(k))}
    return value
