"""Calls: every ended call stored (off the event path), the call listing served."""

from __future__ import annotations

from ctiserver.calls import http
from ctiserver.calls.model import CallUpdate
from ctiserver.calls.store import CallRepository, CallSnapshot
from ctiserver.core import Core
from ctiserver.storage.writer import BackgroundWriter
from ctiserver.web import health


def register(core: Core) -> CallRepository:
    records = CallRepository(core.db)
    writer = ended_calls_writer(core, records)

    def store_ended(update: CallUpdate) -> None:
        if update.kind == "ended":
            writer.put(CallSnapshot.of(update.call))

    core.calls.subscribe(store_ended)
    core.on_start(writer.start)
    core.on_stop(writer.stop)
    http.register(core.app, records)
    return records


def ended_calls_writer(core: Core, records: CallRepository) -> BackgroundWriter[CallSnapshot]:
    """Ended calls, upserted by linkedid: journaled while the database is away, replayed at start."""
    writer: BackgroundWriter[CallSnapshot] = BackgroundWriter(
        records.save_many,
        "ended calls",
        name="calls",
        encode=CallSnapshot.to_dict,
        decode=CallSnapshot.from_dict,
        settings=core.settings.storage,
    )
    health.watch_writer(core.app, writer)
    return writer
