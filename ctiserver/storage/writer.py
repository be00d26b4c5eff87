"""Writes to the database off the event path: in batches, retried, drained at shutdown.

Event handlers run synchronously and must never wait for the database; they put
what is to be stored here. A failed write is retried with back-off (the database
may be restarting); what is still queued at shutdown is written before closing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class BackgroundWriter(Generic[T]):
    def __init__(self, save: Callable[[list[T]], Awaitable[None]], what: str, batch: int = 200) -> None:
        self._save_batch = save
        self._what = what
        self._batch = batch
        self._queue: asyncio.Queue[T] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def put(self, item: T) -> None:
        self._queue.put_nowait(item)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"writer: {self._what}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        while not self._queue.empty():
            await self._save(self._take(), attempts=3)

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            await self._save([first, *self._take()], attempts=None)

    def _take(self) -> list[T]:
        items: list[T] = []
        while len(items) < self._batch and not self._queue.empty():
            items.append(self._queue.get_nowait())
        return items

    async def _save(self, items: list[T], attempts: int | None) -> None:
        delay = 0.5
        attempt = 0
        while items:
            attempt += 1
            try:
                await self._save_batch(items)
                return
            except Exception:
                log.exception("could not store %d %s (attempt %d)", len(items), self._what, attempt)
                if attempts is not None and attempt >= attempts:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
