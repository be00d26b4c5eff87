"""Users: the admins' ``/api/users``, and the expired sessions swept from the database."""

from __future__ import annotations

import asyncio
import logging

from ctiserver.core import Core
from ctiserver.users import http
from ctiserver.users.http import Organisation
from ctiserver.users.sessions import SessionRepository
from ctiserver.users.store import UserRepository

log = logging.getLogger(__name__)

#: seconds between two sweeps of the expired sessions
SWEEP_EVERY = 3600.0


def register(core: Core, organisation: Organisation, users: UserRepository, sessions: SessionRepository) -> None:
    """``organisation``: the departments and branches staff may belong to; ``users`` and
    ``sessions``: the ones the web app signs in with (``web_parts``, from the composition root)."""
    http.register(core.app, users, organisation)

    async def sweep() -> None:
        while True:
            ended = await sessions.purge()
            if ended:
                log.info("%d expired session(s) deleted", ended)
            await asyncio.sleep(SWEEP_EVERY)

    core.long_running("session sweeper", sweep)
