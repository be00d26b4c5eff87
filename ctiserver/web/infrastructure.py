"""The routes of the web infrastructure itself: login and logout, who am I, health, the
websocket and the API's OpenAPI document (the vocabulary, ``/api/meta``, is ``ctiserver.meta``)."""

from __future__ import annotations

from aiohttp import web

from ctiserver.vocabulary import USER_ROLES
from ctiserver.web import auth, health, metrics, openapi
from ctiserver.web.contract import declare, route
from ctiserver.web.schemas import (
    Acknowledged,
    Credentials,
    HealthStatus,
    HealthView,
    UserAnswer,
)


def register(app: web.Application) -> None:
    route(app, "GET", "/healthz", health.healthz, summary="Is the server up: the status for "
          "anyone, what is behind it (Asterisk, the database, parts, writers) for an admin",
          public=True, answer=HealthView | HealthStatus)
    route(app, "POST", "/login", auth.login, summary="Log in: sets the session cookie",
          public=True, body=Credentials, body_forms=True, answer=UserAnswer,
          errors={401: "invalid username or password",
                  429: "too many failed logins: try again after Retry-After seconds"})
    route(app, "POST", "/logout", auth.logout, summary="Log out: ends the session", public=True,
          answer=Acknowledged)
    route(app, "GET", "/api/me", auth.me, summary="The logged-in user", roles=USER_ROLES,
          answer=UserAnswer)
    openapi.register(app)
    app.router.add_get("/metrics", metrics.metrics)
    declare(app, "GET", "/metrics", summary="This node in Prometheus' text format",
            description="Who may read it: web.metrics_access (loopback, token or admins).",
            public=True, media_type="text/plain")
    declare(app, "GET", "/", summary="The home page: the login, or the pages the user may open",
            public=True, media_type="text/html")
    declare(app, "GET", "/ws", summary="The live feed: pops, agent and call changes, the wallboard",
            description="A websocket; the first message is the hello. See x-messages for "
            "the shapes it sends.")
