"""``/api/users``: the admins' page of users (``screenpop/admin/users.html``): list, add,
change the role, department, branch, display name or password, disable and enable.

Every change is in the audit log (the route contract records each mutating request, never
the password). A new password or role, or an account disabled, ends the user's sessions.
An admin cannot disable their own account or take away their own admin role: someone
must be left who can undo a mistake.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from ctiserver.users.schemas import UserAdded, UserChange, UserChanged, UserList, UserNew
from ctiserver.users.store import UNSET, UserRepository
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import body_of, route
from ctiserver.web.handling import ApiError, path_id
from ctiserver.web.keys import USER_KEY


class Organisation(Protocol):
    """Where staff belong: the departments' codes and the branches (the dispatch feature)."""

    async def departments(self) -> dict[str, str]: ...

    async def branch(self, branch_id: int) -> object | None: ...


USERS_ADMIN_KEY = web.AppKey("users_admin", UserRepository)
ORGANISATION_KEY = web.AppKey("users_organisation", Organisation)
ADMINS = ("admin",)


async def _check_place(request: web.Request, department: str | None, branch_id: int | None) -> None:
    organisation = request.app.get(ORGANISATION_KEY)
    if organisation is None:
        return
    if department is not None and department not in await organisation.departments():
        raise ApiError(422, f"no such department: {department}")
    if branch_id is not None and await organisation.branch(branch_id) is None:
        raise ApiError(422, f"no such branch: {branch_id}")


async def list_users(request: web.Request) -> dict[str, Any]:
    return {"users": [user.to_admin_dict() for user in await request.app[USERS_ADMIN_KEY].list()]}


async def add_user(request: web.Request) -> dict[str, Any]:
    body = body_of(request, UserNew)
    await _check_place(request, body.department, body.branch_id)
    try:
        user = await request.app[USERS_ADMIN_KEY].add(
            body.username, body.password, body.role, body.display_name,
            department=body.department, branch_id=body.branch_id,
        )
    except ValueError as exc:
        raise ApiError(409 if "exists" in str(exc) else 400, str(exc)) from exc
    note_target(request, user.id)
    return {"user": user.to_admin_dict()}


async def change_user(request: web.Request) -> dict[str, Any]:
    body = body_of(request, UserChange)
    given = body.model_fields_set
    user_id = path_id(request)
    me = request[USER_KEY]
    if user_id == me.id and (body.disabled or ("role" in given and body.role != "admin")):
        raise ApiError(409, "you cannot disable your own account or take away your own admin role")
    if "role" in given and body.role is None:
        raise ApiError(400, "role cannot be null")
    await _check_place(request, body.department, body.branch_id)
    fields = {name: getattr(body, name) if name in given else UNSET
              for name in ("role", "display_name", "department", "branch_id")}
    try:
        changed = await request.app[USERS_ADMIN_KEY].change(
            user_id, password=body.password, disabled=body.disabled, **fields
        )
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc
    if changed is None:
        raise ApiError(404, "no such user")
    return {"user": changed.user.to_admin_dict(), "changed": list(changed.fields),
            "sessions_ended": changed.sessions_ended}


def register(app: web.Application, users: UserRepository, organisation: Organisation | None = None) -> None:
    app[USERS_ADMIN_KEY] = users
    if organisation is not None:
        app[ORGANISATION_KEY] = organisation
    route(app, "GET", "/api/users", list_users, summary="The users, with their role, department and branch",
          roles=ADMINS, denied="admins only", answer=UserList)
    route(app, "POST", "/api/users", add_user, summary="Add a user", roles=ADMINS, denied="admins only",
          body=UserNew, answer=UserAdded, status=201, target="user",
          errors={409: "a user of that name exists", 422: "no such department or branch"})
    route(app, "PATCH", r"/api/users/{id:\d{1,9}}", change_user,
          summary="Change a user's role, department, branch, name or password; disable or enable",
          description="A new password or role, or the account disabled, ends the user's sessions.",
          roles=ADMINS, denied="admins only", body=UserChange, answer=UserChanged, target="user",
          errors={404: "no such user", 409: "an admin's own account cannot be disabled or demoted",
                  422: "no such department or branch"})
