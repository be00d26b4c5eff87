"""The flow editor's reading of YAML and of the flow language's JSON Schema
(screenpop/admin/flow-yaml.js) and its words (screenpop/admin/flow-words.js), run in headless
Chromium as the page runs them: what is completed and explained where, and that every key and
node kind of ctiserver/ivr/flow.schema.json has its words in both languages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ctiserver.resources import flow_schema
from tests.chromium import launched_chromium
from tests.unit.test_flows_api import SOURCE

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCREENPOP = Path(__file__).resolve().parents[2] / "screenpop"
ORIGIN = "http://editor.test"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def page() -> AsyncIterator[Any]:
    """A page of ORIGIN that has imported the two modules (as `window.flowYaml`, `window.words`)."""
    async with launched_chromium() as browser:
        context = await browser.new_context()
        page = await context.new_page()

        async def serve(route: Any) -> None:
            path = route.request.url.removeprefix(ORIGIN + "/")
            if path == "":
                await route.fulfill(body="<!doctype html><title>t</title>", content_type="text/html")
            elif (SCREENPOP / path).is_file():
                await route.fulfill(path=str(SCREENPOP / path), content_type="text/javascript")
            else:
                await route.fulfill(status=404)

        await page.route(f"{ORIGIN}/**", serve)
        await page.goto(f"{ORIGIN}/")
        await page.evaluate(
            """async (schema) => {
                window.flowYaml = await import('/admin/flow-yaml.js');
                window.words = await import('/admin/flow-words.js');
                window.schema = schema;
            }""",
            json.loads(flow_schema().read_text(encoding="utf-8")),
        )
        yield page


async def context_at(page: Any, text: str, marker: str = "|") -> Any:
    """contextAt() where ``marker`` is in ``text`` (the marker taken out)."""
    pos = text.index(marker)
    return await page.evaluate(
        "([text, pos]) => flowYaml.contextAt(text, pos)", [text.replace(marker, "", 1), pos]
    )


async def keys_at(page: Any, text: str) -> list[str]:
    """The keys completed at the marker (the mapping's schema, its node's kind from the text)."""
    pos = text.index("|")
    return await page.evaluate(  # type: ignore[no-any-return]
        """([text, pos]) => {
            const where = flowYaml.contextAt(text, pos);
            return flowYaml.keysAt(schema, where.path, flowYaml.nodesOf(text)).map((k) => k.name);
        }""",
        [text.replace("|", "", 1), pos],
    )


async def test_every_key_and_kind_of_the_schema_has_words_in_both_languages(page: Any) -> None:
    found = await page.evaluate(
        """() => {
            const { keys, kinds } = flowYaml.schemaWords(schema);
            const bad = (table, name) =>
                !(table[name] && table[name].length === 2 && table[name].every((w) => w.trim()));
            return { keys, kinds,
                     missing: [...keys.filter((k) => bad(words.KEY_WORDS, k)),
                               ...kinds.filter((k) => bad(words.KIND_WORDS, k))],
                     extra: [...Object.keys(words.KEY_WORDS).filter((k) => !keys.includes(k.split('.').pop())),
                             ...Object.keys(words.KIND_WORDS).filter((k) => !kinds.includes(k))] };
        }"""
    )
    assert len(found["keys"]) > 60 and "overflow_queue" in found["keys"]
    assert found["kinds"][:3] == ["play", "menu", "input"]
    assert found["missing"] == [] and found["extra"] == []


async def test_the_context_of_block_and_flow_yaml(page: Any) -> None:
    text = "flow: x\nnodes:\n  a:\n    kind: menu\n    options:\n      \"1\": |\n"
    assert await context_at(page, text) == {
        "path": ["nodes", "a", "options"], "mode": "value", "key": "1", "word": "", "from": text.index("|"),
    }
    where = await context_at(page, "nodes:\n  a:\n    prompt: {zh: \"您好\", e|")
    assert (where["path"], where["mode"], where["word"]) == (["nodes", "a", "prompt"], "key", "e")
    where = await context_at(page, "nodes:\n  h:\n    kind: hours\n    open:\n      - {days: [mon, t|")
    assert (where["path"], where["mode"], where["word"]) == (["nodes", "h", "open", "[]", "days", "[]"], "value", "t")
    where = await context_at(page, "nodes:\n  b:\n    cases:\n      - when: {var: x, equals: \"1\"}\n        go|")
    assert (where["path"], where["mode"], where["word"]) == (["nodes", "b", "cases", "[]"], "key", "go")
    assert await context_at(page, "flow: x  # a comm|ent") is None


async def test_keys_follow_the_node_kind(page: Any) -> None:
    assert await keys_at(page, "fl|") == ["flow", "entry", "language", "start", "nodes"]
    queue = await keys_at(page, "nodes:\n  q:\n    kind: queue\n    |\n  m:\n    kind: menu\n")
    assert "overflow_queue" in queue and "options" not in queue
    menu = await keys_at(page, "nodes:\n  q:\n    kind: queue\n  m:\n    kind: menu\n    |\n")
    assert "options" in menu and "overflow_queue" not in menu
    inline = await keys_at(page, "nodes:\n  p: {kind: play, |}\n")
    assert inline == ["kind", "prompt", "next"]
    assert await keys_at(page, "nodes:\n  p:\n    kind: play\n    prompt: {|}\n") == ["zh", "en", "file"]


async def test_values_and_what_a_key_says(page: Any) -> None:
    values = await page.evaluate(
        """(text) => {
            const kinds = flowYaml.nodesOf(text);
            return { kind: flowYaml.valuesAt(schema, ['nodes', 'x', 'kind'], kinds),
                     next: flowYaml.valuesAt(schema, ['nodes', 'repair_queue', 'after'], kinds),
                     queue: flowYaml.valuesAt(schema, ['nodes', 'repair_queue', 'overflow_queue'], kinds),
                     nodes: [...kinds],
                     timeout: flowYaml.describeKey(schema, ['nodes', 'repair_queue'], 'timeout', kinds) };
        }""",
        SOURCE,
    )
    assert values["kind"]["values"][:2] == ["play", "menu"] and values["kind"]["nodeIds"] is False
    assert values["next"]["nodeIds"] is True and values["next"]["queues"] is False
    assert values["queue"]["queues"] is True and values["queue"]["nodeIds"] is False
    assert ["choose_language", "language"] in values["nodes"] and ["repair_queue", "queue"] in values["nodes"]
    timeout = values["timeout"]
    assert timeout["kind"] == "queue" and timeout["types"] == ["integer"] and timeout["defaultValue"] == 0
    assert timeout["description"] == "seconds in the queue, 0 = no limit"
