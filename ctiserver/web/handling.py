"""What every JSON API handler shares: the role guard, bounded JSON bodies, API errors."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiohttp import web

from ctiserver.web.keys import USER_KEY
from ctiserver.web.responses import json_error, json_ok

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """Raised by a handler: answered as ``{"error": message, **extra}`` with ``status``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def api(roles: Collection[str], denied: str = "not allowed for your role") -> Callable[[Handler], Handler]:
    """403 for a role not in ``roles`` (the auth middleware has refused anonymous users);
    an :class:`ApiError` raised by the handler becomes its JSON error."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            if request[USER_KEY].role not in roles:
                return json_error(403, denied)
            try:
                return await handler(request)
            except ApiError as exc:
                return json_ok({"error": exc.message, **exc.extra}, status=exc.status)

        return guarded

    return decorate


#: the largest JSON body an API takes unless it says otherwise
MAX_BODY = 64 * 1024


async def read_json(
    request: web.Request, *, limit: int = MAX_BODY, optional: bool = False
) -> dict[str, Any]:
    """The request's JSON object, refusing more than ``limit`` bytes (chunked bodies too).

    With ``optional``, an empty body reads as ``{}``.
    """
    too_large = ApiError(413, f"request body over {limit // 1024} KB")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise too_large
    if optional and not body.strip():
        return {}
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "malformed JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "expected a JSON object")
    return data


def optional_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{name} must be an integer")
    return value


def optional_str(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ApiError(400, f"{name} must be a string")


def query_int(request: web.Request, name: str) -> int:
    try:
        return int(request.query[name])
    except ValueError as exc:
        raise ApiError(400, f"{name} must be an integer") from exc


def path_id(request: web.Request) -> int:
    """The ``{id}`` of the route, which only matches digits."""
    return int(request.match_info["id"])
