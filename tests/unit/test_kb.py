"""The knowledge base: storage ranking, demo articles, and /api/kb."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ctiserver.knowledge.store import KnowledgeRepository
from ctiserver.lab.demo import ARTICLES, seed_demo
from ctiserver.pops.cards import CustomerCards
from ctiserver.storage.database import Database, upgrade_schema
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)
from tests.support.desk import EVERYONE, DeskEnv, desk_env
from tests.support.web_fakes import FAST_HASHER, XSS

ARTICLE_KEYS = {"id", "title", "body", "language", "tags", "reads"}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[DeskEnv]:
    async with desk_env(tmp_path) as desk:
        yield desk



async def test_search_ranks_title_then_tags_then_body_then_reads(db: Database) -> None:
    kb = KnowledgeRepository(db)
    in_body = await kb.add("Drum care", "A loud NOISE from the drum: check the bearings.", "en")
    in_tags = await kb.add("Spin cycle", "Balance the load.", "en", ["noise", "spin"])
    in_title = await kb.add("Noise from the washer", "Level the feet.", "en")
    popular_body = await kb.add("Bearings", "Grinding noise means worn bearings.", "en")
    await kb.add("Unrelated", "Nothing to see.", "en")
    await kb.add("噪音很大", "调平洗衣机。", "zh", ["噪音"])
    for _ in range(3):
        await kb.count_read(popular_body.id)

    found = await kb.search("noise")
    assert [a.id for a in found] == [in_title.id, in_tags.id, popular_body.id, in_body.id]
    assert found[1].tags == ("noise", "spin")
    assert [a.title for a in await kb.search("噪音")] == ["噪音很大"]
    assert await kb.search("noise", "zh") == []
    assert await kb.search("%") == [] and await kb.search("_") == []


async def test_empty_search_lists_the_most_read(db: Database) -> None:
    kb = KnowledgeRepository(db)
    articles = [await kb.add(f"Article {i}", "text", "en") for i in range(3)]
    await kb.count_read(articles[2].id)
    await kb.count_read(articles[2].id)
    await kb.count_read(articles[1].id)
    assert [a.id for a in await kb.search("")] == [articles[2].id, articles[1].id, articles[0].id]
    assert [a.reads for a in await kb.search("   ")] == [2, 1, 0]
    assert len(await kb.search("", limit=2)) == 2


async def test_unknown_article_and_language(db: Database) -> None:
    kb = KnowledgeRepository(db)
    assert await kb.count_read(12345) is None
    assert await kb.get(12345) is None
    with pytest.raises(ValueError):
        await kb.add("Bonjour", "texte", "fr")


async def test_demo_articles_are_seeded_once(db: Database) -> None:
    first = await seed_demo(db, password="lab", hasher=FAST_HASHER)
    again = await seed_demo(db, password="lab", hasher=FAST_HASHER)
    assert first.articles == len(ARTICLES) >= 12
    assert again == dataclasses.replace(first, added=0)
    articles = await KnowledgeRepository(db).search("", limit=100)
    assert {a.language for a in articles} == {"zh", "en"}
    assert all(a.title and a.body and a.tags for a in articles)


async def test_postgres_search_cards_and_concurrent_reads(
    postgres_server: PostgresServer,  # noqa: F811  (the imported fixture)
) -> None:
    url = await postgres_server.create_database("ctiserver_kb")
    await upgrade_schema(url)
    db = Database(url)
    try:
        await seed_demo(db, password="lab", hasher=FAST_HASHER)
        kb = KnowledgeRepository(db)
        (washer,) = await kb.search("E3", "zh")
        assert washer.title == "洗衣机显示 E3 故障代码"
        assert (await kb.search("AIR CONDITIONER", "en"))[0].title == "Air conditioner not cooling"
        await asyncio.gather(*(kb.count_read(washer.id) for _ in range(20)))
        after = await kb.get(washer.id)
        assert after is not None and after.reads == 20

        (card,) = await CustomerCards(db).for_phone("+86 138-0013-8000")
        assert card["name"] == "张伟" and len(card["products"]) == 2
    finally:
        await db.close()


KB_ROUTES = [("GET", "/api/kb?q=E3"), ("POST", "/api/kb/1/read")]


@pytest.mark.parametrize(("method", "path"), KB_ROUTES)
async def test_kb_needs_a_session(env: DeskEnv, method: str, path: str) -> None:
    assert await env.call(method, path) == (401, {"error": "login required"})


@pytest.mark.parametrize("username", EVERYONE)
async def test_search_chinese(env: DeskEnv, username: str) -> None:
    await env.login(username)
    status, body = await env.call("GET", "/api/kb?q=不制冷&lang=zh")
    assert status == 200
    titles = [a["title"] for a in body["articles"]]
    assert set(titles) == {"空调不制冷怎么办", "冰箱不制冷或结霜过多"}
    article = body["articles"][0]
    assert set(article) == ARTICLE_KEYS
    assert article["language"] == "zh" and article["reads"] == 0
    assert isinstance(article["tags"], list) and "制冷" in article["tags"]


async def test_search_english_is_case_insensitive(env: DeskEnv) -> None:
    await env.login("agent1001")
    status, body = await env.call("GET", "/api/kb?q=AIR%20CONDITIONER&lang=en")
    assert status == 200
    titles = [a["title"] for a in body["articles"]]
    assert titles[0] == "Air conditioner not cooling"  # the title match first
    assert "Moving appliances" in titles  # a tag match
    assert all(a["language"] == "en" for a in body["articles"])


async def test_search_by_error_code_in_both_languages(env: DeskEnv) -> None:
    await env.login("agent1001")
    _, both = await env.call("GET", "/api/kb?q=e3")
    assert {a["language"] for a in both["articles"]} == {"zh", "en"}
    _, english = await env.call("GET", "/api/kb?q=e3&lang=en")
    assert [a["title"] for a in english["articles"]] == ["Washing machine error E3"]


async def test_search_validation(env: DeskEnv) -> None:
    await env.login("agent1001")
    assert (await env.call("GET", "/api/kb?q=x&lang=fr"))[0] == 400
    assert (await env.call("GET", "/api/kb?q=" + "x" * 201))[0] == 400
    status, body = await env.call("GET", f"/api/kb?q={XSS}")
    assert (status, body) == (200, {"articles": []})


async def test_read_counts_and_lists_most_read_first(env: DeskEnv) -> None:
    await env.login("agent1001")
    _, body = await env.call("GET", "/api/kb?q=Warranty")
    (warranty,) = body["articles"]
    status, answer = await env.call("POST", f"/api/kb/{warranty['id']}/read")
    assert status == 200
    assert answer == {"article": {**warranty, "reads": 1}}
    _, most_read = await env.call("GET", "/api/kb")
    assert most_read["articles"][0] == {**warranty, "reads": 1}
    assert await env.call("POST", "/api/kb/999999/read") == (404, {"error": "no such article"})
    assert (await env.call("POST", "/api/kb/abc/read"))[0] == 404


async def test_twenty_concurrent_reads_count_twenty(env: DeskEnv) -> None:
    await env.login("supervisor")
    _, body = await env.call("GET", "/api/kb?q=E3&lang=zh")
    article = body["articles"][0]
    responses = await asyncio.gather(
        *(env.client.post(f"/api/kb/{article['id']}/read") for _ in range(20))
    )
    assert [r.status for r in responses] == [200] * 20
    counts = sorted([(await r.json())["article"]["reads"] for r in responses])
    assert counts == list(range(article["reads"] + 1, article["reads"] + 21))
    _, after = await env.call("GET", "/api/kb?q=E3&lang=zh")
    assert after["articles"][0]["reads"] == article["reads"] + 20
