"""Prompts are made when a flow goes in force, never while a caller waits (issue 9).

Which texts a flow needs (every prompt field of every node kind, both languages),
the registry preparing a flow before it goes in force at start, publish, rollback
and file reload, what happens when a prompt cannot be made, and, with real
espeak-ng, that a call through a loaded flow synthesises nothing.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ctiserver.ivr.channel import ScriptedChannel
from ctiserver.ivr.engine.runner import FlowEngine
from ctiserver.ivr.loader import Flow, load_flow
from ctiserver.ivr.prompt_texts import flow_texts, pick_text, prompt_fields
from ctiserver.ivr.prompts import PromptLibrary
from ctiserver.ivr.registry import FlowRegistry
from ctiserver.ivr.store import FlowVersionRepository
from ctiserver.ivr.validation.nodes import KINDS
from ctiserver.ivr.validation.vocabulary import LANGUAGES
from ctiserver.settings import Settings
from ctiserver.storage.database import Database
from tests.conftest import require
from tests.unit.test_flow_engine import FakeServices

HOTLINE = Path(__file__).resolve().parents[2] / "ivr_flows" / "hotline.yaml"
SOURCE = HOTLINE.read_text(encoding="utf-8")
QUEUES = [q.name for q in Settings().hotline.queues]
# Monday 2025-06-02 10:00 in Shanghai: the hotline is open
OPEN = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)

#: every node kind that has a prompt, each prompt field filled: plain strings (spoken in
#: the call's language), mappings with one language missing, a placeholder, a file
EVERY_PROMPT = """\
flow: prompts
entry: "4008009999"
language: zh
start: lang
nodes:
  lang: {kind: language, prompt: "请选择语言", options: {"1": zh, "2": en}, next: hello}
  hello: {kind: play, prompt: {zh: "您好", en: "Hello"}, next: menu}
  menu:
    kind: menu
    prompt: "菜单"
    options: {"1": number, "2": callback, "3": voicemail, "4": survey}
    invalid_prompt: {zh: "无效"}
    timeout_prompt: {en: "No key"}
    on_fail: bye
  number:
    kind: input
    prompt: "请输入号码"
    var: n
    invalid_prompt: "号码无效"
    next: greet
    on_fail: bye
  greet: {kind: play, prompt: "${caller_name}您好", next: beep}
  beep: {kind: play, prompt: {file: beep}, next: bye}
  callback: {kind: callback, number: caller_id, prompt: "回电", next: bye}
  voicemail: {kind: voicemail, prompt: "留言", next: bye}
  survey: {kind: survey, prompt: "打分", thanks: "谢谢", next: bye}
  bye: {kind: hangup, prompt: "再见"}
"""


def every_prompt_flow(sounds: Path) -> Flow:
    (sounds / "beep.wav").write_bytes(b"RIFF")
    return load_flow(EVERY_PROMPT, queues=QUEUES, sounds_dirs=[sounds])


def hotline(source: str = SOURCE) -> Flow:
    return load_flow(source, queues=QUEUES, sounds_dirs=[])


def test_prompt_fields_come_from_the_validators_node_kinds() -> None:
    fields = prompt_fields()
    assert set(fields) == set(KINDS)
    assert fields["menu"] == ("prompt", "invalid_prompt", "timeout_prompt")
    assert fields["input"] == ("prompt", "invalid_prompt")
    assert fields["survey"] == ("prompt", "thanks")
    for kind in ("play", "callback", "voicemail", "language", "hangup"):
        assert fields[kind] == ("prompt",)
    assert fields["queue"] == fields["hours"] == ()


def test_every_prompt_of_every_kind_in_both_languages(tmp_path: Path) -> None:
    texts = flow_texts(every_prompt_flow(tmp_path))
    plain = ["请选择语言", "菜单", "请输入号码", "号码无效", "回电", "留言", "打分", "谢谢", "再见"]
    expected = {(language, words) for words in plain for language in ("zh", "en")}
    # a mapping: its own text per language; a missing language falls back to the flow's
    expected |= {("zh", "您好"), ("en", "Hello"), ("zh", "无效"), ("en", "No key")}
    assert texts == expected  # neither the placeholder greeting nor the file prompt


def test_the_sample_hotline_needs_every_prompt_the_engine_can_say() -> None:
    flow = hotline()
    texts = flow_texts(flow)
    for node_id, node in flow.nodes.items():
        for name in prompt_fields()[node["kind"]]:
            if name not in node:
                continue
            for language in LANGUAGES:
                picked = pick_text(node[name], language, flow.language)
                if "${" not in picked[1]:
                    assert picked in texts, f"{node_id}.{name} in {language}"
    assert ("en", "Welcome to after-sales service.") in texts
    assert ("zh", "报修请按1，投诉请按2，安装或移机请按3，自助查询请按4，查询维修进度请按5，人工服务请按0。") in texts
    assert not any("${" in words for _, words in texts)


class Preparer:
    """Stands in for PromptLibrary.prepare_flow: records what it prepared and what the
    registry had in force meanwhile."""

    def __init__(self, registry_ref: list[FlowRegistry], problems: Sequence[str] = ()) -> None:
        self.registry_ref = registry_ref
        self.problems = list(problems)
        self.prepared: list[str] = []
        self.in_force_meanwhile: list[str | None] = []
        self.fail: Exception | None = None

    async def __call__(self, flow: Flow) -> list[str]:
        registry = self.registry_ref[0]
        running = registry.get(flow.name)
        self.in_force_meanwhile.append(running.version if running else None)
        if self.fail is not None:
            raise self.fail
        self.prepared.append(flow.version)
        return self.problems


def make_registry(
    db: Database, flows_dir: Path, preparer_problems: Sequence[str] = ()
) -> tuple[FlowRegistry, Preparer]:
    flows_dir.mkdir(exist_ok=True)
    (flows_dir / "hotline.yaml").write_text(SOURCE, encoding="utf-8")
    ref: list[FlowRegistry] = []
    preparer = Preparer(ref, preparer_problems)
    registry = FlowRegistry(
        flows_dir, queues=QUEUES, sounds_dirs=[flows_dir], versions=FlowVersionRepository(db),
        prepare=preparer,
    )
    ref.append(registry)
    return registry, preparer


EDITED = SOURCE.replace("您好，欢迎致电售后服务热线。", "您好，欢迎再次致电。")


async def test_each_way_into_force_prepares_the_flow_first(db: Database, tmp_path: Path) -> None:
    registry, preparer = make_registry(db, tmp_path / "flows")
    first = hotline().version
    assert await registry.load_all() == []  # at start
    assert preparer.prepared == [first] and preparer.in_force_meanwhile == [None]

    published = await registry.publish(EDITED, author="admin")  # from the admin page
    edited = published.flow.version
    assert preparer.prepared[-1] == edited and preparer.in_force_meanwhile[-1] == first

    await registry.rollback("hotline", 1, author="admin")  # rollback
    assert preparer.prepared[-1] == first and preparer.in_force_meanwhile[-1] == edited

    (tmp_path / "flows" / "hotline.yaml").write_text(EDITED, encoding="utf-8")  # the watcher
    watcher = asyncio.create_task(registry.watch(0.05))
    try:
        for _ in range(100):
            if registry.get("hotline").version == edited:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.05)
    finally:
        watcher.cancel()
    assert preparer.prepared[-1] == edited and preparer.in_force_meanwhile[-1] == first
    assert registry.get("hotline").version == edited  # type: ignore[union-attr]


async def test_a_stored_version_kept_at_start_is_prepared(db: Database, tmp_path: Path) -> None:
    registry, _ = make_registry(db, tmp_path / "flows")
    await registry.load_all()
    (tmp_path / "flows" / "hotline.yaml").unlink()
    again, preparer = make_registry(db, tmp_path / "other")
    (tmp_path / "other" / "hotline.yaml").unlink()
    assert await again.load_all() == []
    assert preparer.prepared == [hotline().version]


async def test_a_failing_preparation_keeps_the_running_version(db: Database, tmp_path: Path) -> None:
    registry, preparer = make_registry(db, tmp_path / "flows")
    await registry.load_all()
    running = registry.get("hotline")
    preparer.fail = OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        await registry.publish(EDITED, author="admin")
    assert registry.get("hotline") is running
    assert [v.number for v in await registry.versions.list("hotline")] == [1]
    assert (tmp_path / "flows" / "hotline.yaml").read_text(encoding="utf-8") == SOURCE


async def test_prompts_that_cannot_be_made_are_logged_and_the_flow_goes_in_force(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry, _ = make_registry(db, tmp_path / "flows", ["zh prompt '再见': espeak-ng exited 1"])
    await registry.load_all()
    with caplog.at_level(logging.WARNING, logger="ctiserver.ivr.registry"):
        published = await registry.publish(EDITED, author="admin")
    assert registry.get("hotline") is published.flow
    assert published.warnings == ("zh prompt '再见': espeak-ng exited 1",)
    assert "goes in force without a sound: zh prompt '再见'" in caplog.text


async def test_a_missing_synthesiser_is_a_warning_not_a_refusal(tmp_path: Path) -> None:
    library = PromptLibrary(tmp_path / "tts", "/tts", espeak=str(tmp_path / "no-such-espeak"))
    problems = await library.prepare_flow(every_prompt_flow(tmp_path))
    assert len(problems) == len(flow_texts(every_prompt_flow(tmp_path)))
    assert all("cannot run" in problem for problem in problems)


# -- with real espeak-ng -----------------------------------------------------------


@pytest.fixture
def espeak() -> None:
    require(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (apt-get install espeak-ng)")


@pytest.mark.usefixtures("espeak")
async def test_after_loading_every_prompt_file_exists_and_a_call_synthesises_nothing(
    db: Database, tmp_path: Path
) -> None:
    library = PromptLibrary(tmp_path / "tts", "/tts")
    flows_dir = tmp_path / "flows"
    flows_dir.mkdir()
    (flows_dir / "hotline.yaml").write_text(SOURCE, encoding="utf-8")
    registry = FlowRegistry(
        flows_dir, queues=QUEUES, sounds_dirs=[flows_dir], versions=FlowVersionRepository(db),
        prepare=library.prepare_flow,
    )
    assert await registry.load_all() == []
    flow = registry.get("hotline")
    assert flow is not None
    texts = flow_texts(flow)
    # 32, and the repair progress: the progress nodes' own sentences (14 not already in the flow)
    # and the ticket number's input (its prompt in zh and en, "Invalid number.")
    assert len(texts) == 32 + 14 + 3
    for language, words in texts:
        assert library.host_path(words, language).is_file(), (language, words)
    made = library.syntheses
    assert made == len(texts)

    engine = FlowEngine(FakeServices(), library, clock=lambda: OPEN)
    for presses in (["1", "0"], ["2", "4", "2"], ["1", "9", "", "", "3", "2"]):  # zh, en, errors
        run = await engine.run(flow, ScriptedChannel(presses), call_id="c", caller_number="13100000001",
                               caller_name="")
        assert run.error is None
    assert library.synthesised_during_calls == []
    assert library.syntheses == made

    # publishing an edit makes only the new text, before it goes in force
    published = await registry.publish(EDITED, author="admin")
    assert library.syntheses == made + 1
    assert library.host_path("您好，欢迎再次致电。", "zh").is_file()
    assert published.warnings == ()


@pytest.mark.usefixtures("espeak")
async def test_only_a_text_with_placeholders_is_made_during_the_call(tmp_path: Path) -> None:
    library = PromptLibrary(tmp_path / "tts", "/tts")
    flow = load_flow(
        textwrap.dedent("""\
            flow: hi
            entry: "1"
            language: zh
            start: a
            nodes:
              a: {kind: play, prompt: "您好", next: b}
              b: {kind: hangup, prompt: "${caller_name}，再见"}
        """),
        queues=QUEUES, sounds_dirs=[],
    )
    assert await library.prepare_flow(flow) == []
    engine = FlowEngine(FakeServices(), library, clock=lambda: OPEN)
    await engine.run(flow, ScriptedChannel([]), call_id="c", caller_number="1", caller_name="李娜")
    assert library.synthesised_during_calls == [("zh", "李娜，再见")]
