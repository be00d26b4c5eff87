"""Settings of several Asterisk boxes: the queue box and the edge boxes joined to it by PJSIP
trunks (docs/deploy.md, "Two Asterisk boxes")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ctiserver.settings.errors import SettingsError


@dataclass(frozen=True)
class EdgeBoxSettings:
    """One more Asterisk box beside the queue box, joined to it by a PJSIP trunk (docs/deploy.md,
    "Two Asterisk boxes"): callers entering it go on to the queue box, and it carries the phones
    of ``agents``, which the queue box rings through the trunk."""

    #: its trunk endpoint's name on the queue box ("box-2"): letters, digits and "-"
    name: str
    #: its AMI (user, secret and timings: [ami]'s)
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    #: where the queue box reaches its SIP transport
    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    #: the extensions of the agents whose phones register on this box
    agents: tuple[str, ...] = ()
    #: customers this box's carrier trunk may call at once for callbacks and return visits
    #: (0: no limit); the queue box sends them out of the first box with room
    outbound_lines: int = 0

    def __post_init__(self) -> None:
        if not self.name or not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in self.name):
            raise SettingsError(f"boxes.edges: name {self.name!r} must be letters, digits and '-'")
        for extension in self.agents:
            if not extension.isdigit():
                raise SettingsError(f"boxes.edges {self.name}: agent {extension!r} is not an extension")


@dataclass(frozen=True)
class BoxesSettings:
    """Several Asterisk boxes (docs/deploy.md, "Two Asterisk boxes"): the box [ami] reaches is the
    queue box (the IVR, the queues, the recordings); each edge carries a carrier trunk and agents'
    phones. No edges (the default): one box, as before."""

    #: the queue box's trunk endpoint name on the edges
    name: str = "box-1"
    #: where the edges reach the queue box's SIP transport (its port: asterisk.sip_port)
    sip_host: str = "127.0.0.1"
    edges: tuple[EdgeBoxSettings, ...] = ()
    #: seconds between the trunk's OPTIONS pings: a dead box's trunk is unavailable after
    #: about this plus qualify_timeout, and the queue box stops ringing its agents
    qualify_frequency: int = 1
    #: seconds an OPTIONS may take before the trunk counts as unreachable (a loaded box answers
    #: late: too short, and a living box's callers are kept on an edge, its agents skipped)
    qualify_timeout: float = 3.0
    #: a trunk call with no media for this many seconds is hung up (when no server is
    #: watching; a server hangs up a dead box's calls as soon as its AMI link drops)
    rtp_timeout: int = 20
    #: customers the queue box's own carrier trunk may call at once for callbacks and return
    #: visits (0: no limit, every customer is dialled out of the queue box); past it, out of
    #: the first edge with room (its ``outbound_lines``) whose trunk answers
    outbound_lines: int = 0
    #: an edge whose trunk to the queue box has no reachable contact keeps its new callers:
    #: they hear this sound (a sound name on the edge; Asterisk's core sounds have this one)...
    down_prompt: str = "all-circuits-busy-now"
    #: ...then are sent here (a Dial string on the edge: another site's number, a voicemail,
    #: "PJSIP/4008001234@carrier"); "": hung up after the sound
    fallback: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_/-]+", self.down_prompt):
            raise SettingsError(f"boxes.down_prompt {self.down_prompt!r}: a sound name (letters, digits, _ / -)")
        if self.fallback and not re.fullmatch(r"[A-Za-z0-9_/@.:+-]+", self.fallback):
            raise SettingsError(f"boxes.fallback {self.fallback!r}: a Dial string (letters, digits, _ / @ . : + -)")
        names = [self.name, *(edge.name for edge in self.edges)]
        if len(set(names)) != len(names):
            raise SettingsError(f"boxes: names must differ ({', '.join(names)})")
        agents = [extension for edge in self.edges for extension in edge.agents]
        if len(set(agents)) != len(agents):
            raise SettingsError("boxes.edges: an agent's phone registers on one box only")

    def edge_of_name(self, name: str) -> EdgeBoxSettings:
        return next(edge for edge in self.edges if edge.name == name)

    def edge_of(self, extension: str) -> EdgeBoxSettings | None:
        """The edge box an agent's phone is on (None: the queue box)."""
        return next((edge for edge in self.edges if extension in edge.agents), None)
