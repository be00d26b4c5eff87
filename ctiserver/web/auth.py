"""Sessions (encrypted cookies), login/logout, and the middleware guarding /api and /ws."""

from __future__ import annotations

import base64
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp_session import get_session, new_session
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from ctiserver.settings import WebSettings
from ctiserver.web.contract import body_of
from ctiserver.web.handling import ApiError
from ctiserver.web.keys import THROTTLE_KEY, USER_KEY, USERS_KEY
from ctiserver.web.responses import json_error
from ctiserver.web.schemas import Credentials

log = logging.getLogger(__name__)

COOKIE_NAME = "CTISERVER_SESSION"
SESSION_USER_ID = "user_id"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def session_fernet(secret: str) -> Fernet:
    """A Fernet key is used as is; any other passphrase is stretched to one with SHA-256."""
    try:
        return Fernet(secret.encode())
    except ValueError:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def setup_sessions(app: web.Application, settings: WebSettings) -> None:
    storage = EncryptedCookieStorage(
        session_fernet(settings.session_secret),
        cookie_name=COOKIE_NAME,
        max_age=settings.session_max_age,
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
    )
    setup_session(app, storage)


def needs_login(path: str) -> bool:
    return path == "/ws" or path == "/api" or path.startswith("/api/")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """/api/* and /ws need a session of a user that still exists; API errors are JSON."""
    if not needs_login(request.path):
        return await handler(request)
    session = await get_session(request)
    user_id = session.get(SESSION_USER_ID)
    user = await request.app[USERS_KEY].get(user_id) if isinstance(user_id, int) else None
    if user is None:
        if not session.empty:
            session.invalidate()
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
    wait = throttle.wait(username, address)
    if wait > 0:
        log.warning(
            "login for %r from %s refused: %.0f s to wait after failures", username[:64], address, wait
        )
        response = json_error(429, "too many failed logins: try again later")
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    user = await request.app[USERS_KEY].authenticate(username, password)
    if user is None:
        throttle.failed(username, address)
        log.warning("failed login for %r from %s", username[:64], address)
        raise ApiError(401, "invalid username or password")
    throttle.succeeded(username, address)
    # start from an empty session: nothing stored before login carries over
    session = await new_session(request)
    session[SESSION_USER_ID] = user.id
    return {"user": user.to_dict()}


async def logout(request: web.Request) -> dict[str, object]:
    session = await get_session(request)
    session.invalidate()
    return {"ok": True}


async def me(request: web.Request) -> dict[str, object]:
    return {"user": request[USER_KEY].to_dict()}
