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
    return json_object(bytes(body))


#: the deepest nesting of arrays and objects a JSON body may have (the API's shapes need 4)
MAX_DEPTH = 32


def json_depth_over(text: bytes, limit: int = MAX_DEPTH) -> bool:
    """True if the brackets of ``text`` nest deeper than ``limit`` (those in strings aside):
    found before parsing, so that no parser recurses on a hostile body."""
    if text.count(b"[") + text.count(b"{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def json_object(body: bytes) -> dict[str, Any]:
    """A JSON object from ``body``: 400 for malformed, too deeply nested or other JSON."""
    if json_depth_over(body):
        raise ApiError(400, f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ApiError(400, "malformed JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "expected a JSON object")
    return data


def path_id(request: web.Request) -> int:
    """The ``{id}`` of the route, which only matches digits."""
    return int(request.match_info["id"])
