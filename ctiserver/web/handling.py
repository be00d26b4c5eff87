"""What every JSON API handler shares: bounded JSON bodies, API errors, the path's id.

The role guard and the validation of bodies and queries are in ``ctiserver.web.contract``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """Raised by a handler: answered as ``{"error": message, **extra}`` with ``status``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


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


def path_id(request: web.Request) -> int:
    """The ``{id}`` of the route, which only matches digits."""
    return int(request.match_info["id"])
