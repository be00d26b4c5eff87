"""Where the files the server reads at run time come from.

The pages, the Alembic migrations, the Asterisk templates and the sample flows live in
top-level folders of the checkout (``screenpop/``, ``db/``, ``asterisk-conf/``,
``dialplans/``, ``ivr_flows/``). A wheel carries them as package data under
``ctiserver/_data/`` (see setup.py). Each is looked for there first, then in the
checkout this package was imported from (a ``pip install -e .`` or ``PYTHONPATH=.``);
if neither has it, :class:`ResourceMissing` says what is missing, where it looked and
how to fix it. Every reader goes through this module: no other code builds paths from
the checkout.

setup.py runs this file (for ``RESOURCES``) before ctiserver is installed: standard
library imports only.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

#: the ctiserver package directory (site-packages/ctiserver once installed)
PACKAGE = Path(__file__).resolve().parent
#: where a wheel puts the package data
PACKAGE_DATA = PACKAGE / "_data"
#: the checkout this package sits in, when it does (it has the project's pyproject.toml)
CHECKOUT = PACKAGE.parent

#: the JSON Schema of the flow language: inside the package in a checkout and a wheel alike
FLOW_SCHEMA = PACKAGE / "ivr" / "flow.schema.json"

HOW_TO_FIX = (
    "reinstall ctiserver from a wheel built in its checkout (pip wheel --no-deps . && "
    "pip install ctiserver-*.whl), or run it from the checkout (pip install -e .)"
)


class ResourceMissing(RuntimeError):
    """A file the server needs is neither installed as package data nor in a checkout."""


@dataclass(frozen=True)
class Resource:
    #: what it is, for the error message
    what: str
    #: the folder in the checkout
    folder: str
    #: its name under ctiserver/_data/ in a wheel
    packaged: str
    #: a file that must be in it, so an empty or half-copied folder does not count
    marker: str

    def candidates(self) -> list[Path]:
        found = [PACKAGE_DATA / self.packaged]
        if (CHECKOUT / "pyproject.toml").is_file():
            found.append(CHECKOUT / self.folder)
        return found

    def directory(self) -> Path:
        """The first candidate holding the marker file, else ResourceMissing."""
        candidates = self.candidates()
        for candidate in candidates:
            if (candidate / self.marker).is_file():
                return candidate
        looked = " nor ".join(str(c / self.marker) for c in candidates)
        raise ResourceMissing(
            f"{self.what} not found: there is no {looked}. "
            f"The ctiserver package at {PACKAGE} was installed without its package data; "
            f"{HOW_TO_FIX}"
        )


PAGES = Resource(
    "the agent, supervisor and admin pages (served at /ui/)", "screenpop", "screenpop", "agent.html"
)
MIGRATIONS = Resource("the database migrations (Alembic)", "db", "db", "alembic.ini")
ASTERISK_CONF = Resource(
    "the templates of Asterisk's configuration",
    "asterisk-conf",
    "asterisk_conf",
    "asterisk.conf.j2",
)
DIALPLANS = Resource(
    "the templates of Asterisk's dialplan", "dialplans", "dialplans", "extensions.conf.j2"
)
SAMPLE_FLOWS = Resource("the sample IVR flows", "ivr_flows", "ivr_flows", "hotline.yaml")
#: every folder a wheel carries as package data (setup.py reads this table)
RESOURCES = (PAGES, MIGRATIONS, ASTERISK_CONF, DIALPLANS, SAMPLE_FLOWS)


def pages_dir() -> Path:
    """The pages served at /ui/ (``screenpop/`` in the checkout)."""
    return PAGES.directory()


def migrations_dir() -> Path:
    """``alembic.ini`` and ``migrations/`` (``db/`` in the checkout)."""
    return MIGRATIONS.directory()


def asterisk_template_dirs() -> list[Path]:
    """The jinja2 templates of Asterisk's configuration, then of its dialplan."""
    return [ASTERISK_CONF.directory(), DIALPLANS.directory()]


def sample_flows_dir() -> Path:
    """The sample flows (``ivr_flows/`` in the checkout): read them, edit a copy."""
    return SAMPLE_FLOWS.directory()


def flow_schema() -> Path:
    """The JSON Schema of the flow language."""
    if not FLOW_SCHEMA.is_file():
        raise ResourceMissing(
            f"the flow language's JSON Schema not found at {FLOW_SCHEMA}; {HOW_TO_FIX}"
        )
    return FLOW_SCHEMA


_PREFIX = re.compile(r'^ {2}"?([a-z.]+)"?: \{$')
_WORD = re.compile(r'^ {4}"?([a-z_]+)"?: \["([^"]*)", "([^"]*)"\],$')


@functools.cache
def page_vocabulary() -> dict[str, dict[str, tuple[str, str]]]:
    """The pages' words for the vocabulary's codes, read from the one place they are written:
    prefix -> code -> (zh, en)."""
    text = (pages_dir() / "i18n.js").read_text(encoding="utf-8")
    start = text.index("export const VOCABULARY = {")
    words: dict[str, dict[str, tuple[str, str]]] = {}
    prefix = None
    for line in text[start:text.index("\n};", start)].splitlines():
        if found := _PREFIX.match(line):
            prefix = found.group(1)
        elif (found := _WORD.match(line)) and prefix is not None:
            words.setdefault(prefix, {})[found.group(1)] = (found.group(2), found.group(3))
    return words
