"""The WebRTC endpoints for an operator's Asterisk: the pjsip.conf the lab renders, as text.

``ctiserver asterisk webrtc-endpoints --extensions 1001,1002 --supervisors 7`` prints them
with each endpoint's derived password (:func:`~ctiserver.phone.credentials.sip_password`),
to ``#include`` from pjsip.conf beside a ``transport-wss``: one per agent (by extension),
one per supervisor (by user id: live monitoring rings it when they give no desk phone).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from ctiserver.phone.credentials import endpoint_of, sip_password, supervisor_endpoint_of
from ctiserver.settings import AsteriskSettings, Settings


def endpoint_lines(settings: Settings, name: str, callerid: str) -> list[str]:
    """One WebRTC endpoint, its auth and its aor (``callerid`` is ours: digits and a label).

    ``bundle``: Asterisk keeps the stream's SSRC when the audio's source changes (a
    transfer completes); without it a new SSRC comes that browsers drop (silence).

    The aor asks the browser every ``webrtc.qualify_frequency`` s (OPTIONS over its websocket) whether it is still
    there: a browser whose network is gone is marked unavailable and stops being rung (the
    lab's dialplan and a queue's device state see no reachable contact) instead of ringing
    out; its registration again (or another tab's) replaces it (``remove_unavailable``)."""
    return [
        f"[{name}]", "type = endpoint", "context = agent-phones", "webrtc = yes", "bundle = yes",
        "dtls_auto_generate_cert = yes", "disallow = all", "allow = alaw,ulaw", f"auth = {name}-auth",
        f"aors = {name}", f"callerid = {callerid}", "",
        f"[{name}-auth]", "type = auth", "auth_type = userpass", f"username = {name}",
        f"password = {sip_password(settings, name)}", "",
        f"[{name}]", "type = aor", "max_contacts = 1", "remove_existing = yes",
        f"qualify_frequency = {settings.webrtc.qualify_frequency}", "qualify_timeout = 3.0",
        "remove_unavailable = yes", "",
    ]


def endpoints_conf(settings: Settings, extensions: Iterable[str], supervisors: Iterable[int] = ()) -> str:
    lines = ["; ctiserver: one WebRTC endpoint per agent (ctiserver asterisk webrtc-endpoints)",
             "; needs [transport-wss] type=transport protocol=wss and http.conf with tlsenable=yes", ""]
    for extension in extensions:
        lines += endpoint_lines(settings, endpoint_of(settings, extension), f'"Agent {extension}" <{extension}>')
    for user_id in supervisors:
        lines += endpoint_lines(settings, supervisor_endpoint_of(settings, user_id), f'"Supervisor" <{int(user_id)}>')
    return "\n".join(lines)


def add_endpoints_command(asterisk_commands: Any) -> None:
    command = asterisk_commands.add_parser(
        "webrtc-endpoints", help="print the agents' WebRTC endpoints (pjsip.conf) with their passwords"
    )
    command.add_argument("--extensions", required=True, help="the agents' extensions, comma separated")
    command.add_argument("--supervisors", default="",
                         help="the user ids of supervisors who monitor from the browser, comma separated")
    command.set_defaults(handler=endpoints_command)


async def endpoints_command(settings: Settings, args: argparse.Namespace) -> int:
    if settings.asterisk.phone_secret == AsteriskSettings().phone_secret:
        print("ctiserver: asterisk.phone_secret is the source's default: set it in the settings file first "
              "(the endpoints' passwords are derived from it)")
        return 2
    extensions = [e.strip() for e in args.extensions.split(",") if e.strip()]
    supervisors = [s.strip() for s in args.supervisors.split(",") if s.strip()]
    if not extensions or not all(e.isdigit() for e in extensions + supervisors):
        print("ctiserver: --extensions and --supervisors must be digits, comma separated")
        return 2
    print(endpoints_conf(settings, extensions, [int(s) for s in supervisors]))
    return 0
