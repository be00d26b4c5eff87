"""PromptLibrary: real espeak-ng synthesis to 8 kHz mono 16-bit WAV, cached once per text."""

from __future__ import annotations

import asyncio
import shutil
import stat
import wave
from pathlib import Path

import pytest

from ctiserver.ivr.prompts import PromptError, PromptLibrary
from tests.conftest import require


@pytest.fixture
def espeak() -> None:
    require(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (apt-get install espeak-ng)")


@pytest.fixture
def library(tmp_path: Path) -> PromptLibrary:
    return PromptLibrary(tmp_path / "tts", "/chroot/view/tts", flow_sounds_asterisk_dir="/ast/flows/sounds")


def count_espeak(library: PromptLibrary) -> list[tuple[str, str]]:
    """Wrap the library's espeak-ng runner; the list grows with every real run."""
    calls: list[tuple[str, str]] = []
    original = library._run_espeak

    async def counting(voice: str, text: str, out: str) -> None:
        calls.append((voice, text))
        await asyncio.sleep(0.05)  # let concurrent callers pile up
        await original(voice, text, out)

    library._run_espeak = counting  # type: ignore[method-assign]
    return calls


def assert_telephone_wav(path: Path) -> None:
    with wave.open(str(path), "rb") as wav:
        assert wav.getframerate() == 8000
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getnframes() > 8000 * 0.3  # some speech, not an empty file
    assert path.stat().st_mode & stat.S_IROTH


@pytest.mark.usefixtures("espeak")
@pytest.mark.parametrize(
    ("language", "text"), [("zh", "您好，欢迎致电售后服务热线"), ("en", "Welcome to the service hotline")]
)
async def test_synthesises_telephone_wav(library: PromptLibrary, language: str, text: str):
    sound = await library.sound_for(text, language)
    key = library.cache_key(text, language)
    assert sound == f"/chroot/view/tts/{key}"
    assert_telephone_wav(library.host_dir / f"{key}.wav")
    assert sorted(p.name for p in library.host_dir.iterdir()) == [f"{key}.wav"]  # no temp files left


@pytest.mark.usefixtures("espeak")
async def test_second_request_comes_from_the_cache(library: PromptLibrary):
    calls = count_espeak(library)
    first = await library.sound_for("请按1", "zh")
    path = library.host_path("请按1", "zh")
    mtime = path.stat().st_mtime_ns
    second = await library.sound_for("请按1", "zh")
    assert first == second
    assert calls == [("cmn", "请按1")]
    assert path.stat().st_mtime_ns == mtime


@pytest.mark.usefixtures("espeak")
async def test_concurrent_requests_synthesise_once(library: PromptLibrary):
    calls = count_espeak(library)
    sounds = await asyncio.gather(*(library.sound_for("Please hold", "en") for _ in range(5)))
    assert len(set(sounds)) == 1
    assert calls == [("en-us", "Please hold")]
    assert [p.name for p in library.host_dir.iterdir()] == [f"{library.cache_key('Please hold', 'en')}.wav"]


@pytest.mark.usefixtures("espeak")
async def test_voice_is_part_of_the_key_and_dashes_are_text(library: PromptLibrary):
    zh = await library.sound_for("-1", "zh")
    en = await library.sound_for("-1", "en")
    assert zh != en
    assert_telephone_wav(library.host_path("-1", "en"))


async def test_file_sounds(library: PromptLibrary):
    assert library.file_sound("beep") == "beep"
    assert library.file_sound("custom/welcome") == "custom/welcome"
    assert library.file_sound("sounds/welcome") == "/ast/flows/sounds/welcome"
    with pytest.raises(PromptError):
        PromptLibrary(Path("/tmp/x"), "/x").file_sound("sounds/welcome")


async def test_unknown_language_and_missing_espeak(tmp_path: Path):
    library = PromptLibrary(tmp_path, "/x", espeak=str(tmp_path / "no-such-espeak"))
    with pytest.raises(PromptError, match="no espeak-ng voice"):
        await library.sound_for("bonjour", "fr")
    with pytest.raises(PromptError, match="cannot run"):
        await library.sound_for("hello", "en")
    assert [p for p in tmp_path.iterdir() if p.suffix == ".wav"] == []
