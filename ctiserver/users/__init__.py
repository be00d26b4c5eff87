"""Users: who may sign in, with which role, department and branch.

Other features may use:

* ``UserRepository`` and ``UserInfo``: users as values; ``SessionRepository`` and
  ``LoginFailureRepository``: sessions and failed logins in the database. The web layer's
  ``UserDirectory``, ``SignedInUser``, ``SessionStore`` and ``FailureCounts`` are satisfied by
  them; ``web_parts`` makes the three the composition root hands to ``create_app``.

Read model: ``UserInfo`` (``UserRepository.get``: a user's name and role). Table (read
only, still exported for the foreign keys and joins that predate the read model; tests/unit/
test_layout.py lists those uses and fails on a new one): ``User``.
"""

from ctiserver.users.logins import LoginFailureRepository
from ctiserver.users.sessions import SessionRepository
from ctiserver.users.store import UserInfo, UserRepository
from ctiserver.users.tables import User
from ctiserver.users.web import web_parts

__all__ = [
    "LoginFailureRepository",
    "SessionRepository",
    "User",
    "UserInfo",
    "UserRepository",
    "web_parts",
]
