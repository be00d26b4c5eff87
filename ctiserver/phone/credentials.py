"""Each agent's WebRTC endpoint and its SIP password, derived, never stored nor typed.

The password is HMAC-SHA256 of the endpoint's name under ``asterisk.phone_secret``: the
lab renders it into pjsip.conf and the server hands it to the logged-in agent alone
(``GET /api/phone``). Deriving it rather than generating one per session keeps Asterisk's
configuration static (no pjsip reload, no realtime or AstDB sorcery to keep in step, the
same answer from every server of a shared setup, nothing lost on a restart); changing
``asterisk.phone_secret`` rotates every agent's password at once. Production renders its
endpoints with the same function (``ctiserver asterisk snippets``) or keeps its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote

from ctiserver.settings import Settings


def endpoint_of(settings: Settings, extension: str) -> str:
    """The WebRTC endpoint (and SIP user) of the agent at ``extension``."""
    return settings.webrtc.endpoint.replace("{extension}", extension)


def supervisor_endpoint_of(settings: Settings, user_id: int) -> str:
    """The WebRTC endpoint of a supervisor (or admin), which live monitoring rings."""
    return settings.webrtc.supervisor_endpoint.replace("{user_id}", str(int(user_id)))


def sip_password(settings: Settings, endpoint: str) -> str:
    digest = hmac.new(
        settings.asterisk.phone_secret.encode(), f"webrtc:{endpoint}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def wss_url(settings: Settings) -> str:
    """What the browser opens: ``webrtc.wss_url``, else the lab's Asterisk."""
    if settings.webrtc.wss_url:
        return settings.webrtc.wss_url
    host = settings.asterisk.sip_bind
    if host in ("0.0.0.0", "::", ""):  # noqa: S104  (a bind-all address is not a host to reach)
        host = "127.0.0.1"
    return f"wss://{host}:{settings.webrtc.port}/ws"


def ice_servers(settings: Settings) -> list[dict[str, str]]:
    """``webrtc.ice_servers`` as RTCPeerConnection wants them; ``turn:user:pass@host:port``
    carries its credentials before the ``@``."""
    servers: list[dict[str, str]] = []
    for entry in settings.webrtc.ice_servers:
        scheme, _, rest = entry.partition(":")
        if "@" in rest:
            credentials, _, address = rest.rpartition("@")
            user, _, password = credentials.partition(":")
            servers.append({"urls": f"{scheme}:{address}", "username": unquote(user),
                            "credential": unquote(password)})
        else:
            servers.append({"urls": entry})
    return servers
