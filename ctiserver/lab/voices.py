"""The lab's callers speak: a short phrase synthesised by espeak-ng, made once per lab.

A newcomer who answers a lab call in the browser hears a caller (not a tone), and the
call's recording holds two voices. The phrase is written as Asterisk plays it without
transcoding (8 kHz, 16-bit, mono WAV, by sox); without espeak-ng or sox the callers
play a tone as before (the dialplan's ``LAB_CALLER_VOICE`` is then empty).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

#: what a lab caller says, in a loop, while on the line (Mandarin, as the hotline's callers)
CALLER_PHRASE = "你好，我家的洗衣机坏了，不能脱水，请派师傅上门看看。"
CALLER_VOICE = "cmn"
#: the file's name without extension, as Playback() wants it
CALLER_SOUND = "lab-caller"


def caller_voice(sounds_dir: Path, asterisk_sounds_dir: str) -> str:
    """Make (once) the lab caller's phrase in ``sounds_dir``, the directory Asterisk sees as
    ``asterisk_sounds_dir``; returns what Playback() takes, or "" when it cannot be made."""
    target = sounds_dir / f"{CALLER_SOUND}.wav"
    if target.exists():
        return f"{asterisk_sounds_dir}/{CALLER_SOUND}"
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        log.warning("lab callers play a tone: no %s", "espeak-ng" if espeak is None else "sox")
        return ""
    sounds_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        spoken = Path(scratch) / "spoken.wav"
        part = sounds_dir / f"{CALLER_SOUND}.part.wav"
        try:
            # fixed arguments and our own phrase: nothing from outside reaches these commands
            subprocess.run([espeak, "-v", CALLER_VOICE, "-s", "150", "-w", str(spoken), CALLER_PHRASE],  # noqa: S603
                           check=True, capture_output=True, timeout=30)
            subprocess.run([sox, str(spoken), "-r", "8000", "-c", "1", "-b", "16", str(part)],  # noqa: S603
                           check=True, capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("lab callers play a tone: the phrase could not be made (%s)", exc)
            return ""
        part.replace(target)
    return f"{asterisk_sounds_dir}/{CALLER_SOUND}"
