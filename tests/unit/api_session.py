"""A test client speaking the web API's JSON as one logged-in user at a time."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from aiohttp import web
from aiohttp.test_utils import TestClient


@dataclasses.dataclass
class ApiSession:
    client: TestClient[web.Request, web.Application]
    #: every test user's password
    password: ClassVar[str]

    async def login(self, username: str) -> None:
        response = await self.client.post(
            "/login", json={"username": username, "password": self.password}
        )
        assert response.status == 200, await response.text()

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = await self.client.request(method, path, json=body)
        assert response.content_type == "application/json", await response.text()
        return response.status, await response.json()
