"""The WebRTC endpoints for an operator's Asterisk: the pjsip.conf the lab renders, as text.

``ctiserver asterisk webrtc-endpoints --extensions 1001,1002`` prints them with each
endpoint's derived password (:func:`~ctiserver.phone.credentials.sip_password`), to
``#include`` from pjsip.conf beside a ``transport-wss``.
"""

from __future__ import annotations

import argparse
from typing import Any

from ctiserver.phone.credentials import endpoint_of, sip_password
from ctiserver.settings import AsteriskSettings, Settings


def endpoints_conf(settings: Settings, extensions: list[str]) -> str:
    lines = ["; ctiserver: one WebRTC endpoint per agent (ctiserver asterisk webrtc-endpoints)",
             "; needs [transport-wss] type=transport protocol=wss and http.conf with tlsenable=yes", ""]
    for extension in extensions:
        name = endpoint_of(settings, extension)
        lines += [
            f"[{name}]", "type = endpoint", "context = agent-phones", "webrtc = yes",
            "dtls_auto_generate_cert = yes", "disallow = all", "allow = alaw,ulaw", f"auth = {name}-auth",
            f"aors = {name}", f'callerid = "Agent {extension}" <{extension}>', "",
            f"[{name}-auth]", "type = auth", "auth_type = userpass", f"username = {name}",
            f"password = {sip_password(settings, name)}", "",
            f"[{name}]", "type = aor", "max_contacts = 1", "remove_existing = yes", "",
        ]
    return "\n".join(lines)


def add_endpoints_command(asterisk_commands: Any) -> None:
    command = asterisk_commands.add_parser(
        "webrtc-endpoints", help="print the agents' WebRTC endpoints (pjsip.conf) with their passwords"
    )
    command.add_argument("--extensions", required=True, help="the agents' extensions, comma separated")
    command.set_defaults(handler=endpoints_command)


async def endpoints_command(settings: Settings, args: argparse.Namespace) -> int:
    if settings.asterisk.phone_secret == AsteriskSettings().phone_secret:
        print("ctiserver: asterisk.phone_secret is the source's default: set it in the settings file first "
              "(the endpoints' passwords are derived from it)")
        return 2
    extensions = [e.strip() for e in args.extensions.split(",") if e.strip()]
    if not extensions or not all(e.isdigit() for e in extensions):
        print("ctiserver: --extensions must be digits, comma separated")
        return 2
    print(endpoints_conf(settings, extensions))
    return 0
