"""The "this call is recorded" notice: which queues' callers hear it and what sound, as the
dialplan templates render it (``[cti-record-notice]`` in dialplans/hotline.inc.j2).

The decision is the operator's settings only (``recordings.announce``, a queue's
``announce_recording``, ``recordings.announce_prompt``); nothing a caller sends reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctiserver.recordings.model import announced_queues, is_sound_name
from ctiserver.settings import Settings


@dataclass(frozen=True)
class RecordingNotice:
    #: queues whose callers hear the prompt before they queue (none: the notice is off)
    queues: tuple[str, ...]
    #: the Asterisk sound played
    prompt: str


def recording_notice(settings: Settings) -> RecordingNotice:
    """What the dialplan plays; ValueError for a prompt that is not a plain sound name."""
    queues = announced_queues(
        ((q.name, q.record, q.announce_recording) for q in settings.hotline.queues), settings.recordings.announce
    )
    prompt = settings.recordings.announce_prompt
    if queues and not is_sound_name(prompt):
        raise ValueError(f"recordings.announce_prompt must be a sound name (letters, digits, _ - . /), not {prompt!r}")
    return RecordingNotice(tuple(queues), prompt)
