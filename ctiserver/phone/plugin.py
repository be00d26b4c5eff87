"""The phone in the desk: its route (the agent's own WebRTC credentials)."""

from __future__ import annotations

from ctiserver.core import Core
from ctiserver.phone import http


def register(core: Core) -> None:
    http.register(core.app, core.settings)
