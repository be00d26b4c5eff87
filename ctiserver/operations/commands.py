"""The ``ctiserver check`` and ``ctiserver asterisk snippets`` (and ``webrtc-endpoints``)
subcommands (cli.py adds them)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ctiserver.phone.endpoints import add_endpoints_command
from ctiserver.production import default_ami_secret
from ctiserver.settings import ENV_PREFIX, Settings


def add_check(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="before going live: what is wrong with the settings and the Asterisk they reach"
    )
    check.set_defaults(handler=check_command)


def add_snippets(asterisk_commands: Any) -> None:
    snippets = asterisk_commands.add_parser(
        "snippets", help="render the AMI user, queues and dialplan for a production Asterisk to #include"
    )
    snippets.add_argument("--out", required=True, help="the folder to write them in (created)")
    snippets.add_argument(
        "--server-address", default=None,
        help="ctiserver's address as Asterisk sees it (FastAGI target, AMI permit); default agi.host",
    )
    snippets.set_defaults(handler=snippets_command)
    add_endpoints_command(asterisk_commands)


async def check_command(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.operations.check import report, run_checks

    source = args.config or os.environ.get(ENV_PREFIX + "CONFIG") or None
    lines, status = report(await run_checks(settings, source))
    print("\n".join(lines), flush=True)
    return status


async def snippets_command(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.operations.snippets import render_snippets, snippet_of, write_snippets

    if default_ami_secret(settings):
        print(
            "ctiserver: the AMI secret is the source's default: set [ami] secret in the settings "
            "file first (the snippet gives it to Asterisk)",
            file=sys.stderr,
        )
        return 2
    rendered = render_snippets(settings, args.server_address)
    written = write_snippets(rendered, Path(args.out))
    for path, name in zip(written, rendered, strict=True):
        snippet = snippet_of(name)
        box = f"box {name.partition('/')[0]}'s " if "/" in name else ""
        print(f"{path}: {snippet.what}; in {box}{snippet.include_from}: #include {path.resolve()}")
    if settings.boxes.edges:
        print("each box (the queue box's files here, each edge's in its folder): "
              "asterisk -rx 'module reload res_pjsip.so'; a distinct entityid in its asterisk.conf")
    print("then: asterisk -rx 'manager reload'; asterisk -rx 'module reload app_queue.so'; "
          "asterisk -rx 'dialplan reload'; ctiserver check")
    return 0
