"""A real HTTP receiver of webhooks for tests: an aiohttp server on a port of its own that
verifies each request's signature (401 when it does not match), answers 2xx (or what the
test asks), and records every request in order."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ctiserver.lab.isolated import free_port
from ctiserver.webhooks.model import verify


@dataclass
class Received:
    delivery: str
    kind: str
    body: dict[str, Any]
    #: the status answered (None: the request was never answered, e.g. its sender died)
    status: int | None = None


@dataclass
class Receiver:
    secret: str
    port: int = field(default_factory=free_port)
    #: the status answered to every request (503 to play a receiver in trouble)
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    #: the request for this event id waits until ``release`` is set
    hold_event: int | None = None
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    #: seconds each answer waits (contention between deliverers)
    delay: float = 0.0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?token=x"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = request.headers
        if not verify(self.secret, headers.get("X-CTI-Timestamp", ""), raw,
                      headers.get("X-CTI-Signature", ""), now=time.time()):
            self.bad_signatures += 1
            return web.Response(status=401)
        body = json.loads(raw)
        received = Received(headers["X-CTI-Delivery"], headers["X-CTI-Event"], body)
        self.requests.append(received)
        if self.hold_event is not None and body["event"]["id"] == self.hold_event:
            self.held.set()
            await self.release.wait()
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=200)  # its sender is gone: it never hears this
        if self.delay:
            await asyncio.sleep(self.delay)
        received.status = self.status
        return web.Response(status=self.status, text="ok")

    def delivered(self) -> list[str]:
        """The deliveries answered 2xx, in the order they came."""
        return [r.delivery for r in self.requests if r.status is not None and 200 <= r.status < 300]

    def event_ids(self) -> list[int]:
        return [r.body["event"]["id"] for r in self.requests if r.status is not None and 200 <= r.status < 300]
