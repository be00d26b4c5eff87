"""What the web layer needs of the users, made for the composition root (the web layer
imports no feature: ``ctiserver.web.protocols``)."""

from __future__ import annotations

from typing import Any

from ctiserver.settings import Settings
from ctiserver.storage.database import Database
from ctiserver.users.logins import LoginFailureRepository
from ctiserver.users.sessions import SessionRepository
from ctiserver.users.store import UserRepository


def web_parts(db: Database, settings: Settings, users: UserRepository | None = None) -> dict[str, Any]:
    """``create_app``'s ``users``, ``sessions`` and ``login_failures``."""
    web = settings.web
    return {
        "users": users or UserRepository(db),
        "sessions": SessionRepository(db, secret=web.session_secret, idle=web.session_idle,
                                      lifetime=web.session_max_age),
        "login_failures": LoginFailureRepository(db),
    }
