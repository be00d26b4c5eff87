"""Users: the admins' ``/api/users``, and the expired sessions swept from the database."""

from __future__ import annotations

import asyncio
import logging

from ctiserver.core import Core
from ctiserver.users import http
from ctiserver.users.http import Organisation
from ctiserver.web.keys import SESSIONS_KEY, USERS_KEY

log = logging.getLogger(__name__)

#: seconds between two sweeps of the expired sessions
SWEEP_EVERY = 3600.0


def register(core: Core, organisation: Organisation) -> None:
    """``organisation``: the departments and branches staff may belong to."""
    http.register(core.app, core.app[USERS_KEY], organisation)
    sessions = core.app[SESSIONS_KEY]

    async def sweep() -> None:
        while True:
            ended = await sessions.purge()
            if ended:
                log.info("%d expired session(s) deleted", ended)
            await asyncio.sleep(SWEEP_EVERY)

    core.long_running("session sweeper", sweep)
