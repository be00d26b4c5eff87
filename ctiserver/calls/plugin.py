"""Calls: every ended call stored (off the event path), the call listing served."""

from __future__ import annotations

from ctiserver.calls import http
from ctiserver.calls.model import Call, CallUpdate
from ctiserver.calls.store import CallRepository
from ctiserver.core import Core
from ctiserver.storage.writer import BackgroundWriter


def register(core: Core) -> CallRepository:
    records = CallRepository(core.db)

    async def save(calls: list[Call]) -> None:
        for call in calls:
            await records.save(call)

    writer: BackgroundWriter[Call] = BackgroundWriter(save, "ended calls")

    def store_ended(update: CallUpdate) -> None:
        if update.kind == "ended":
            writer.put(update.call)

    async def start() -> None:
        writer.start()

    core.calls.subscribe(store_ended)
    core.on_start(start)
    core.on_stop(writer.stop)
    http.register(core.app, records)
    return records
