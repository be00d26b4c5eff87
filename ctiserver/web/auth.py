"""Sessions (in the database, a random token in the cookie), login/logout, and the
middleware guarding /api and /ws."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp_session import get_session, new_session
from aiohttp_session import setup as setup_session

from ctiserver.settings import WebSettings
from ctiserver.web.contract import body_of
from ctiserver.web.handling import ApiError
from ctiserver.web.keys import SESSIONS_KEY, THROTTLE_KEY, USER_KEY, USERS_KEY
from ctiserver.web.protocols import SessionStore, SignedInUser
from ctiserver.web.responses import json_error
from ctiserver.web.schemas import Credentials
from ctiserver.web.sessions import SESSION_USER_ID, DatabaseStorage

log = logging.getLogger(__name__)

COOKIE_NAME = "CTISERVER_SESSION"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_sessions(app: web.Application, settings: WebSettings, sessions: SessionStore) -> None:
    app[SESSIONS_KEY] = sessions
    storage = DatabaseStorage(
        sessions, cookie_name=COOKIE_NAME, httponly=True, samesite="Lax", secure=settings.secure_cookies,
    )
    setup_session(app, storage)


async def session_user(request: web.Request) -> SignedInUser | None:
    """The user of the request's session, if it is open and the user still may log in."""
    session = await get_session(request)
    user_id = session.get(SESSION_USER_ID)
    user = await request.app[USERS_KEY].active(user_id) if isinstance(user_id, int) else None
    if user is None and not session.empty:
        session.invalidate()
    return user


def needs_login(path: str) -> bool:
    return path == "/ws" or path == "/api" or path.startswith("/api/")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """/api/* and /ws need an open session of a user that still exists and is not disabled;
    API errors are JSON."""
    if not needs_login(request.path):
        return await handler(request)
    user = await session_user(request)
    if user is None:
        return json_error(401, "login required")
    request[USER_KEY] = user
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_error(exc.status, exc.reason)


async def login(request: web.Request) -> web.StreamResponse | dict[str, object]:
    credentials = body_of(request, Credentials)
    username, password = credentials.username, credentials.password
    address = request.remote or "unknown"
    throttle = request.app[THROTTLE_KEY]
    wait = await throttle.wait(username, address)
    if wait > 0:
        log.warning(
            "login for %r from %s refused: %.0f s to wait after failures", username[:64], address, wait
        )
        response = json_error(429, "too many failed logins: try again later")
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    user = await request.app[USERS_KEY].authenticate(username, password)
    if user is None:
        await throttle.failed(username, address)
        log.warning("failed login for %r from %s", username[:64], address)
        raise ApiError(401, "invalid username or password")
    await throttle.succeeded(username, address)
    # the session this browser had ends; a new one starts empty: nothing carries over
    old = await get_session(request)
    if old.identity is not None:
        await request.app[SESSIONS_KEY].revoke(old.identity)
    session = await new_session(request)
    session[SESSION_USER_ID] = user.id
    return {"user": user.to_dict()}


async def logout(request: web.Request) -> dict[str, object]:
    """The session ends on every server: a copy of the cookie no longer opens it."""
    session = await get_session(request)
    session.invalidate()
    return {"ok": True}


async def me(request: web.Request) -> dict[str, object]:
    return {"user": request[USER_KEY].to_dict()}
