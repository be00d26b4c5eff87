"""aiohttp-session's storage kept in the database (``ctiserver.users.sessions``): the cookie
holds a random token and nothing else; what the session holds, and whether it is still
open, is the database's to say, on every server."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from ctiserver.web.protocols import SessionStore

#: the session's key of its user (the only thing the server keeps in a session)
SESSION_USER_ID = "user_id"


class DatabaseStorage(AbstractStorage):
    def __init__(self, sessions: SessionStore, **cookie: Any) -> None:
        super().__init__(max_age=int(sessions.lifetime), **cookie)
        self.sessions = sessions

    async def load_session(self, request: web.Request) -> Session:
        token = self.load_cookie(request)
        found = None if token is None else await self.sessions.find(token)
        if found is None:
            return Session(None, data=None, new=True, max_age=self.max_age)
        data = {**found.data, SESSION_USER_ID: found.user_id}
        # the repository judged its age: no second check on the cookie's clock
        return Session(token, data={"created": int(found.created), "session": data}, new=False)

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        user_id = session.get(SESSION_USER_ID)
        if session.empty or not isinstance(user_id, int):
            if session.identity is not None:
                await self.sessions.revoke(session.identity)
            self.save_cookie(response, "", max_age=session.max_age)
            return
        data = {k: v for k, v in session.items() if k != SESSION_USER_ID}
        if session.identity is None:
            token = await self.sessions.open(
                user_id, data, client=request.remote, user_agent=request.headers.get("User-Agent")
            )
            session.set_new_identity(token)
            self.save_cookie(response, token, max_age=self.max_age)
        else:
            await self.sessions.save(session.identity, data)
