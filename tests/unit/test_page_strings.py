"""The pages' strings (screenpop/i18n.js): every key in both languages, every key a page uses
exists, and every word of the contact center's vocabulary is translated, once.

The tables are read as the browser has them (headless Chromium imports i18n.js, whose
vocabulary words are added by code); the pages' uses are scanned from their HTML and JS:
``data-i18n*`` attributes, ``t("key")``, ``tOr("prefix", code)``, template keys
``t(`prefix.${code}`)`` and any string literal spelled like a key of a known namespace
(``el(..., {dataset: {i18n: "key"}})``, the shell's table of pages, ``L(tag, "key")``).
The scanner is shown failing on synthetic bad cases below, so that it cannot pass vacuously.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ctiserver import vocabulary
from ctiserver.meta import meta_body
from ctiserver.settings import Settings
from tests.chromium import launched_chromium

#: the async tests share the module's browser
IN_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

SCREENPOP = Path(__file__).resolve().parents[2] / "screenpop"
ORIGIN = "http://pages.test"

KEY = r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+"
ATTRIBUTE_USE = re.compile(r'data-i18n(?:-placeholder|-title|-doc|-label)?="([^"]*)"')
CALL_USE = re.compile(r"""\bt\(\s*(["'])(.*?)\1""")
PREFIX_USE = re.compile(r"""\btOr\(\s*(["'])(.*?)\1""")
TEMPLATE_USE = re.compile(r"`(" + KEY + r"\.)\$\{")
LITERAL = re.compile(r"""(["'])(""" + KEY + r""")\1""")


@dataclasses.dataclass(frozen=True)
class Tables:
    """The keys of each language; the vocabulary: prefix -> code -> [zh, en]."""

    keys: dict[str, frozenset[str]]
    vocabulary: dict[str, dict[str, list[str]]]


def page_files() -> dict[str, str]:
    """Every page's HTML and JS (the string tables aside: i18n.js, and the flow editor's words
    for the flow language, admin/flow-words.js, whose "kind.key" names are no page keys and
    which tests/unit/test_flow_editor_schema.py holds to the schema; vendored code aside)."""
    files = {}
    for path in sorted(SCREENPOP.rglob("*")):
        if path.suffix not in (".html", ".js") or path.name in ("i18n.js", "flow-words.js"):
            continue
        if "vendor" not in path.parts:
            files[str(path.relative_to(SCREENPOP))] = path.read_text(encoding="utf-8")
    return files


def uses(name: str, text: str) -> Iterable[tuple[str, str]]:
    """(kind, key) for each use: kind "key" (must exist) or "namespace" (some key must start
    with it and a dot). A literal of an unknown namespace is left to the other checks."""
    for match in ATTRIBUTE_USE.finditer(text):
        yield "key", match.group(1)
    if not name.endswith(".js"):
        return
    seen = set()  # where the quoted arguments of t() and tOr() start: not literals again
    for match in CALL_USE.finditer(text):
        seen.add(match.start(1))
        yield "key", match.group(2)
    for match in PREFIX_USE.finditer(text):
        seen.add(match.start(1))
        yield "namespace", match.group(2)
    for match in TEMPLATE_USE.finditer(text):
        yield "namespace", match.group(1).rstrip(".")
    for match in LITERAL.finditer(text):
        if match.start() not in seen:
            yield "literal", match.group(2)


def problems(tables: Tables, files: dict[str, str]) -> list[str]:
    languages = sorted(tables.keys)
    every = frozenset().union(*tables.keys.values())
    found = []
    for key in sorted(every):
        missing = [lang for lang in languages if key not in tables.keys[lang]]
        if missing:
            found.append(f"{key}: no {'/'.join(missing)} text")
    namespaces = {key.rsplit(".", 1)[0] for key in every}
    namespaces |= {ns for key in every for ns in prefixes(key)}
    tops = {key.split(".", 1)[0] for key in every}
    for name, text in files.items():
        for kind, key in uses(name, text):
            if kind == "key" and key not in every:
                found.append(f"{name}: unknown key {key!r}")
            elif kind == "namespace" and key not in namespaces:
                found.append(f"{name}: no key under {key!r}")
            elif kind == "literal" and key.split(".", 1)[0] in tops and key not in every and key not in namespaces:
                found.append(f"{name}: unknown key {key!r}")
    return list(dict.fromkeys(found))  # each problem once


def prefixes(key: str) -> Iterable[str]:
    parts = key.split(".")
    for end in range(1, len(parts)):
        yield ".".join(parts[:end])


def vocabulary_codes() -> dict[str, set[str]]:
    """Each vocabulary prefix of i18n.js and the codes the server has for it."""
    meta = meta_body(Settings())
    fields = {spec["key"] for specs in meta["ticket_fields"].values() for spec in specs}
    choices = {c for specs in meta["ticket_fields"].values() for spec in specs for c in spec.get("choices") or ()}
    return {
        "role": set(meta["roles"]),
        "type": set(meta["ticket_types"]),
        "tstatus": set(meta["ticket_statuses"]),
        "tevent": set(meta["ticket_event_kinds"]),
        "tfield": fields,
        "tchoice": choices,
        "reason": set(meta["pause_reasons"]),
        "cb.source": set(vocabulary.CALLBACK_SOURCES),
        "cb.status": set(vocabulary.CALLBACK_STATUSES),
        "cb.outcome": set(vocabulary.CALLBACK_OUTCOMES),
        "visits.status": set(vocabulary.VISIT_STATUSES),
        "dept": set(vocabulary.DEPARTMENTS),
        "level": set(vocabulary.CUSTOMER_LEVELS),
        "queue": set(meta["queues"]),
        "category": set(vocabulary.PRODUCT_CATEGORIES),
        "phonekind": set(vocabulary.PHONE_KINDS),
        "actor": set(vocabulary.TICKET_ACTORS),
        "rpb.by": set(vocabulary.REPORT_DIMENSIONS),
    }


# ---- the tables, as the browser has them


async def browser_tables(browser: Any, replace: dict[str, str] | None = None) -> Any:
    """Imports screenpop/i18n.js in a page of ORIGIN (served from the checkout, with the
    files of ``replace`` swapped in); returns {keys, vocabulary} or {error}."""
    context = await browser.new_context()
    page = await context.new_page()

    async def serve(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN + "/")
        if path == "":
            await route.fulfill(body="<!doctype html><title>strings</title>", content_type="text/html")
        elif replace and path in replace:
            await route.fulfill(body=replace[path], content_type="text/javascript")
        elif (SCREENPOP / path).is_file():
            await route.fulfill(path=str(SCREENPOP / path), content_type="text/javascript")
        else:
            await route.fulfill(status=404)

    await page.route(f"{ORIGIN}/**", serve)
    try:
        await page.goto(f"{ORIGIN}/")
        return await page.evaluate(
            """async () => {
              try {
                const m = await import('/i18n.js');
                return { keys: Object.fromEntries(m.LANGUAGES.map((l) => [l, Object.keys(m.STRINGS[l])])),
                         vocabulary: m.VOCABULARY };
              } catch (error) {
                return { error: String(error) };
              }
            }""")
    finally:
        await context.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Any]:
    async with launched_chromium() as browser:
        yield browser


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def tables(browser: Any) -> Tables:
    loaded = await browser_tables(browser)
    assert "error" not in loaded, loaded
    return Tables({lang: frozenset(keys) for lang, keys in loaded["keys"].items()}, loaded["vocabulary"])


# ---- the real pages


@IN_MODULE_LOOP
async def test_every_key_in_both_languages_and_every_used_key_exists(tables: Tables) -> None:
    files = page_files()
    assert {"agent.html", "admin/flows.html", "admin/flows.js", "shell.js", "index.html"} <= set(files)
    assert set(tables.keys) == {"zh", "en"}
    assert problems(tables, files) == []


@IN_MODULE_LOOP
async def test_the_scan_sees_the_pages_uses(tables: Tables) -> None:
    counted: dict[str, int] = {}
    for name, text in page_files().items():
        for kind, _key in uses(name, text):
            counted[kind] = counted.get(kind, 0) + 1
    # hundreds of attribute and call uses, dozens of prefixes: the patterns match the pages' code
    assert counted["key"] > 250 and counted["namespace"] > 30 and counted["literal"] > 100, counted


@IN_MODULE_LOOP
async def test_every_vocabulary_word_is_translated_once(tables: Tables) -> None:
    expected = vocabulary_codes()
    for prefix, codes in expected.items():
        assert set(tables.vocabulary[prefix]) == codes, prefix  # none missing, none stale
        for code, words in tables.vocabulary[prefix].items():
            assert len(words) == len(tables.keys) and all(w.strip() for w in words), (prefix, code)
    assert set(tables.vocabulary) == set(expected)
    # the engineer's work finished, not the ticket: it waits for its return visit and closing
    assert tables.vocabulary["tstatus"]["completed"][0] == "已完工"


def test_no_page_patches_the_string_table() -> None:
    patching = re.compile(r"STRINGS\s*(\.|\[)|from\s+[\"'][./]*i18n\.js[\"']")
    assert [name for name, text in page_files().items() if name != "common.js" and patching.search(text)] == []


# ---- the checks themselves, on synthetic bad cases


def test_the_check_finds_a_key_in_one_language_only() -> None:
    tables = Tables({"zh": frozenset({"a.b", "a.c"}), "en": frozenset({"a.b", "a.d"})}, {})
    assert problems(tables, {}) == ["a.c: no en text", "a.d: no zh text"]


def test_the_check_finds_uses_of_keys_that_do_not_exist() -> None:
    tables = Tables({"zh": frozenset({"a.b", "a.sub.c"}), "en": frozenset({"a.b", "a.sub.c"})}, {})
    files = {
        "x.html": '<p data-i18n="a.b"></p><p data-i18n="a.missing"></p><input data-i18n-placeholder="a.gone">',
        "y.js": 't("a.b"); t(\'a.nope\', {n}); tOr("a.sub", v); tOr("a.none", v); t(`a.sub.${x}`); '
                't(`a.empty.${x}`); el("p", { dataset: { i18n: "a.typo" } }); "a.sub"; "other.thing"; "a.b.c"',
        "z.html": '<p>t("a.ignored") is not code in HTML</p>',
    }
    assert problems(tables, files) == [
        "x.html: unknown key 'a.missing'",
        "x.html: unknown key 'a.gone'",
        "y.js: unknown key 'a.nope'",
        "y.js: no key under 'a.none'",
        "y.js: no key under 'a.empty'",
        "y.js: unknown key 'a.typo'",
        "y.js: unknown key 'a.b.c'",
    ]


@IN_MODULE_LOOP
async def test_a_page_string_may_not_translate_a_vocabulary_word_again(browser: Any) -> None:
    source = (SCREENPOP / "i18n.js").read_text(encoding="utf-8")
    start = "export const STRINGS = {\n  zh: {"
    twice = source.replace(start, start + '\n    "tstatus.completed": "已完成",', 1)
    assert twice != source
    loaded = await browser_tables(browser, {"i18n.js": twice})
    assert "tstatus.completed is a vocabulary word" in loaded.get("error", ""), loaded
