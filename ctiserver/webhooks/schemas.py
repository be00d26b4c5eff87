"""JSON shapes of the webhooks (``GET /api/webhooks``)."""

from __future__ import annotations

from ctiserver.web.schemas import Moment, Shape


class WebhookAttemptView(Shape):
    event_id: int
    at: Moment
    #: the HTTP status answered; null when there was no answer
    status_code: int | None
    #: why there was no answer (refused, timed out...)
    error: str | None
    #: seconds
    duration: float


class WebhookEndpointView(Shape):
    name: str
    #: where events are POSTed (without user, password or query string)
    url: str
    kinds: list[str]
    #: the ``ticket_events.id`` last delivered or passed; null before the deliverer first ran
    cursor: int | None
    cursor_updated_at: Moment | None
    #: events of the endpoint's kinds not delivered yet
    backlog: int
    oldest_pending_at: Moment | None
    #: failed attempts since the last 2xx
    failures: int
    #: the oldest undelivered event is older than webhooks.stuck_after
    stuck: bool
    last_attempt: WebhookAttemptView | None


class WebhookList(Shape):
    """``GET /api/webhooks``: the configured endpoints, in the settings' order."""

    endpoints: list[WebhookEndpointView]
