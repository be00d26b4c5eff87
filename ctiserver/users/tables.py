"""Tables of users: users of the web pages and their roles."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.storage.base import Base, UTCDateTime, one_of, utcnow
from ctiserver.vocabulary import USER_ROLES


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(one_of("role", USER_ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(128))
    #: staff: their department's code (``departments``) and branch (none: every branch)
    department: Mapped[str | None] = mapped_column(String(32))
    branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL", use_alter=True)
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )
    #: set when an admin disabled the account: no login, no session
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())



class UserSession(Base):
    """A logged-in browser: the cookie holds a random token, the row its SHA-256 (a copy of
    the table logs no one in). Deleted at logout, when the user's password or role changes,
    and found expired past its idle time or lifetime (``web.session_idle``, ``session_max_age``)."""

    __tablename__ = "user_sessions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: what the session holds besides its user (aiohttp-session's data)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: the last request seen (written at most once a minute)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    #: the address and browser that logged in
    client: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))


class LoginFailure(Base):
    """Failed logins counted by key (``account:<name>``, ``pair:<address> <name>``), shared by
    every server (``ctiserver.web.throttle``)."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    #: epoch seconds of the last failure
    last_at: Mapped[float] = mapped_column(Float, index=True)
