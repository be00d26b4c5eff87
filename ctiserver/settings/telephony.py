"""Settings of the telephony side and of the server's own parts: AMI, FastAGI, the web, the
database, the hotline and its queues, Asterisk, the lab, the IVR and storage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import ip_network
from urllib.parse import urlsplit

from ctiserver.settings.errors import SettingsError


@dataclass(frozen=True)
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "ctiserver"
    secret: str = "lab-secret-change-me"
    #: seconds between keep-alive Pings on a quiet link
    ping_interval: float = 5.0
    #: a Ping unanswered for this long means the link is dead
    ping_timeout: float = 5.0
    #: reconnect back-off: first delay, then doubled up to the maximum
    reconnect_min: float = 0.5
    reconnect_max: float = 4.0
    connect_timeout: float = 3.0
    action_timeout: float = 10.0
    #: the event classes the session asks for at Login: "on" (all), or e.g. "system"
    #: (boot and shutdown only) for a session that only sends actions
    events: str = "on"


@dataclass(frozen=True)
class AgiSettings:
    host: str = "127.0.0.1"
    port: int = 4573
    #: a connection that has not sent its AGI headers by then is dropped
    header_timeout: float = 5.0
    #: no AGI environment is larger than this; more is garbage
    max_header_bytes: int = 64 * 1024


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    #: any long random passphrase: the sessions' keys in the database are HMACs under it (the
    #: same on every server; a new one ends every session)
    session_secret: str = "lab-session-secret-change-me"
    #: a session's whole life (seconds), however busy
    session_max_age: int = 12 * 3600
    #: where ``serve`` keeps the session secret it generates when none is set (mode 0600)
    secrets_file: str = "var/secrets.toml"
    #: mark cookies Secure: set it when the pages are served over TLS (e.g. behind a proxy)
    secure_cookies: bool = False
    #: the origins the pages are served from ("https://cti.example.com"): a state-changing
    #: request whose Origin (or Referer) is another one is refused (403). Empty: the host the
    #: request was sent to (its Host header), any scheme
    origins: tuple[str, ...] = ()
    #: reverse proxies (addresses or networks, "127.0.0.1", "10.0.0.0/8") whose
    #: X-Forwarded-For is believed; from any other address the header is ignored
    trusted_proxies: tuple[str, ...] = ()
    #: a session unused for this many seconds ends (session_max_age: its whole life)
    session_idle: int = 2 * 3600
    #: websockets one user may hold open at once (tabs, pages); one more is refused
    websockets_per_user: int = 8
    #: how often (seconds) a server checks that the sessions of its open websockets are still
    #: open (one ended on another server or by ``ctiserver user sessions``); a session ended on
    #: this server (logout, new password or role, account disabled) closes them at once
    session_check: float = 10.0
    #: the largest message a websocket takes from a browser (bytes)
    websocket_max_message: int = 64 * 1024
    #: who may read ``GET /metrics``: "loopback" (a Prometheus on the node's own host, or
    #: through a proxy there), "token" (``Authorization: Bearer <metrics_token>``, for a
    #: Prometheus elsewhere) or "admins" (a logged-in admin's session)
    metrics_access: str = "loopback"
    metrics_token: str = ""

    def __post_init__(self) -> None:
        for origin in self.origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise SettingsError(f"web.origins: {origin!r} is not an origin like https://cti.example.com")
        for proxy in self.trusted_proxies:
            try:
                ip_network(proxy, strict=False)
            except ValueError as exc:
                raise SettingsError(f"web.trusted_proxies: {proxy!r} is not an address or a network") from exc
        if self.session_idle <= 0 or self.session_max_age <= 0 or self.websockets_per_user <= 0:
            raise SettingsError("web.session_idle, session_max_age and websockets_per_user must be positive")


@dataclass(frozen=True)
class NodeSettings:
    """Several nodes on one PostgreSQL (docs/deploy.md); nothing to set on SQLite (one node)."""

    #: this node's name in leases, metrics and logs; "" = the host name and the web port
    name: str = ""
    #: seconds between a node's tries to take a lease another node holds: a dead node's
    #: duties (SLA watch, diallers...) are taken over within this after PostgreSQL ends
    #: its session; also how often a node checks its lease connection
    lease_interval: float = 3.0
    #: seconds between tries to make the LISTEN connection again (wake-ups across nodes)
    listen_retry: float = 1.0
    #: seconds between a node's heartbeats (``cluster_nodes``); a node unseen for three is down
    heartbeat: float = 2.0
    #: every node's FastAGI address ("host:port"), rendered into the dialplan: Asterisk starts
    #: each FastAGI request at one picked at random and tries the next while one cannot be
    #: reached (docs/deploy.md section 9). Empty: this node's ``agi`` alone
    agi: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for address in self.agi:
            if not _AGI_ADDRESS.fullmatch(address):
                raise SettingsError(f"nodes.agi: {address!r} is not a FastAGI address like 10.0.0.5:4573")
        if self.heartbeat <= 0 or self.lease_interval <= 0:
            raise SettingsError("nodes.heartbeat and nodes.lease_interval must be positive")


#: a host name or IPv4 address and a port: what the dialplan's agi:// URLs hold
_AGI_ADDRESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}:[0-9]{1,5}")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///var/ctiserver.sqlite3"
    echo: bool = False


@dataclass(frozen=True)
class QueueSettings:
    name: str
    strategy: str = "rrmemory"
    #: seconds a caller waits before leaving the queue (0 = no limit)
    timeout: int = 300
    #: ring an agent for this long before trying the next one
    member_timeout: int = 15
    wrapup_time: int = 5
    #: a caller who hangs up after waiting this many seconds is owed a callback (-1: never)
    callback_after_wait: int = 10
    #: the calling window of callbacks, the queue's business hours in hotline time on the
    #: business calendar ([calendar]: not on public holidays, on make-up working days):
    #: "[DAYS ]HH:MM-HH:MM" spans separated by ";" ("08:00-20:00" every day, "mon-fri
    #: 08:00-20:00; sat 09:00-17:00"; a span may run past midnight); "" = any hour, any day
    hours: str = "08:00-20:00"
    #: record every answered call of this queue and its transfer legs (ctiserver.recordings)
    record: bool = True
    #: the service level's threshold: a call answered within this many seconds is in it
    #: (reports; changing it needs ``ctiserver reports rebuild``)
    service_level: int = 20
    #: seconds between the announcements of a waiting caller's position (0: none); a
    #: callback holding a caller's place counts as a caller ahead
    announce_frequency: int = 30
    #: play recordings.announce_prompt to its callers before they queue (a recorded queue only)
    announce_recording: bool = False


def _default_queues() -> tuple[QueueSettings, ...]:
    return (
        QueueSettings(name="support"),
        QueueSettings(name="repair"),
        QueueSettings(name="complaint"),
        QueueSettings(name="installation"),
    )


@dataclass(frozen=True)
class HotlineSettings:
    #: the number callers dial (a "400" line)
    number: str = "4008001234"
    #: where callers go when the IVR (FastAGI) is unreachable: they must reach a human
    default_queue: str = "support"
    #: the queue member interface of an agent's phone; the lab uses Local channels
    agent_interface: str = "PJSIP/{extension}"
    #: the device whose state app_queue reads for an agent's member (QueueAdd StateInterface),
    #: e.g. "Custom:agent{extension}" when another box shares it (docs/deploy.md, "Two Asterisk
    #: boxes"); "": the member's interface itself
    agent_state_interface: str = ""
    #: the hotline's local time (IANA name): its days for figures and ticket numbers
    timezone: str = "Asia/Shanghai"
    #: the hotline's country (ISO 3166 two letters): callers' numbers without a country
    #: code are read in its numbering plan, and customers' phones of it are keyed in
    #: national form (ctiserver/customers/phones.py); a change needs the keys recomputed
    region: str = "CN"
    #: how customers are called back, e.g. "PJSIP/{number}@trunk" ("": no [callback]
    #: dialplan context, callbacks are not dialled); the lab's are Local channels
    callback_interface: str = ""
    #: seconds the customer's phone rings before the attempt counts as no answer
    callback_ring: int = 30
    #: the key a caller waiting in a queue presses to be called back instead, keeping
    #: their place (queues.conf ``context``; needs callback_interface and callbacks.dial;
    #: "": none)
    queue_callback_key: str = "*"
    queues: tuple[QueueSettings, ...] = field(default_factory=_default_queues)

    def __post_init__(self) -> None:
        if self.queue_callback_key and (
            len(self.queue_callback_key) != 1 or self.queue_callback_key not in "0123456789*#"
        ):
            raise SettingsError(f"hotline.queue_callback_key: one of 0-9, * or #, not {self.queue_callback_key!r}")


@dataclass(frozen=True)
class AsteriskSettings:
    """How the lab finds or provisions Asterisk, and where its runtime files go."""

    #: "auto": a system asterisk if installed, else the cached Debian sid chroot
    mode: str = "auto"
    chroot_dir: str = "/var/cache/ctiserver/asterisk-sid"
    debian_mirror: str = "http://deb.debian.org/debian"
    #: rendered configuration, logs, spool; created on start
    run_dir: str = "var/asterisk"
    sip_port: int = 5060
    #: where agents' SIP phones reach Asterisk; 0.0.0.0 for phones on the LAN
    sip_bind: str = "127.0.0.1"
    #: password of the lab agents' SIP endpoints (real deployments provision their own)
    phone_secret: str = "lab-phone-secret"
    #: Asterisk's own RTP range for the pjsip endpoints of real phones
    rtp_start: int = 10000
    rtp_end: int = 10999


@dataclass(frozen=True)
class WebrtcSettings:
    """The phone in the desk: agents' browsers register with Asterisk over secure websockets.

    The lab renders http.conf (TLS) and one WebRTC endpoint per agent and makes its own
    CA and certificate; production points ``cert_file``/``key_file`` at the operator's
    (``ctiserver check`` reads them) and ``wss_url`` at its Asterisk.
    """

    #: on: the desk registers the agent's WebRTC endpoint (set wss_url and the certificate
    #: first: ``ctiserver check``); off: agents keep their desk phones. The lab turns it on
    #: (``lab.browser_phone``)
    enabled: bool = False
    #: what browsers open; empty in the lab: wss://<asterisk.sip_bind>:<port>/ws
    wss_url: str = ""
    #: Asterisk's HTTPS port (websockets), and its plain HTTP port bound to 127.0.0.1
    port: int = 8089
    http_port: int = 8088
    #: the operator's certificate chain and key, PEM (production); the lab makes its own
    cert_file: str = ""
    key_file: str = ""
    #: each agent's WebRTC endpoint name; {extension} is the agent's extension
    endpoint: str = "web{extension}"
    #: a supervisor's (or admin's) WebRTC endpoint, which live monitoring rings when they
    #: give no desk phone; {user_id} is their user id
    supervisor_endpoint: str = "websup{user_id}"
    #: ICE servers given to the browser: "stun:host:port" or "turn:user:password@host:port"
    ice_servers: tuple[str, ...] = ()
    #: seconds between Asterisk's OPTIONS to each browser: one gone silent (its network
    #: lost) is unavailable, so no longer rung, within this and 3 s more
    qualify_frequency: int = 15


@dataclass(frozen=True)
class LabSettings:
    #: lab agents are Local channels that answer after this many seconds of ringing
    agent_answer_delay: float = 2.0
    #: and then stay on the call this long unless the caller hangs up first
    agent_talk_time: int = 600
    agents: tuple[str, ...] = ("1001", "1002", "1003", "1004")
    #: password of the demo users (agent1001.., supervisor, admin) seeded by ``ctiserver lab``
    demo_password: str = "lab"
    #: log the demo agents in to their queues at start, so calls reach someone at once
    login_agents: bool = True
    #: the hours the lab's IVR keeps: "open" (every ``hours`` node takes its when_open
    #: branch, so a demo reaches an agent at any hour) or "flow" (the flow's real hours;
    #: ``ctiserver lab --real-hours``)
    hours: str = "open"
    #: the lab's own copy of ivr.flows_dir, made afresh at every start: the lab
    #: publishes into it and never writes the repository's flow files
    flows_dir: str = "var/ivr_flows"
    #: the lab's agents may take calls in the browser (webrtc.enabled in the lab); a lab agent
    #: whose desk has not registered its phone answers by itself as before
    browser_phone: bool = True
    #: ``ctiserver lab`` dials the callbacks it owes (callbacks.dial; the lab's customers are
    #: Local channels that answer), so that its callbacks tab shows them being made
    dial_callbacks: bool = True
    #: ``ctiserver lab`` tells waiting callers their position and the server's estimate of
    #: their wait (waits.announce: the lab's AMI user may originate the whisper), so that a
    #: newcomer hears the fair wait; off in production unless the operator turns it on
    announce_waits: bool = True


@dataclass(frozen=True)
class IvrSettings:
    #: the flows in force: every *.yaml here is validated, published and watched
    flows_dir: str = "ivr_flows"
    #: seconds between looks at flows_dir for edited files
    watch_interval: float = 1.0
    #: synthesised prompts, cached by content hash
    prompt_dir: str = "var/prompts"
    #: the same directory as Asterisk sees it (differs when Asterisk runs in a chroot)
    asterisk_prompt_dir: str = ""
    #: "": none; else a directory of synthesised prompts shared by several servers or labs on
    #: one machine (named by the same content hash): a prompt found there is copied, not
    #: synthesised again, and every prompt made is added to it
    prompt_cache_dir: str = ""
    voicemail_dir: str = "recordings/voicemail"
    asterisk_voicemail_dir: str = ""
    #: Asterisk's stock sounds, for checking ``{file: NAME}`` prompts
    asterisk_sounds_dir: str = "/usr/share/asterisk/sounds/en"
    #: seconds a caller waits for a busy database to open the flow's ticket; then the
    #: request goes to the journal and the ticket is opened when the database answers
    ticket_wait: float = 20.0
    #: flows_dir as Asterisk sees it, for ``{file: sounds/...}`` prompts (flows_dir/sounds)
    asterisk_flows_dir: str = ""
    #: "flow": every ``hours`` node follows its flow's opening hours; "open": all are
    #: taken as open (set by ``ctiserver lab`` from lab.hours; ``serve`` refuses it)
    hours: str = "flow"


@dataclass(frozen=True)
class StorageSettings:
    """The background writers (ended calls, statistics records): see "Writes that survive
    the database" in README.md."""

    #: where each writer keeps its journal (``NAME.jsonl``) and dead letter (``NAME.dead.jsonl``)
    journal_dir: str = "var/journal"
    #: several nodes: a directory every node sees (NFS). Each node's journals are then in
    #: ``<it>/<node name>/`` (journal_dir unused), and a live node writes those of a node
    #: that is down (docs/deploy.md section 9); "" = journal_dir, on the node's own disk
    shared_journal_dir: str = ""
    #: records kept in memory per writer; beyond that they are appended to the journal
    queue_size: int = 1000
    #: records per database transaction
    batch_size: int = 200
    #: a failing batch is retried after retry_min seconds, doubled up to retry_max
    retry_min: float = 0.5
    retry_max: float = 30.0
    #: journal appends are made durable (fsync) this often, off the event loop
    fsync_interval: float = 0.2
    #: at start, wait at most this long for the journal to be written before going on
    replay_timeout: float = 10.0
    #: at stop, wait at most this long for the queue to be written, then journal the rest
    stop_timeout: float = 10.0
    #: a batch not committed within this many seconds counts as failed (and is retried)
    write_timeout: float = 60.0
