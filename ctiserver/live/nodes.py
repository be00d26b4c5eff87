"""Which nodes are up, for the supervisor's view (``GET /api/nodes``): each node's heartbeat
row in the shared database (``ctiserver.storage.nodes``), so every node answers the same."""

from __future__ import annotations

import time
from typing import Any, Protocol

from aiohttp import web

from ctiserver.vocabulary import SUPERVISOR_ROLES
from ctiserver.web.contract import route
from ctiserver.web.schemas import Moment, Shape


class NodeView(Shape):
    name: str
    #: where its web listens, as the node itself is configured
    web: str
    #: its FastAGI address
    agi: str
    started_at: Moment
    #: its last heartbeat
    seen_at: Moment
    #: heartbeat younger than three beats
    up: bool


class NodesView(Shape):
    """The nodes on this database; ``this``: the node that answered."""

    this: str
    nodes: list[NodeView]


class Registry(Protocol):
    name: str

    async def nodes(self, now: float) -> list[Any]: ...


REGISTRY_KEY = web.AppKey("node_registry", Registry)


async def get_nodes(request: web.Request) -> dict[str, Any]:
    registry = request.app[REGISTRY_KEY]
    nodes = await registry.nodes(time.time())
    return {"this": registry.name, "nodes": [node.to_dict() for node in nodes]}


def register(app: web.Application, registry: Registry) -> None:
    app[REGISTRY_KEY] = registry
    route(app, "GET", "/api/nodes", get_nodes, summary="The nodes and which are up",
          roles=SUPERVISOR_ROLES, denied="supervisors and admins only", answer=NodesView)
