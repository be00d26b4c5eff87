"""The knowledge base: search while the customer talks, count what agents read."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.knowledge.schemas import ArticleAnswer, ArticleList, ArticleSearch
from ctiserver.knowledge.store import KnowledgeRepository
from ctiserver.vocabulary import USER_ROLES
from ctiserver.web.contract import query_of, route
from ctiserver.web.handling import ApiError, path_id

KB_KEY = web.AppKey("knowledge", KnowledgeRepository)


async def search(request: web.Request) -> dict[str, Any]:
    query = query_of(request, ArticleSearch)
    articles = await request.app[KB_KEY].search(query.q, query.lang)
    return {"articles": [article.to_dict() for article in articles]}


async def read(request: web.Request) -> dict[str, Any]:
    """Counts one more read."""
    article = await request.app[KB_KEY].count_read(path_id(request))
    if article is None:
        raise ApiError(404, "no such article")
    return {"article": article.to_dict()}


def register(app: web.Application, knowledge: KnowledgeRepository) -> None:
    app[KB_KEY] = knowledge
    route(app, "GET", "/api/kb", search, summary="Search the knowledge base",
          roles=USER_ROLES, query=ArticleSearch, answer=ArticleList)
    route(app, "POST", r"/api/kb/{id:\d{1,9}}/read", read, summary="An agent reads an article",
          roles=USER_ROLES, answer=ArticleAnswer, errors={404: "no such article"}, target="article")
