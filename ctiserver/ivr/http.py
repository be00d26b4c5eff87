"""IVR flow administration over HTTP: check, publish, versions, rollback, diagram.

Admins only. Checking never publishes; publishing goes through ``FlowRegistry.publish``,
so an invalid flow is refused with its problems and the running version stays.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from aiohttp import web

from ctiserver.ivr.graph import flow_to_svg
from ctiserver.ivr.loader import Flow, FlowError, FlowProblem
from ctiserver.ivr.registry import FlowRegistry
from ctiserver.ivr.schemas import (
    FlowCheckFailed,
    FlowCheckPassed,
    FlowDetail,
    FlowList,
    FlowPublish,
    FlowPublished,
    FlowRejected,
    FlowRollback,
    FlowSource,
    FlowVersionText,
)
from ctiserver.ivr.store import FlowVersionInfo
from ctiserver.resources import flow_schema
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import ApiHandler, body_of, route
from ctiserver.web.handling import ApiError
from ctiserver.web.keys import USER_KEY

log = logging.getLogger(__name__)

FLOWS_KEY = web.AppKey("flows", FlowRegistry)
MAX_BODY = 256 * 1024
#: the name problems are reported against; the editor shows line and column only
EDITOR_FILE = "<editor>"
#: keeps a script inside an SVG opened on its own from running
SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


def _registry(request: web.Request) -> FlowRegistry:
    return request.app[FLOWS_KEY]


def _time(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def version_dict(info: FlowVersionInfo, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "flow": info.flow,
        "number": info.number,
        "version": info.version,
        "author": info.author,
        "created_at": _time(info.created_at),
        "note": info.note,
        "active": info.active,
    }
    if full:
        data["source"] = info.source
        data["diff"] = info.diff
    return data


def problem_dicts(problems: list[FlowProblem]) -> list[dict[str, Any]]:
    return [{"line": p.line, "column": p.column, "message": p.message} for p in problems]


def _entry_clash(registry: FlowRegistry, flow: Flow) -> FlowError | None:
    """What ``publish`` would refuse although the flow itself is valid."""
    other = registry.for_entry(flow.entry)
    if other is None or other.name == flow.name:
        return None
    message = f"entry {flow.entry} is already served by flow {other.name}"
    return FlowError([FlowProblem(EDITOR_FILE, 1, 1, message)])


async def _svg(flow: Flow) -> str | None:
    """The diagram, drawn in a thread (``dot`` is a subprocess); None if it cannot be drawn."""
    try:
        return await asyncio.to_thread(flow_to_svg, flow)
    except (RuntimeError, OSError) as exc:
        log.warning("cannot draw flow %s: %s", flow.name, exc)
        return None


async def list_flows(request: web.Request) -> dict[str, Any]:
    registry = _registry(request)
    flows = []
    for name in registry.names():
        flow, active = registry.get(name), registry.active_version(name)
        if flow is None or active is None:
            continue
        flows.append(
            {
                "name": name,
                "entry": flow.entry,
                "number": active.number,
                "version": active.version,
                "author": active.author,
                "created_at": _time(active.created_at),
            }
        )
    return {"flows": flows}


async def get_flow(request: web.Request) -> dict[str, Any]:
    registry = _registry(request)
    name = request.match_info["name"]
    versions = await registry.versions.list(name)
    if not versions:
        raise ApiError(404, "no such flow")
    active = registry.active_version(name) or next((v for v in versions if v.active), versions[0])
    return {
        "name": name,
        "source": active.source,
        "active": version_dict(active),
        "versions": [version_dict(v) for v in versions],
    }


async def get_version(request: web.Request) -> dict[str, Any]:
    name, number = request.match_info["name"], int(request.match_info["number"])
    info = await _registry(request).versions.get(name, number)
    if info is None:
        raise ApiError(404, "no such version")
    return version_dict(info, full=True)


async def check(request: web.Request) -> dict[str, Any]:
    """Never publishes."""
    registry = _registry(request)
    source = body_of(request, FlowSource).source
    try:
        flow = await asyncio.to_thread(registry.check, source, file=EDITOR_FILE)
        clash = _entry_clash(registry, flow)
        if clash is not None:
            raise clash
    except FlowError as exc:
        return {"ok": False, "problems": problem_dicts(exc.problems)}
    return {
        "ok": True,
        "problems": [],
        "flow": {"name": flow.name, "entry": flow.entry, "version": flow.version},
        "svg": await _svg(flow),
    }


async def publish(request: web.Request) -> dict[str, Any]:
    """An invalid flow is refused with its problems and the running version stays."""
    data = body_of(request, FlowPublish)
    source, note = data.source, data.note
    author = request[USER_KEY].username
    try:
        published = await _registry(request).publish(
            source, author=author, note=note or None, file=EDITOR_FILE
        )
    except FlowError as exc:
        raise ApiError(422, "the flow has problems", problems=problem_dicts(exc.problems)) from exc
    note_target(request, published.version.flow)
    return {"version": version_dict(published.version)}


async def rollback(request: web.Request) -> dict[str, Any]:
    number = body_of(request, FlowRollback).number
    author = request[USER_KEY].username
    try:
        published = await _registry(request).rollback(
            request.match_info["name"], number, author=author
        )
    except KeyError as exc:
        raise ApiError(404, "no such version") from exc
    except FlowError as exc:
        raise ApiError(
            422, "that version no longer validates", problems=problem_dicts(exc.problems)
        ) from exc
    return {"version": version_dict(published.version)}


async def schema(request: web.Request) -> web.Response:
    """The flow language's JSON Schema (as ``ctiserver flows schema`` prints it), from which
    the editor completes keys and values and explains them on hover."""
    text = await asyncio.to_thread(flow_schema().read_text, encoding="utf-8")
    return web.Response(text=text, content_type="application/schema+json", charset="utf-8")


async def graph_svg(request: web.Request) -> web.Response:
    flow = _registry(request).get(request.match_info["name"])
    if flow is None:
        raise ApiError(404, "no such flow")
    svg = await _svg(flow)
    if svg is None:
        raise ApiError(503, "the diagram cannot be drawn (is Graphviz installed?)")
    return web.Response(
        text=svg, content_type="image/svg+xml", charset="utf-8", headers=SVG_HEADERS
    )


def register(app: web.Application, flows: FlowRegistry) -> None:
    app[FLOWS_KEY] = flows

    def admin(method: str, path: str, handler: ApiHandler, summary: str, **declared: Any) -> None:
        route(app, method, path, handler, summary=summary, roles={"admin"}, denied="admins only",
              target="flow", **declared)

    source_body: dict[str, Any] = {"body_limit": MAX_BODY}
    rejected = {422: FlowRejected}
    admin("GET", "/api/flows", list_flows, "The running flows", answer=FlowList)
    admin("GET", "/api/flow-schema", schema, "The flow language's JSON Schema",
          media_type="application/schema+json")
    admin("POST", "/api/flows/check", check, "Check a flow's source", body=FlowSource,
          answer=FlowCheckPassed | FlowCheckFailed, **source_body)
    admin("POST", "/api/flows/publish", publish, "Publish a flow", body=FlowPublish,
          answer=FlowPublished, errors={422: "the flow has problems"}, error_shapes=rejected,
          **source_body)
    admin("GET", "/api/flows/{name}", get_flow, "A flow's source and versions", answer=FlowDetail,
          errors={404: "no such flow"})
    admin("GET", r"/api/flows/{name}/versions/{number:\d{1,9}}", get_version, "One version",
          answer=FlowVersionText, errors={404: "no such version"})
    admin("POST", "/api/flows/{name}/rollback", rollback, "Publish an earlier version again",
          body=FlowRollback, answer=FlowPublished, errors={
              404: "no such version", 422: "that version no longer validates"},
          error_shapes=rejected, **source_body)
    admin("GET", "/api/flows/{name}/graph.svg", graph_svg, "The flow's diagram",
          media_type="image/svg+xml",
          errors={404: "no such flow", 503: "the diagram cannot be drawn (no Graphviz)"})
