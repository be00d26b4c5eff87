"""Calls: every ended call stored (off the event path), the call listing served."""

from __future__ import annotations

from ctiserver.calls import http
from ctiserver.calls.model import CallUpdate
from ctiserver.calls.store import CallRepository, CallSnapshot
from ctiserver.core import Core


def register(core: Core) -> CallRepository:
    records = CallRepository(core.db, core.settings.hotline.region)
    # upserted by linkedid: journaled while the database is away, replayed at start
    writer = core.durable_writer(
        records.save_many, "ended calls", name="calls", encode=CallSnapshot.to_dict, decode=CallSnapshot.from_dict
    )

    def store_ended(update: CallUpdate) -> None:
        if update.kind == "ended":
            writer.put(CallSnapshot.of(update.call))

    core.calls.subscribe(store_ended)
    http.register(core.app, records)
    return records
