"""A small reverse proxy for tests: one address in front of several nodes, as nginx's
``upstream`` is in docs/deploy.md section 9.

Each request and each websocket goes to the first upstream that accepts a connection, in
the order given (a dead node refuses it: the next is tried). Requests pass through as they
came (the ``Host``, ``Origin`` and ``Cookie`` headers too, so a node sees what it would see
behind nginx); a websocket is relayed both ways and closed towards the browser when the
node's end closes (the node died), so the page reconnects, through the proxy, to the next.
``served`` records which upstream took each websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
from aiohttp import web

from ctiserver.lab.isolated import free_port

_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length",
})


class ReverseProxy:
    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        #: the upstream of each websocket relayed, in order
        self.served: list[str] = []
        self._client: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._relays: set[web.WebSocketResponse] = set()

    async def start(self) -> None:
        self._client = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, connect=2.0),
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        for browser in list(self._relays):  # else the server waits for them at cleanup
            with contextlib.suppress(Exception):
                await browser.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()

    def _headers(self, request: web.Request) -> dict[str, str]:
        return {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP
                and not k.lower().startswith("sec-websocket")}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        assert self._client is not None
        body = await request.read()
        for upstream in self.upstreams:
            try:
                async with self._client.request(
                    request.method, upstream + request.path_qs, headers=self._headers(request),
                    data=body or None, allow_redirects=False,
                ) as answer:
                    payload = await answer.read()
                    response = web.Response(status=answer.status, body=payload)
                    for key, value in answer.headers.items():
                        if key.lower() not in _HOP_BY_HOP:
                            response.headers.add(key, value)
                    return response
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=502, text="no upstream")

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        assert self._client is not None
        headers = self._headers(request)
        for upstream in self.upstreams:
            try:
                node = await self._client.ws_connect(upstream + request.path_qs, headers=headers)
            except aiohttp.WSServerHandshakeError as exc:
                return web.Response(status=exc.status, text="refused by the node")
            except aiohttp.ClientConnectionError:
                continue
            self.served.append(upstream)
            browser = web.WebSocketResponse()
            await browser.prepare(request)
            self._relays.add(browser)
            try:
                await _relay(browser, node)
            finally:
                self._relays.discard(browser)
            return browser
        return web.Response(status=502, text="no upstream")


async def _relay(browser: web.WebSocketResponse, node: aiohttp.ClientWebSocketResponse) -> None:
    async def pump(source: Any, sink: Any) -> None:
        async for message in source:
            if message.type == aiohttp.WSMsgType.TEXT:
                await sink.send_str(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await sink.send_bytes(message.data)
            else:
                break

    tasks = [asyncio.create_task(pump(browser, node)), asyncio.create_task(pump(node, browser))]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(Exception):
        await node.close()
    with contextlib.suppress(Exception):
        await browser.close()
