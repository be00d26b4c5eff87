"""The contact center's words for the pages (``GET /api/meta``)."""

from __future__ import annotations

from ctiserver.core import Core
from ctiserver.meta import http


def register(core: Core) -> None:
    http.register(core.app)
