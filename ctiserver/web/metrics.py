"""``GET /metrics``: this node as Prometheus sees it (``prometheus-client``'s text format).

Each server has its own :class:`ServerMetrics` (its own ``CollectorRegistry``, never the
library's global default), so several servers in one process (tests, a benchmark) keep
their counts apart. What is counted as it happens (AMI events and connections, FastAGI
command round trips, pop latency) is a counter or histogram fed by the composition root and
the features; what is a state (websocket clients, writers' queues, FastAGI sessions, leases
held, notifications) is read when scraped (:meth:`ServerMetrics.reading`); what needs the
database (the ticket-event feed's backlog per consumer) is read before each scrape by
:meth:`ServerMetrics.reading_async`.

Who may read it is ``web.metrics_access`` (docs/deploy.md): ``loopback`` (the default: a
Prometheus on the node's own host; a request that came through a proxy, i.e. carries
``Forwarded``, ``X-Forwarded-For`` or ``X-Real-IP``, is not taken as local), ``token`` (``Authorization:
Bearer <web.metrics_token>``) or ``admins`` (a logged-in admin's session).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ctiserver.settings import WebSettings
from ctiserver.web.auth import session_user
from ctiserver.web.keys import SETTINGS_KEY

log = logging.getLogger(__name__)

ACCESS = ("loopback", "token", "admins")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: seconds an async reading may take before the scrape goes on without it
READING_TIMEOUT = 2.0

#: a reading: one value, or values by the label's value
Reading = Callable[[], float | Mapping[str, float]]
AsyncReading = Callable[[], Awaitable[Mapping[str, float]]]

_FAST = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class _Gauge:
    name: str
    documentation: str
    label: str | None
    read: Reading


class _Readings(Collector):
    """Gauges whose values are read when Prometheus scrapes."""

    def __init__(self) -> None:
        self.gauges: list[_Gauge] = []
        #: the async readings' last values, by gauge name
        self.latest: dict[str, Mapping[str, float]] = {}

    def collect(self) -> Iterator[Metric]:
        for gauge in self.gauges:
            try:
                value = gauge.read()
            except Exception:
                log.exception("metric %s could not be read", gauge.name)
                continue
            yield _family(gauge, value)

    def describe(self) -> Iterator[Metric]:
        return iter(())


def _family(gauge: _Gauge, value: float | Mapping[str, float]) -> GaugeMetricFamily:
    if not isinstance(value, Mapping):
        return GaugeMetricFamily(gauge.name, gauge.documentation, value=value)
    family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=[gauge.label or "name"])
    for key, amount in sorted(value.items()):
        family.add_metric([key], amount)
    return family


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        registry = self.registry
        self.ami_events = Counter("ctiserver_ami_events", "AMI events received", registry=registry)
        self.ami_connections = Counter(
            "ctiserver_ami_connections", "AMI logins: the first and every reconnection", registry=registry
        )
        self.agi_command_seconds = Histogram(
            "ctiserver_fastagi_command_seconds", "FastAGI commands' round trips to Asterisk",
            ["command"], buckets=_FAST, registry=registry,
        )
        self.pop_seconds = Histogram(
            "ctiserver_pop_seconds", "From an agent's phone ringing to its pop handed to the websockets",
            buckets=_FAST, registry=registry,
        )
        self._readings = _Readings()
        self._async: list[tuple[str, AsyncReading]] = []
        registry.register(self._readings)

    def agi_command(self, words: list[str], seconds: float) -> None:
        """The FastAGI sessions' observer: one command's round trip (e.g. ``STREAM FILE``)."""
        self.agi_command_seconds.labels(" ".join(words[:2]).upper()).observe(seconds)

    def reading(self, name: str, documentation: str, read: Reading, *, label: str | None = None) -> None:
        """A gauge read at each scrape: one value, or (with ``label``) values by that label."""
        self._readings.gauges.append(_Gauge(name, documentation, label, read))

    def reading_async(self, name: str, documentation: str, read: AsyncReading, *, label: str) -> None:
        """A gauge by ``label`` whose values need the database: read before each scrape."""
        self._async.append((name, read))
        latest = self._readings.latest
        self.reading(name, documentation, lambda: latest.get(name, {}), label=label)

    async def scrape(self) -> bytes:
        for name, read in self._async:
            try:
                async with asyncio.timeout(READING_TIMEOUT):
                    self._readings.latest[name] = dict(await read())
            except Exception as exc:  # noqa: BLE001  (a reading that fails leaves the others)
                log.warning("metric %s could not be read: %s", name, exc)
        return generate_latest(self.registry)


METRICS_KEY = web.AppKey("metrics", ServerMetrics)


def check_access_setting(settings: WebSettings) -> None:
    if settings.metrics_access not in ACCESS:
        raise ValueError(f"web.metrics_access must be one of {', '.join(ACCESS)}, not {settings.metrics_access!r}")
    if settings.metrics_access == "token" and len(settings.metrics_token) < 16:
        raise ValueError("web.metrics_access = token needs web.metrics_token (16 characters or more)")


async def _allowed(request: web.Request, settings: WebSettings) -> bool:
    if settings.metrics_access == "loopback":
        if any(name in request.headers for name in ("Forwarded", "X-Forwarded-For", "X-Real-IP")):
            return False
        try:
            return ipaddress.ip_address(request.remote or "").is_loopback
        except ValueError:
            return False  # a Unix socket or an unknown peer
    if settings.metrics_access == "token":
        given = request.headers.get("Authorization", "")
        expected = f"Bearer {settings.metrics_token}"
        return bool(settings.metrics_token) and hmac.compare_digest(given.encode(), expected.encode())
    user = await session_user(request)
    return user is not None and user.role == "admin"


async def metrics(request: web.Request) -> web.Response:
    if not await _allowed(request, request.app[SETTINGS_KEY].web):
        return web.Response(status=403, text="metrics: not allowed (web.metrics_access)\n")
    body = await request.app[METRICS_KEY].scrape()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
