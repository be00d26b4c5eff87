"""The shapes of the users' administration (``/api/users``, admins only)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ctiserver.web.schemas import RequestBody, Role, RowId, Secret, Shape

Username = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[Secret, StringConstraints(min_length=8, max_length=1024)]
DisplayName = Annotated[str, StringConstraints(max_length=128)]
DepartmentCode = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class UserAdminView(Shape):
    id: int
    username: str
    role: Role
    display_name: str | None
    #: staff: their department's code (``GET /api/dispatch``) and branch (null: every branch)
    department: str | None
    branch_id: int | None
    #: disabled: cannot log in, has no session
    disabled: bool


class UserList(Shape):
    users: list[UserAdminView]


class UserAdded(Shape):
    user: UserAdminView


class UserChanged(Shape):
    user: UserAdminView
    #: what changed ("password" for the password)
    changed: list[str]
    #: the user's sessions ended by the change (a new password or role, disabled)
    sessions_ended: int


class UserNew(RequestBody):
    """``POST /api/users``."""

    username: Username
    password: Password
    role: Role
    display_name: DisplayName | None = None
    department: DepartmentCode | None = None
    branch_id: RowId | None = None


class UserChange(RequestBody):
    """``PATCH /api/users/{id}``: only what is given changes; ``department`` and ``branch_id``
    may be null (none). A new password or role, or ``disabled``, ends the user's sessions."""

    role: Role | None = None
    display_name: DisplayName | None = None
    department: DepartmentCode | None = None
    branch_id: RowId | None = None
    password: Password | None = None
    disabled: bool | None = None
