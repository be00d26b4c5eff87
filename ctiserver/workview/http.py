"""``GET /api/workview``: what the department work view needs beside the tickets themselves
(``GET /api/tickets``, whose visibility rules apply): its department and branch, their
names, and the engineers a visit may be scheduled with. The page is ``/ui/department.html``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ctiserver.dispatch import DispatchRepository
from ctiserver.web.contract import query_of, route
from ctiserver.web.handling import ApiError
from ctiserver.web.keys import USER_KEY
from ctiserver.workview.schemas import WorkViewAnswer, WorkViewQuery
from ctiserver.workview.store import WorkViewStore

#: who works tickets in the view: staff, and the supervisors and admins for any department
VIEWERS = ("staff", "supervisor", "admin")


@dataclass(frozen=True)
class WorkViewApi:
    store: WorkViewStore
    dispatch: DispatchRepository


API_KEY = web.AppKey("workview_api", WorkViewApi)


async def work_view(request: web.Request) -> dict[str, Any]:
    api = request.app[API_KEY]
    user = request[USER_KEY]
    departments = await api.dispatch.departments()
    branches = await api.dispatch.branches()
    if user.role == "staff":
        place = await api.store.place(user.id)
        department = None if place is None else place.department
        branch_id = None if place is None else place.branch_id
        fixed = True
    else:
        query = query_of(request, WorkViewQuery)
        department, branch_id, fixed = query.department, query.branch_id, False
        if department is not None and department not in departments:
            raise ApiError(400, f"no department {department!r}")
        if branch_id is not None and all(branch.id != branch_id for branch in branches):
            raise ApiError(400, f"no branch {branch_id}")
    if department is not None:
        engineers = [e.to_dict() for e in await api.store.engineers(department, branch_id)]
    elif user.role == "staff":
        engineers = [{"id": user.id, "username": user.username, "display_name": user.display_name,
                      "branch_id": None}]
    else:
        engineers = []
    return {
        "department": department, "branch_id": branch_id, "fixed": fixed,
        "departments": departments, "branches": [branch.to_dict() for branch in branches],
        "engineers": engineers,
    }


def register(app: web.Application, store: WorkViewStore, dispatch: DispatchRepository) -> None:
    app[API_KEY] = WorkViewApi(store, dispatch)
    route(app, "GET", "/api/workview", work_view, summary="The department work view's department, branch and engineers",
          roles=VIEWERS, query=WorkViewQuery, answer=WorkViewAnswer)
