"""The shapes of the phone in the desk: what the browser registers with."""

from __future__ import annotations

from ctiserver.web.schemas import Shape


class IceServer(Shape):
    urls: str
    username: str | None = None
    credential: str | None = None


class BrowserPhone(Shape):
    """PHONE: the logged-in agent's own WebRTC endpoint; served with ``Cache-Control: no-store``."""

    #: false: no browser phone here (the desk keeps the desk phone); the rest is then empty
    enabled: bool
    #: Asterisk's secure websocket, e.g. wss://pbx.example.com:8089/ws
    wss_url: str
    #: the endpoint, its SIP URI's user and digest username
    endpoint: str
    uri: str
    password: str
    ice_servers: list[IceServer]


class BrowserPhoneAnswer(Shape):
    phone: BrowserPhone
