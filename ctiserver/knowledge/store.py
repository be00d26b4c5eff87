"""Knowledge base articles that agents look up while a customer is on the line.

Search is a plain case-insensitive substring match on title, tags and body: the
base holds tens of articles, not millions, and Chinese needs no word splitting
for a substring to find it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update

from ctiserver.knowledge.tables import KnowledgeArticle
from ctiserver.storage.database import Database
from ctiserver.vocabulary import KB_LANGUAGES

DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class ArticleInfo:
    id: int
    title: str
    body: str
    language: str
    tags: tuple[str, ...]
    reads: int
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "language": self.language,
            "tags": list(self.tags),
            "reads": self.reads,
        }


def split_tags(text: str) -> tuple[str, ...]:
    return tuple(tag.strip() for tag in text.split(",") if tag.strip())


def join_tags(tags: Iterable[str]) -> str:
    return ",".join(tag.strip() for tag in tags if tag.strip())


def _info(row: KnowledgeArticle) -> ArticleInfo:
    return ArticleInfo(
        row.id, row.title, row.body, row.language, split_tags(row.tags), row.reads, row.created_at
    )


class KnowledgeRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, title: str, body: str, language: str, tags: Iterable[str] = ()
    ) -> ArticleInfo:
        if language not in KB_LANGUAGES:
            raise ValueError(f"unknown language {language!r}; expected one of {KB_LANGUAGES}")
        async with self._db.session() as session:
            row = KnowledgeArticle(title=title, body=body, language=language, tags=join_tags(tags))
            session.add(row)
            await session.commit()
            return _info(row)

    async def get(self, article_id: int) -> ArticleInfo | None:
        async with self._db.session() as session:
            row = await session.get(KnowledgeArticle, article_id)
            return None if row is None else _info(row)

    async def search(
        self, text: str = "", language: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[ArticleInfo]:
        """Matches best first: in the title, then in the tags, then in the body; then most read.

        An empty ``text`` lists the most read articles.
        """
        query = select(KnowledgeArticle)
        if language:
            query = query.where(KnowledgeArticle.language == language)
        needle = text.strip().lower()
        if needle:
            in_title, in_tags, in_body = (
                func.lower(column).contains(needle, autoescape=True)
                for column in (KnowledgeArticle.title, KnowledgeArticle.tags, KnowledgeArticle.body)
            )
            rank = case((in_title, 0), (in_tags, 1), else_=2)
            query = query.where(in_title | in_tags | in_body).order_by(rank)
        query = query.order_by(KnowledgeArticle.reads.desc(), KnowledgeArticle.id).limit(limit)
        async with self._db.session() as session:
            return [_info(row) for row in await session.scalars(query)]

    async def count_read(self, article_id: int) -> ArticleInfo | None:
        """Add one read in a single UPDATE, so concurrent readers never lose a count."""
        async with self._db.session() as session:
            row = await session.scalar(
                update(KnowledgeArticle)
                .where(KnowledgeArticle.id == article_id)
                .values(reads=KnowledgeArticle.reads + 1)
                .returning(KnowledgeArticle)
                .execution_options(synchronize_session=False)
            )
            info = None if row is None else _info(row)
            await session.commit()
            return info
