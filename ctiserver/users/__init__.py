"""Users: who may sign in, with which role, department and branch.

Other features may use:

* ``UserRepository`` and ``UserInfo``: users as values (the web layer's ``UserDirectory``
  and ``SignedInUser`` are satisfied by them; the composition root hands them in).

Read model (read only, exported on purpose): ``User``, the users' table, for foreign keys and for the joins that
show a user's name.
"""

from ctiserver.users.store import UserInfo, UserRepository
from ctiserver.users.tables import User

__all__ = [
    "User",
    "UserInfo",
    "UserRepository",
]
