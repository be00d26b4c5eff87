"""Departments and branches for everyone (the pages name them); the dispatch rules for admins."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.dispatch.schemas import (
    BranchAnswer,
    BranchNew,
    DispatchView,
    RuleAnswer,
    RuleDeleted,
    RuleList,
    RuleNew,
)
from ctiserver.dispatch.store import DispatchRepository
from ctiserver.vocabulary import USER_ROLES
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import body_of, route
from ctiserver.web.handling import ApiError, path_id

DISPATCH_KEY = web.AppKey("dispatch", DispatchRepository)
ADMINS = ("admin",)


async def overview(request: web.Request) -> dict[str, Any]:
    store = request.app[DISPATCH_KEY]
    return {
        "departments": await store.departments(),
        "branches": [branch.to_dict() for branch in await store.branches()],
    }


async def list_rules(request: web.Request) -> dict[str, Any]:
    return {"rules": [rule.to_dict() for rule in await request.app[DISPATCH_KEY].rules()]}


async def add_rule(request: web.Request) -> dict[str, Any]:
    body = body_of(request, RuleNew)
    try:
        rule = await request.app[DISPATCH_KEY].add_rule(
            body.department, kind=body.kind, province=body.province, city=body.city, branch_id=body.branch_id,
        )
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    note_target(request, rule.id)
    return {"rule": rule.to_dict()}


async def delete_rule(request: web.Request) -> dict[str, Any]:
    if not await request.app[DISPATCH_KEY].delete_rule(path_id(request)):
        raise ApiError(404, "no such rule")
    return {"deleted": True}


async def add_branch(request: web.Request) -> dict[str, Any]:
    body = body_of(request, BranchNew)
    try:
        branch = await request.app[DISPATCH_KEY].add_branch(
            body.name, body.province, body.city, body.manager_user_id
        )
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    note_target(request, branch.id)
    return {"branch": branch.to_dict()}


def register(app: web.Application, store: DispatchRepository) -> None:
    app[DISPATCH_KEY] = store
    route(app, "GET", "/api/dispatch", overview, summary="Departments and branches",
          roles=USER_ROLES, answer=DispatchView)
    route(app, "POST", "/api/dispatch/branches", add_branch, summary="Add a branch",
          roles=ADMINS, body=BranchNew, answer=BranchAnswer, status=201, target="branch")
    route(app, "GET", "/api/dispatch/rules", list_rules, summary="The dispatch rules",
          roles=ADMINS, answer=RuleList)
    route(app, "POST", "/api/dispatch/rules", add_rule, summary="Add a dispatch rule",
          roles=ADMINS, body=RuleNew, answer=RuleAnswer, status=201, target="dispatch_rule")
    route(app, "DELETE", r"/api/dispatch/rules/{id:\d{1,9}}", delete_rule, summary="Delete a dispatch rule",
          roles=ADMINS, answer=RuleDeleted, target="dispatch_rule", errors={404: "no such rule"})
