"""Callers waiting in a queue are told of the callback key, and thanked once they press it, in
their language (``callbacks.keyprompts``): the words follow the key; the queues.conf
periodic announcement and the dialplan's thanks name the server's own prompts (published per
language under one sound name) or the operator's, checked as plain sound names; the IVR gives
Asterisk the caller's language when it queues them."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pytest

from ctiserver.callbacks.keyprompts import (
    KEY_ANNOUNCE,
    KEY_THANKS,
    THANKS_TEXTS,
    KeyPrompts,
    announce_texts,
    key_prompts,
    key_words,
    publish_key_prompts,
)
from ctiserver.ivr.prompts import PromptLibrary
from ctiserver.operations.snippets import dialplan_contexts, render_snippets
from ctiserver.server import CtiServer
from ctiserver.settings import Settings
from tests.conftest import require
from tests.unit.test_flow_engine import flow, run

PROMPTS = "/var/lib/ctiserver/prompts"


def _settings(**callbacks: object) -> Settings:
    """Callbacks dialled, the key * offered, prompts where Asterisk reads them as PROMPTS."""
    return Settings().replace(
        hotline={"callback_interface": "PJSIP/{number}@trunk"},
        callbacks={"dial": True, **callbacks},
        ivr={"asterisk_prompt_dir": PROMPTS},
    )


def test_the_words_follow_the_key() -> None:
    assert key_words("*") == {"zh": "星号键", "en": "star"}
    assert key_words("#") == {"zh": "井号键", "en": "pound"}
    assert key_words("5") == {"zh": "5键", "en": "5"}
    assert announce_texts("*") == {
        "zh": "如需保留您的排队位置并由我们回电，请按星号键。",
        "en": "To keep your place and be called back, press star.",
    }
    assert announce_texts("#")["en"].endswith("press pound.") and "井号键" in announce_texts("#")["zh"]
    assert announce_texts("0")["en"].endswith("press 0.") and "请按0键" in announce_texts("0")["zh"]
    assert THANKS_TEXTS == {
        "zh": "好的，我们会尽快给您回电，再见。", "en": "Thank you, we will call you back soon. Goodbye.",
    }
    for hostile in ("", "**", "a", "${X}"):
        with pytest.raises(ValueError, match="not a key"):
            key_words(hostile)


def test_the_prompts_the_settings_give() -> None:
    assert key_prompts(Settings()) == KeyPrompts("", "", 0, 0, ""), "no callback_interface: no key, no prompts"
    assert key_prompts(_settings()) == KeyPrompts(
        "*", f"{PROMPTS}/{KEY_ANNOUNCE}", 10, 45, f"{PROMPTS}/{KEY_THANKS}"
    )
    hash_key = _settings(key_announce_after=0, key_announce_every=20).replace(hotline={"queue_callback_key": "#"})
    assert key_prompts(hash_key) == KeyPrompts("#", f"{PROMPTS}/{KEY_ANNOUNCE}", 0, 20, f"{PROMPTS}/{KEY_THANKS}")
    not_dialled = _settings(dial=False)
    assert key_prompts(not_dialled) == KeyPrompts("*", "", 0, 0, f"{PROMPTS}/{KEY_THANKS}"), \
        "the key only sends the caller back to the queue: not offered, the thanks still named"
    assert key_prompts(_settings(key_announce_every=0)).announce == ""
    own = _settings(key_announce_prompt="custom/callback-offer", key_thanks_prompt="/srv/sounds/thanks")
    assert (key_prompts(own).announce, key_prompts(own).thanks) == ("custom/callback-offer", "/srv/sounds/thanks")
    host = Settings().replace(hotline={"callback_interface": "PJSIP/{number}@trunk"}, callbacks={"dial": True},
                              ivr={"prompt_dir": "/opt/cti/prompts"})
    assert key_prompts(host).thanks == "/opt/cti/prompts/cti-callback-thanks", "Asterisk on the same machine"


@pytest.mark.parametrize("hostile", ["x)|System(id)", "a,b", "a&b", "a b", "../../etc/passwd", "${CALLERID(num)}"])
def test_a_prompt_that_is_not_a_sound_name_is_refused(hostile: str) -> None:
    for setting in ("key_announce_prompt", "key_thanks_prompt"):
        with pytest.raises(ValueError, match=setting):
            key_prompts(_settings(**{setting: hostile}))
    with pytest.raises(ValueError, match="asterisk_prompt_dir"):
        key_prompts(_settings().replace(ivr={"asterisk_prompt_dir": f"/srv/{hostile}"}))
    bad = _settings(key_thanks_prompt=hostile).replace(database={"url": "sqlite+aiosqlite:///:memory:"})
    with pytest.raises(ValueError, match="key_thanks_prompt"):
        CtiServer(bad)


def test_the_queues_offer_the_key_and_the_dialplan_thanks_in_the_callers_language() -> None:
    settings = _settings()
    snippets = render_snippets(settings, "127.0.0.1")
    queues = snippets["queues_ctiserver.conf"]
    count = len(settings.hotline.queues)
    assert queues.count(f"periodic-announce = {PROMPTS}/cti-callback-key\n") == count
    assert queues.count("periodic-announce-frequency = 45\n") == count
    assert queues.count("periodic-announce-startdelay = 10\n") == count
    assert queues.count("relative-periodic-announce = yes\n") == count
    support = queues[queues.index("[support]"):queues.index("[repair]")]
    assert "context = cti-queue-callback" in support and "periodic-announce = " in support
    dialplan = snippets["extensions_ctiserver.conf"]
    callback = dialplan[dialplan.index("[cti-queue-callback]"):dialplan.index("[cti-callback-hold]")]
    assert (
        ' same => n,GotoIf($["${CTI_QUEUE_CALLBACK}" != "ok"]?back)\n'
        f" same => n,Playback({PROMPTS}/cti-callback-thanks)\n"
        f" same => n,UserEvent(CtiQueueCallbackThanks,Prompt: {PROMPTS}/cti-callback-thanks,"
        "Status: ${PLAYBACKSTATUS})\n"
        " same => n,Hangup()\n"
    ) in callback
    assert "auth-thankyou" not in dialplan and "vm-goodbye" not in dialplan, "no English stock sounds"

    no_start = render_snippets(_settings(key_announce_after=0), "127.0.0.1")["queues_ctiserver.conf"]
    assert "periodic-announce = " in no_start and "startdelay" not in no_start
    for off in (_settings(dial=False), _settings(key_announce_every=0), Settings(),
                _settings().replace(hotline={"queue_callback_key": ""})):
        assert "periodic-announce" not in render_snippets(off, "127.0.0.1")["queues_ctiserver.conf"]
    assert "Playback(" not in render_snippets(Settings(), "127.0.0.1")["extensions_ctiserver.conf"]
    assert "cti-queue-callback" in dialplan_contexts(_settings(dial=False)), "the thanks needs no dialler"

    own = render_snippets(_settings(key_announce_prompt="custom/callback-offer", key_thanks_prompt="custom/bye"),
                          "127.0.0.1")
    assert own["queues_ctiserver.conf"].count("periodic-announce = custom/callback-offer\n") == count
    assert "Playback(custom/bye)\n" in own["extensions_ctiserver.conf"]


async def test_the_ivr_gives_asterisk_the_callers_language_when_it_queues_them() -> None:
    chosen = flow("""
        start: {kind: language, prompt: "中文请按1。For English, press 2.", options: {"1": zh, "2": en}, next: q}
        q: {kind: queue, queue: support}
    """)
    _, channel, _ = await run(chosen, ["2"])
    assert channel.variables["CHANNEL(language)"] == "en"
    assert channel.variables["CTI_QUEUE"] == "support"
    _, channel, _ = await run(chosen, ["1"])
    assert channel.variables["CHANNEL(language)"] == "zh"
    _, channel, _ = await run(flow("start: {kind: queue, queue: support}", language="en"))
    assert channel.variables["CHANNEL(language)"] == "en", "no language node: the flow's language"
    _, channel, _ = await run(flow("start: {kind: hangup}"))
    assert "CHANNEL(language)" not in channel.variables, "only a caller who queues"


class _CountingLibrary(PromptLibrary):
    """Synthesises a tiny WAV per text instead of running espeak-ng."""

    def __init__(self, host_dir: Path, asterisk_dir: str) -> None:
        super().__init__(host_dir, asterisk_dir)
        self.spoken: list[tuple[str, str]] = []

    async def _synthesise(self, text: str, voice: str, path: Path) -> None:
        self.spoken.append((voice, text))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"{voice}:{text}".encode())
        self.syntheses += 1


async def test_the_servers_own_prompts_are_published_per_language(tmp_path: Path) -> None:
    library = _CountingLibrary(tmp_path / "prompts", PROMPTS)
    settings = _settings()
    assert await publish_key_prompts(library, settings) == []
    assert sorted(library.spoken) == sorted([
        ("cmn", THANKS_TEXTS["zh"]), ("en-us", THANKS_TEXTS["en"]),
        ("cmn", announce_texts("*")["zh"]), ("en-us", announce_texts("*")["en"]),
    ])
    for language, voice in (("zh", "cmn"), ("en", "en-us")):
        assert (tmp_path / "prompts" / language / "cti-callback-key.wav").read_text() == \
            f"{voice}:{announce_texts('*')[language]}"
        assert (tmp_path / "prompts" / language / "cti-callback-thanks.wav").read_text() == \
            f"{voice}:{THANKS_TEXTS[language]}"
    assert await publish_key_prompts(library, settings) == [] and len(library.spoken) == 4, "cached"

    assert await publish_key_prompts(library, settings.replace(hotline={"queue_callback_key": "#"})) == []
    assert (tmp_path / "prompts" / "en" / "cti-callback-key.wav").read_text() == \
        f"en-us:{announce_texts('#')['en']}", "a new key: the published sound follows"
    leftovers = [p.name for p in (tmp_path / "prompts" / "en").iterdir() if p.suffix != ".wav"]
    assert leftovers == []

    operators = _CountingLibrary(tmp_path / "other", PROMPTS)
    own = _settings(key_announce_prompt="custom/offer", key_thanks_prompt="custom/bye")
    assert await publish_key_prompts(operators, own) == [] and operators.spoken == [], "the operator's sounds"
    elsewhere = _CountingLibrary(tmp_path / "third", "/somewhere/else")
    (problem,) = await publish_key_prompts(elsewhere, _settings(dial=False))
    assert "is not" in problem and elsewhere.spoken == [], "never published where the dialplan does not look"


async def test_only_the_servers_names_are_published(tmp_path: Path) -> None:
    library = _CountingLibrary(tmp_path, "/p")
    for hostile in ("../x", "a/b", "A B", "", "x;y", "-x"):
        with pytest.raises(ValueError, match="published prompt"):
            await library.publish(hostile, {"zh": "好"})
    assert library.spoken == [] and list(tmp_path.iterdir()) == []
    assert library.published_sound("cti-callback-key") == "/p/cti-callback-key"
    assert await library.publish("x", {"fr": "Merci"}) == ["fr prompt x: no espeak-ng voice"]


async def test_real_espeak_publishes_telephone_wavs(tmp_path: Path) -> None:
    require(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (apt-get install espeak-ng)")
    library = PromptLibrary(tmp_path, PROMPTS)
    assert await library.publish("cti-callback-thanks", THANKS_TEXTS) == []
    for language in ("zh", "en"):
        with wave.open(str(tmp_path / language / "cti-callback-thanks.wav"), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
            assert wav.getnframes() > 8000 * 1.0, "a sentence of speech"
