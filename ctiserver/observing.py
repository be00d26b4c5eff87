"""What a node shows of its shared infrastructure: its metrics (``/metrics``: AMI, FastAGI,
background writers, leases, wake-ups) and its leases in ``/healthz``. The features add their
own metrics (pop latency, the ticket-event feed's backlog) where they register."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ctiserver.core import Core
from ctiserver.storage.leases import Leases
from ctiserver.web import health
from ctiserver.web.metrics import ServerMetrics


class LeaseHealth:
    """``/healthz`` ``checks.leases``: the node, the leases it holds and those it waits for;
    not ok while its lease connection is down (it can then hold none)."""

    name = "leases"

    def __init__(self, leases: Leases) -> None:
        self.leases = leases

    async def check(self) -> tuple[bool, dict[str, Any]]:
        leases = self.leases
        return leases.connected, {
            "node": leases.node, "held": leases.held(),
            "waiting": [name for name in leases.wanted() if not leases.is_held(name)],
        }


def observe(core: Core, metrics: ServerMetrics) -> None:
    """Register this node's infrastructure gauges and its lease check."""
    health.watch_check(core.app, LeaseHealth(core.leases))
    core.agi.observer = metrics.agi_command
    leases, notifications = core.leases, core.notifications
    metrics.reading("ctiserver_ami_connected", "1 while the AMI link is up", lambda: float(core.ami.connected))
    metrics.reading("ctiserver_fastagi_sessions", "FastAGI connections being served",
                    lambda: float(core.agi.active_sessions))
    metrics.reading("ctiserver_leases_held", "1 for each lease this node holds, 0 for each it waits for",
                    lambda: {name: float(leases.is_held(name)) for name in leases.wanted()} or
                    dict.fromkeys(leases.held(), 1.0), label="lease")
    metrics.reading("ctiserver_leases_taken", "Leases this node took (first time and after a loss)",
                    lambda: float(leases.taken))
    metrics.reading("ctiserver_notifications_received", "Wake-ups from other nodes (PostgreSQL NOTIFY)",
                    lambda: dict(notifications.received), label="channel")
    metrics.reading("ctiserver_notify_connections", "LISTEN connections made (the first and reconnections)",
                    lambda: float(notifications.connections))

    def writers(field: str) -> Mapping[str, float]:
        return {
            status.name: float(getattr(status, field))
            for status in (writer.status() for writer in core.app.get(health.WRITERS_KEY, []))
        }

    metrics.reading("ctiserver_writer_queued", "Records in a background writer's memory, not written yet",
                    lambda: writers("queued"), label="writer")
    metrics.reading("ctiserver_writer_journaled", "Records in a background writer's journal, not committed yet",
                    lambda: writers("journaled"), label="writer")
    metrics.reading("ctiserver_writer_dead_lettered", "Records a background writer could not store",
                    lambda: writers("dead_lettered"), label="writer")
    started = time.time()
    metrics.reading("ctiserver_start_time_seconds", "When this node started (epoch seconds)", lambda: started)
