"""The words of the flow language (ivr_flows/README.md): the fixed choices, and the
shapes of names, times, dates, sounds and destinations."""

from __future__ import annotations

import re

LANGUAGES = ("zh", "en")
KEYS = "0123456789*#"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INPUT_CHECKS = ("phone", "order_number", "digits")
SOUND_EXTENSIONS = (".wav", ".gsm", ".sln", ".ulaw")
CONDITION_OPS = ("equals", "not_equals", "in", "matches", "set")

FLOW_NAME_RE = re.compile(r"[a-z0-9_-]+")
NODE_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PLACEHOLDER_RE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
TIME_RE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SOUND_RE = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
# what reaches Dial(): no ',', '&', '/' or spaces that could smuggle in options
DESTINATION_RE = re.compile(r"[A-Za-z0-9+*#_.-]+")
