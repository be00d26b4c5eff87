"""What callers waiting in a queue hear of the callback key (``hotline.queue_callback_key``), in
their language: the offer, every few seconds (queues.conf ``periodic-announce`` of the queues
where the key works), and the thanks once they pressed it (``[cti-queue-callback]``).

The IVR sets the caller's channel language (``CHANNEL(language)``, zh or en) when it queues
them, and Asterisk picks the file of that language for one sound name: for a name with a
directory, ``<dir>/<language>/<name>`` before ``<dir>/<name>``; for a plain name,
``sounds/<language>/<name>``. So the server's own prompts (``callbacks.key_announce_prompt``
and ``callbacks.key_thanks_prompt`` empty) are synthesised in each language and published as
``ivr.prompt_dir/<language>/cti-callback-key.wav`` (and ``cti-callback-thanks.wav``) when the
server starts; an operator's own are sound names checked against a strict pattern. Nothing a
caller sends reaches these names.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ctiserver.ivr import PromptLibrary, prompt_dirs
from ctiserver.settings import Settings

log = logging.getLogger(__name__)

#: the published names of the server's own prompts (``<language>/<name>.wav`` in ivr.prompt_dir)
KEY_ANNOUNCE = "cti-callback-key"
KEY_THANKS = "cti-callback-thanks"

#: what may go into queues.conf and Playback(): no ',', '&', '|', spaces, quotes or '${'
SOUND_NAME = re.compile(r"/?[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}")

_KEY_WORDS = {"*": {"zh": "星号键", "en": "star"}, "#": {"zh": "井号键", "en": "pound"}}

THANKS_TEXTS = {"zh": "好的，我们会尽快给您回电，再见。", "en": "Thank you, we will call you back soon. Goodbye."}


def key_words(key: str) -> dict[str, str]:
    """How each language says ``key`` (one of 0-9, * or #)."""
    if key in _KEY_WORDS:
        return dict(_KEY_WORDS[key])
    if len(key) == 1 and key in "0123456789":
        return {"zh": f"{key}键", "en": key}
    raise ValueError(f"not a key: {key!r}")


def announce_texts(key: str) -> dict[str, str]:
    """The offer of ``key`` to a waiting caller, in each language."""
    words = key_words(key)
    return {
        "zh": f"如需保留您的排队位置并由我们回电，请按{words['zh']}。",
        "en": f"To keep your place and be called back, press {words['en']}.",
    }


def is_sound_name(name: str) -> bool:
    return SOUND_NAME.fullmatch(name) is not None and ".." not in name


@dataclass(frozen=True)
class KeyPrompts:
    """What the templates render (dialplans/hotline.inc.j2, asterisk-conf/queues.inc.j2)."""

    #: the key, "" when no queue offers it (no callback_interface, no key)
    key: str
    #: the sound the queues play to waiting callers ("" with ``every`` 0)
    announce: str
    #: seconds after a caller joins before the first offer, then between offers (0: never)
    after: int
    every: int
    #: the sound played once the callback is recorded
    thanks: str


def key_prompts(settings: Settings) -> KeyPrompts:
    """The sounds and timing of the key's prompts; ValueError for a sound that is not a plain
    sound name (an operator's setting, or ivr.prompt_dir as Asterisk sees it)."""
    hotline, callbacks = settings.hotline, settings.callbacks
    if not (hotline.callback_interface and hotline.queue_callback_key):
        return KeyPrompts("", "", 0, 0, "")
    key = hotline.queue_callback_key
    _, asterisk_dir = prompt_dirs(settings.ivr)
    thanks = _checked("callbacks.key_thanks_prompt", callbacks.key_thanks_prompt, f"{asterisk_dir}/{KEY_THANKS}")
    # without the dialler the key only sends the caller back to the queue: no offer then
    if not callbacks.dial or callbacks.key_announce_every <= 0:
        return KeyPrompts(key, "", 0, 0, thanks)
    announce = _checked(
        "callbacks.key_announce_prompt", callbacks.key_announce_prompt, f"{asterisk_dir}/{KEY_ANNOUNCE}"
    )
    return KeyPrompts(key, announce, max(callbacks.key_announce_after, 0), callbacks.key_announce_every, thanks)


def _checked(setting: str, configured: str, own: str) -> str:
    if configured:
        if not is_sound_name(configured):
            raise ValueError(f"{setting} must be a sound name (letters, digits, _ - . /), not {configured!r}")
        return configured
    if not is_sound_name(own):
        raise ValueError(
            f"the server's prompt {own!r} is not a plain sound name: set ivr.asterisk_prompt_dir "
            "(or ivr.prompt_dir) to a path of letters, digits, _ - . / only, or set " + setting
        )
    return own


async def publish_key_prompts(library: PromptLibrary, settings: Settings) -> list[str]:
    """Synthesise the server's own prompts of the key (those the settings do not name) in every
    language, under the names the templates render; a message for each that failed."""
    prompts = key_prompts(settings)
    wanted = []
    if prompts.thanks and not settings.callbacks.key_thanks_prompt:
        wanted.append((KEY_THANKS, THANKS_TEXTS, prompts.thanks))
    if prompts.every and not settings.callbacks.key_announce_prompt:
        wanted.append((KEY_ANNOUNCE, announce_texts(prompts.key), prompts.announce))
    problems = []
    for name, texts, rendered in wanted:
        if library.published_sound(name) != rendered:
            problems.append(f"{name}: the prompt library's {library.published_sound(name)} is not {rendered}")
            continue
        problems += await library.publish(name, texts)
    if wanted:
        log.info("callback key prompts: %s", ", ".join(rendered for _, _, rendered in wanted))
    return problems
