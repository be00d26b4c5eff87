"""The API contract as the tests check it: the real server's declared routes and shapes
(``ctiserver/web/contract.py``, ``*/schemas.py``), and a check of any HTTP answer or
websocket message against them.

``ContractCheck.of_server()`` reads the declarations from the web application exactly as
``ctiserver.server.CtiServer`` composes it (every feature registered). The pages' fake
server (tests/ui_fake_server.py) runs its answers and pushes through it, so the pages are
tested against the shapes the real server declares.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from ctiserver.web.contract import Operation, answer_problem, messages, operations
from ctiserver.web.schemas import ErrorBody

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def full_app() -> web.Application:
    """The real web application, every feature registered as the server does (not started)."""
    from ctiserver.server import CtiServer
    from ctiserver.settings import Settings

    return CtiServer(Settings()).web_app


def path_regex(path: str) -> re.Pattern[str]:
    """The router's path (``/api/kb/{id:\\d{1,9}}/read``) as a regex matching request paths."""
    out, i = "", 0
    for match in re.finditer(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})*))?\}", path):
        out += re.escape(path[i : match.start()]) + f"({match.group(2) or '[^{}/]+'})"
        i = match.end()
    return re.compile(out + re.escape(path[i:]) + r"\Z")


class ContractCheck:
    def __init__(self, app: web.Application) -> None:
        self.operations = operations(app)
        self._patterns = [(op, path_regex(op.path)) for op in self.operations]
        self._messages: dict[str, type[BaseModel]] = {}
        for shape in messages(app):
            kind = shape.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
            self._messages[kind] = shape
        #: what broke the contract, e.g. "GET /api/agent 200: agent.since: ..."
        self.problems: list[str] = []
        self.answered: list[tuple[str, str, int]] = []

    @classmethod
    @functools.cache
    def _server_app(cls) -> web.Application:
        return full_app()

    @classmethod
    def of_server(cls) -> ContractCheck:
        return cls(cls._server_app())

    def operation(self, method: str, path: str) -> Operation | None:
        for op, pattern in self._patterns:
            if op.method == method and pattern.match(path):
                return op
        return None

    def answer_problem(self, method: str, path: str, status: int, text: str | bytes) -> str | None:
        """What is wrong with that answer of ``method path``, or None."""
        op = self.operation(method, path)
        if op is None:
            return "no such route in the contract"
        if 200 <= status < 300:
            if status != op.status:
                return f"answered {status}, the contract says {op.status}"
            if op.answer is None:
                return None
            return answer_problem(TypeAdapter(op.answer), text)
        #: any route may fail (the fake's ``report_failure``) or refuse a large body
        declared = set(op.errors) | {400, 401, 403, 413, 500}
        if status not in declared:
            return f"answered {status}, not an error status it declares ({sorted(declared)})"
        return answer_problem(TypeAdapter(op.error_shapes.get(status, ErrorBody)), text)

    def message_problem(self, message: Any) -> str | None:
        """What is wrong with a websocket message, or None."""
        kind = message.get("type") if isinstance(message, dict) else None
        shape = self._messages.get(str(kind))
        if shape is None:
            return f"not a message the contract declares: type {kind!r}"
        return answer_problem(TypeAdapter(shape), json.dumps(message, ensure_ascii=False))

    def check_message(self, message: Any) -> None:
        problem = self.message_problem(message)
        if problem is not None:
            self.problems.append(f"websocket {message.get('type')!r}: {problem}")

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Records every answer of /api (and of the contract's other routes, e.g. /login)
        that breaks the contract; the websocket's messages are checked where they are sent."""
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self._check(request, exc.status, exc.text or "")
            raise
        if request.path == "/ws" or request.path.startswith("/ui/") or request.path.startswith("/_fake/"):
            return response
        text = response.text if isinstance(response, web.Response) else None
        if text is None:
            self.problems.append(f"{request.method} {request.path}: not a plain response")
            return response
        self._check(request, response.status, text)
        return response

    def _check(self, request: web.Request, status: int, text: str) -> None:
        if not request.path.startswith("/api/") and self.operation(request.method, request.path) is None:
            return  # not the API (e.g. /favicon.ico)
        self.answered.append((request.method, request.path, status))
        problem = self.answer_problem(request.method, request.path, status, text)
        if problem is not None:
            self.problems.append(f"{request.method} {request.path} {status}: {problem}")
