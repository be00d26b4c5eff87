"""Departments, branches and the rules that dispatch new tickets."""

from __future__ import annotations

from ctiserver.core import Core
from ctiserver.dispatch import http
from ctiserver.dispatch.store import DispatchRepository


def register(core: Core) -> DispatchRepository:
    store = DispatchRepository(core.db)
    http.register(core.app, store)
    return store
