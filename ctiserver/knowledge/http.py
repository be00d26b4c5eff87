"""The knowledge base: search while the customer talks, count what agents read."""

from __future__ import annotations

from aiohttp import web

from ctiserver.knowledge.store import KnowledgeRepository
from ctiserver.vocabulary import KB_LANGUAGES, USER_ROLES
from ctiserver.web.handling import ApiError, api, path_id
from ctiserver.web.responses import json_ok

KB_KEY = web.AppKey("knowledge", KnowledgeRepository)
MAX_QUERY = 200


@api(USER_ROLES)
async def search(request: web.Request) -> web.Response:
    text = request.query.get("q", "")
    if len(text) > MAX_QUERY:
        raise ApiError(400, f"q must have at most {MAX_QUERY} characters")
    language = request.query.get("lang") or None
    if language is not None and language not in KB_LANGUAGES:
        raise ApiError(400, f"lang must be one of {', '.join(KB_LANGUAGES)}")
    articles = await request.app[KB_KEY].search(text, language)
    return json_ok({"articles": [article.to_dict() for article in articles]})


@api(USER_ROLES)
async def read(request: web.Request) -> web.Response:
    article = await request.app[KB_KEY].count_read(path_id(request))
    if article is None:
        raise ApiError(404, "no such article")
    return json_ok({"article": article.to_dict()})


def register(app: web.Application, knowledge: KnowledgeRepository) -> None:
    app[KB_KEY] = knowledge
    app.router.add_get("/api/kb", search)
    app.router.add_post(r"/api/kb/{id:\d{1,9}}/read", read)
