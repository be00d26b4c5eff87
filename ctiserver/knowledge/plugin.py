"""The knowledge base: articles agents search while the customer talks."""

from __future__ import annotations

from ctiserver.core import Core
from ctiserver.knowledge import http
from ctiserver.knowledge.store import KnowledgeRepository


def register(core: Core) -> KnowledgeRepository:
    knowledge = KnowledgeRepository(core.db)
    http.register(core.app, knowledge)
    return knowledge
