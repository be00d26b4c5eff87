"""The shapes of the knowledge base: an article, a search."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ctiserver import vocabulary
from ctiserver.web.schemas import OneOf, QueryString, Shape

MAX_QUERY = 200

KbLanguage = Annotated[str, OneOf(vocabulary.KB_LANGUAGES)]


class ArticleView(Shape):
    id: int
    title: str
    body: str
    language: KbLanguage
    tags: list[str]
    #: how many times agents opened it
    reads: int


class ArticleList(Shape):
    """Best first; an empty search lists the most read."""

    articles: list[ArticleView]


class ArticleAnswer(Shape):
    article: ArticleView


class ArticleSearch(QueryString):
    q: Annotated[str, StringConstraints(max_length=MAX_QUERY)] = ""
    lang: KbLanguage | None = None
