"""Prompts as sounds Asterisk can play: espeak-ng text-to-speech, cached on disk.

Synthesised prompts are 8 kHz mono 16-bit signed WAV, what Asterisk's
``format_wav`` plays without transcoding surprises, stored as
``host_dir/<sha256>.wav``. Asterisk may see that directory under another path
(in the lab it runs in a chroot), so sound names are built from ``asterisk_dir``.

Every text prompt of a flow is made before the flow goes in force
(:meth:`PromptLibrary.prepare_flow`, called by the registry), so a caller never
waits for the synthesiser: only a text with ``${var}`` placeholders, which depends
on the call, is made during a call (and cached like any other).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ctiserver.ivr.prompt_texts import flow_texts
from ctiserver.ivr.validation.vocabulary import LANGUAGES
from ctiserver.settings import IvrSettings

with warnings.catch_warnings():
    # pydub warns at import when ffmpeg is missing (WAV in and out never needs it)
    # and imports audioop, deprecated since 3.11 (Python 3.13 needs audioop-lts)
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    from pydub import AudioSegment

if TYPE_CHECKING:
    from ctiserver.ivr.loader import Flow

log = logging.getLogger(__name__)

#: syntheses run at once while a flow is prepared (each is an espeak-ng process)
PREPARE_CONCURRENCY = 2

DEFAULT_VOICES: Mapping[str, str] = {"zh": "cmn", "en": "en-us"}
SAMPLE_RATE = 8000
#: the names :meth:`PromptLibrary.publish` gives: the server's own words, never a caller's
PUBLISHED_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def prompt_dirs(settings: IvrSettings) -> tuple[Path, str]:
    """Where the server writes synthesised prompts, and that directory as Asterisk sees it."""
    host = Path(settings.prompt_dir).resolve()
    return host, (settings.asterisk_prompt_dir or str(host)).rstrip("/")


class PromptError(RuntimeError):
    """A prompt could not be turned into a sound."""


class PromptLibrary:
    """Turns prompt text and ``file:`` names into Asterisk sound names.

    The same text requested by several calls at once is synthesised once: each
    cache key has its own lock while its file is being made.
    """

    def __init__(
        self,
        host_dir: Path,
        asterisk_dir: str,
        voices: Mapping[str, str] | None = None,
        *,
        flow_sounds_asterisk_dir: str | None = None,
        espeak: str = "espeak-ng",
        timeout: float = 30.0,
        cache_dir: Path | None = None,
    ) -> None:
        """``cache_dir``: prompts shared with other libraries (``ivr.prompt_cache_dir``)."""
        self.host_dir = Path(host_dir)
        self.cache_dir = cache_dir
        self.asterisk_dir = asterisk_dir.rstrip("/")
        self.voices = dict(DEFAULT_VOICES if voices is None else voices)
        self.flow_sounds_asterisk_dir = (
            flow_sounds_asterisk_dir.rstrip("/") if flow_sounds_asterisk_dir else None
        )
        self.espeak = espeak
        self.timeout = timeout
        self._locks: dict[str, asyncio.Lock] = {}
        #: (language, text) of every prompt synthesised while a call waited for it
        self.synthesised_during_calls: list[tuple[str, str]] = []
        #: how many prompts were synthesised in all (prepared or during calls)
        self.syntheses = 0

    def cache_key(self, text: str, language: str) -> str:
        voice = self._voice(language)
        return hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()

    def host_path(self, text: str, language: str) -> Path:
        return self.host_dir / f"{self.cache_key(text, language)}.wav"

    async def sound_for(self, text: str, language: str) -> str:
        """The sound name (no extension) of ``text`` spoken in ``language``, for a call:
        made now (the caller waits) if it was not prepared."""
        if await self._ensure(text, language):
            self.synthesised_during_calls.append((language, text))
            log.info("synthesised during a call (not prepared with its flow): %s %.60s", language, text)
        return f"{self.asterisk_dir}/{self.cache_key(text, language)}"

    async def prepare(self, texts: Iterable[tuple[str, str]]) -> list[str]:
        """Make the sounds of (language, text) pairs not made yet, a few at a time;
        returns a message for each that could not be made."""
        limit = asyncio.Semaphore(PREPARE_CONCURRENCY)

        async def one(language: str, text: str) -> str | None:
            async with limit:
                try:
                    await self._ensure(text, language)
                except (PromptError, OSError, ValueError) as exc:
                    return f"{language} prompt {text[:60]!r}: {exc}"
                return None

        results = await asyncio.gather(*(one(language, text) for language, text in sorted(texts)))
        return [problem for problem in results if problem is not None]

    async def prepare_flow(self, flow: Flow) -> list[str]:
        """Make every text prompt of ``flow`` (both languages) before it goes in force."""
        texts = flow_texts(flow, LANGUAGES)
        before = self.syntheses
        problems = await self.prepare(texts)
        log.info(
            "flow %s (%s): %d text prompts ready, %d synthesised now, %d failed",
            flow.name, flow.version, len(texts) - len(problems), self.syntheses - before, len(problems),
        )
        return problems

    async def publish(self, name: str, texts: Mapping[str, str]) -> list[str]:
        """``texts`` (language -> text) under one sound name, :meth:`published_sound`: each is
        made (cached as any prompt) and copied to ``<language>/<name>.wav``, where Asterisk looks
        first for a channel of that language (then ``<name>``, then ``en/<name>``). Returns a
        message for each that could not be made."""
        if not PUBLISHED_NAME.fullmatch(name):
            raise ValueError(f"not a name for a published prompt: {name!r}")
        unknown = sorted(set(texts) - set(self.voices))
        problems = [f"{language} prompt {name}: no espeak-ng voice" for language in unknown]
        wanted = {language: text for language, text in texts.items() if language in self.voices}
        problems += await self.prepare((language, text) for language, text in wanted.items())
        for language, text in wanted.items():
            source = self.host_path(text, language)
            if source.exists():
                await asyncio.to_thread(_place, source, self.host_dir / language / f"{name}.wav")
        return problems

    def published_sound(self, name: str) -> str:
        """The sound name Asterisk plays for :meth:`publish`'s ``name``, in the channel's language."""
        return f"{self.asterisk_dir}/{name}"

    async def _ensure(self, text: str, language: str) -> bool:
        """Make the file of ``text`` in ``language`` unless it exists; True if it was made now
        (synthesised, or copied from the shared cache)."""
        key = self.cache_key(text, language)
        path = self.host_dir / f"{key}.wav"
        if path.exists():
            return False
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if path.exists():
                    return False
                shared = self.cache_dir / path.name if self.cache_dir is not None else None
                if shared is not None and await asyncio.to_thread(_copy_into, shared, path):
                    return True
                await self._synthesise(text, self._voice(language), path)
                if shared is not None:
                    await asyncio.to_thread(_copy_into, path, shared)
                return True
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    def file_sound(self, name: str) -> str:
        """A ``file:`` prompt: stock Asterisk names as they are, ``sounds/x`` from the flows' sounds."""
        if name.startswith("sounds/"):
            if self.flow_sounds_asterisk_dir is None:
                raise PromptError(f"{name}: no flow_sounds_asterisk_dir configured")
            return f"{self.flow_sounds_asterisk_dir}/{name[len('sounds/'):]}"
        return name

    def _voice(self, language: str) -> str:
        try:
            return self.voices[language]
        except KeyError:
            raise PromptError(f"no espeak-ng voice for language {language!r}") from None

    async def _synthesise(self, text: str, voice: str, path: Path) -> None:
        self.host_dir.mkdir(parents=True, exist_ok=True)
        fd, raw = tempfile.mkstemp(prefix=".espeak-", suffix=".wav", dir=self.host_dir)
        os.close(fd)
        try:
            await self._run_espeak(voice, text, raw)
            await asyncio.to_thread(_convert, Path(raw), path)
        finally:
            Path(raw).unlink(missing_ok=True)  # noqa: ASYNC240  (a local temporary file)
        self.syntheses += 1
        log.debug("synthesised %s prompt %s: %.60s", voice, path.name, text)

    async def _run_espeak(self, voice: str, text: str, out: str) -> None:
        """``espeak-ng -v VOICE -w OUT -- TEXT``: an argument vector, no shell; ``--`` so
        a text starting with ``-`` is not taken for an option."""
        try:
            proc = await asyncio.create_subprocess_exec(
                self.espeak, "-v", voice, "-b", "1", "-w", out, "--", text,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise PromptError(f"cannot run {self.espeak}: {exc}") from exc
        try:
            async with asyncio.timeout(self.timeout):
                _, stderr = await proc.communicate()
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        if proc.returncode != 0:
            message = stderr.decode(errors="replace").strip()
            raise PromptError(f"{self.espeak} exited {proc.returncode}: {message}")


def _convert(source: Path, target: Path) -> None:
    """To 8 kHz mono 16-bit WAV, written beside ``target`` and renamed over it."""
    with open(source, "rb") as fh:  # given a path, pydub leaves the file open
        audio = AudioSegment.from_wav(fh)
    audio = audio.set_channels(1).set_sample_width(2).set_frame_rate(SAMPLE_RATE)
    fd, part = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        with open(part, "wb") as fh:
            audio.export(fh, format="wav")
        os.chmod(part, 0o644)
        os.replace(part, target)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def _place(source: Path, target: Path) -> None:
    """``target`` becomes a copy of ``source`` (renamed over it: a call playing it is undisturbed)."""
    if target.exists() and target.read_bytes() == source.read_bytes():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, part)
        os.chmod(part, 0o644)
        os.replace(part, target)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def _copy_into(source: Path, target: Path) -> bool:
    """``_place`` for the shared cache, which is an optimisation, never an error: False if
    ``source`` is not there or could not be copied."""
    try:
        _place(source, target)
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("prompt cache: %s not copied to %s: %s", source.name, target.parent, exc)
        return False
    return True
