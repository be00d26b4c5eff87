"""The pieces of Asterisk's configuration a production Asterisk needs for ctiserver.

They are rendered from the same templates as the lab's configuration (found through
``ctiserver.resources.asterisk_template_dirs``, as ``ctiserver.lab.asterisk`` does):
the lab's ``manager.conf``, ``queues.conf`` and ``extensions.conf`` include the same
partials (``*.inc.j2``) that are rendered here on their own, with the production
settings, for an operator to ``#include`` into an Asterisk that is already configured.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ctiserver.callbacks.keyprompts import key_prompts
from ctiserver.recordings.notice import recording_notice
from ctiserver.resources import asterisk_template_dirs
from ctiserver.settings import EdgeBoxSettings, Settings


@dataclass(frozen=True)
class Snippet:
    #: the file written, to be ``#include``d by ``include_from``
    name: str
    #: the partial template it is rendered from
    template: str
    #: the Asterisk file that includes it
    include_from: str
    #: what it holds, for the header and the operator
    what: str
    #: it holds a secret: written readable by its owner only
    secret: bool = False


SNIPPETS = (
    Snippet(
        "manager_ctiserver.conf", "manager-user.inc.j2", "manager.conf",
        "the AMI user of ctiserver with the permissions it needs", secret=True,
    ),
    Snippet("queues_ctiserver.conf", "queues.inc.j2", "queues.conf", "the hotline's queues"),
    Snippet(
        "extensions_ctiserver.conf", "hotline.inc.j2", "extensions.conf",
        "the dialplan contexts [hotline], [agent-phones] and [cti-record] (recording)",
    ),
)

#: with edge boxes (``boxes.edges``): each box's trunks to the others, and the boxes' own
#: contexts (dialplans/boxes.inc.j2) at the end of its dialplan snippet
TRUNKS = Snippet(
    "pjsip_ctiserver_boxes.conf", "pjsip-boxes.inc.j2", "pjsip.conf",
    "the PJSIP trunks to the other Asterisk boxes (and the agents' shared device states)",
)
BOX_CONTEXTS = "boxes.inc.j2"

_CONTEXT = re.compile(r"^\[([^\]]+)\]", re.MULTILINE)


def template_environment() -> jinja2.Environment:
    """The lab's template environment: the same folders, strict about undefined names."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in asterisk_template_dirs()]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 (Asterisk's configuration, not HTML)
    )


def server_address(settings: Settings) -> str:
    """Where Asterisk reaches ctiserver (FastAGI) and whence ctiserver logs in to AMI:
    ``agi.host``, or 127.0.0.1 when the server listens on every address."""
    host = settings.agi.host.strip()
    if not host:
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_unspecified:
            return "127.0.0.1"
    except ValueError:
        pass
    return host


def agi_urls(settings: Settings, address: str | None = None) -> list[str]:
    """The FastAGI URLs the dialplan tries in turn: every node's (``nodes.agi``), or this
    server's at ``address``."""
    if settings.nodes.agi:
        return [f"agi://{node}" for node in settings.nodes.agi]
    return [f"agi://{address or server_address(settings)}:{settings.agi.port}"]


def render_snippets(settings: Settings, address: str | None = None) -> dict[str, str]:
    """File name -> text of each snippet, for an Asterisk reaching ctiserver at ``address``.

    With edge boxes (docs/deploy.md, "Two Asterisk boxes"), the names without a folder are the
    queue box's, with its trunks (``pjsip_ctiserver_boxes.conf``) and the boxes' contexts at
    the end of its dialplan; each edge's are in a folder named after it (``box-2/...``)."""
    rendered = _render_box(settings, address, None)
    for edge in settings.boxes.edges:
        rendered.update({f"{edge.name}/{name}": text for name, text in _render_box(settings, address, edge).items()})
    return rendered


def snippet_of(name: str) -> Snippet:
    """The snippet a rendered file name (maybe in an edge's folder) is."""
    base = name.rpartition("/")[2]
    return next(s for s in (*SNIPPETS, TRUNKS) if s.name == base)


def _render_box(settings: Settings, address: str | None, edge: EdgeBoxSettings | None) -> dict[str, str]:
    from ctiserver.lab.boxes import box_view  # what makes each box a queue box or an edge

    box = box_view(settings, edge)
    address = address or server_address(settings)
    env = template_environment()
    context = {
        "box": box,
        "boxes": settings.boxes,
        "ami": settings.ami,
        "agi": settings.agi,
        "hotline": settings.hotline,
        "record_notice": recording_notice(settings),
        "callback_key": key_prompts(settings),
        "waits": settings.waits,
        "ami_permit": address,
        # the fair wait whispers to waiting callers through an Originate (docs/fair-wait.md)
        "ami_write_extra": "originate" if settings.waits.announce else "",
        "ami_read_extra": "",
        "agi_urls": agi_urls(settings, address),
    }
    rendered = {}
    for snippet in (*SNIPPETS, TRUNKS) if box is not None else SNIPPETS:
        header = (
            f"; Rendered by `ctiserver asterisk snippets` from {snippet.template}: {snippet.what}.\n"
            f"; Include it at the end of {snippet.include_from}:  #include {snippet.name}\n"
            "; Edit the settings and render it again rather than editing this file.\n"
        )
        if box is not None:
            header += (
                f"; For box {box.name}, {'the queue box' if box.queue_box else 'an edge box'} "
                "(docs/deploy.md, \"Two Asterisk boxes\").\n"
            )
        text = env.get_template(snippet.template).render(context)
        if box is not None and snippet.include_from == "extensions.conf":
            text += "\n" + env.get_template(BOX_CONTEXTS).render(context)
        rendered[snippet.name] = header + "\n" + text
    return rendered


def dialplan_contexts(settings: Settings) -> list[str]:
    """The dialplan contexts the server needs, as the templates define them."""
    text = template_environment().get_template("hotline.inc.j2").render(
        {"hotline": settings.hotline, "record_notice": recording_notice(settings),
         "callback_key": key_prompts(settings), "waits": settings.waits, "agi_urls": ["agi://check"]}
    )
    return _CONTEXT.findall(text)


def write_snippets(snippets: dict[str, str], out: Path) -> list[Path]:
    """Write the snippets into ``out`` (created); the AMI one is mode 0600 (it holds the secret)."""
    out.mkdir(parents=True, exist_ok=True)
    secret = {s.name for s in SNIPPETS if s.secret}
    written = []
    for name, text in snippets.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = 0o600 if name.rpartition("/")[2] in secret else 0o644
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
            fh.write(text)
        written.append(path)
    return written
