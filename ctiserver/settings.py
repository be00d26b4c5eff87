"""One typed settings object, loaded once at start-up and passed down.

Sources, later ones winning:
  1. the defaults below (they work in the lab on one machine);
  2. a TOML file (``--config FILE`` or ``CTISERVER_CONFIG``);
  3. environment variables ``CTISERVER_<SECTION>__<FIELD>``, e.g.
     ``CTISERVER_AMI__SECRET=...`` or ``CTISERVER_DATABASE__URL=postgresql+asyncpg://...``.

Nothing in the package reads the environment or a config file anywhere else.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field

ENV_PREFIX = "CTISERVER_"


class SettingsError(ValueError):
    """A setting is unknown or has a value of the wrong type."""


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
    #: 32 url-safe base64 bytes (Fernet key) or any passphrase; sessions are encrypted with it
    session_secret: str = "lab-session-secret-change-me"
    session_max_age: int = 12 * 3600
    #: where ``serve`` keeps the session secret it generates when none is set (mode 0600)
    secrets_file: str = "var/secrets.toml"
    #: mark cookies Secure: set it when the pages are served over TLS (e.g. behind a proxy)
    secure_cookies: bool = False


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
    #: the calling window of callbacks, the queue's business hours ("HH:MM-HH:MM",
    #: hotline time; "" = any hour)
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
    voicemail_dir: str = "recordings/voicemail"
    asterisk_voicemail_dir: str = ""
    #: Asterisk's stock sounds, for checking ``{file: NAME}`` prompts
    asterisk_sounds_dir: str = "/usr/share/asterisk/sounds/en"
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


@dataclass(frozen=True)
class CallbackSettings:
    """Missed-call callbacks (``ctiserver.callbacks``)."""

    #: several misses from one number within this many seconds are one task
    dedup_window: float = 3600.0
    #: a task not done after this many seconds expires
    expire_after: float = 48 * 3600.0
    #: failed attempts (no answer, busy, failed) before a task fails
    max_attempts: int = 3
    #: wait before the first retry, doubled at each further one, up to retry_max
    retry_min: float = 300.0
    retry_max: float = 3600.0
    #: dial due tasks (agent first); needs hotline.callback_interface and the
    #: [callback] dialplan context
    dial: bool = False
    #: seconds between looks for due tasks and free agents
    dial_interval: float = 1.0
    #: seconds a placeholder holding a caller's place in a queue waits for an agent; then
    #: its task goes to the dialler like any other
    hold_timeout: int = 1800
    #: waiting callers are told of hotline.queue_callback_key (queues.conf periodic-announce)
    #: this many seconds after they join, then every key_announce_every seconds (0: never)
    key_announce_after: int = 10
    key_announce_every: int = 45
    #: that announcement's sound and the thanks after the key; "": the server's own (zh/en,
    #: by the caller's language, in ivr.prompt_dir); else a sound name (letters, digits, _ - . /)
    key_announce_prompt: str = ""
    key_thanks_prompt: str = ""
    #: this server's name on the attempts it claims, so that after a restart it resolves
    #: its own (two servers on one database need two names); "": the host name
    server_id: str = ""


@dataclass(frozen=True)
class RecordingSettings:
    #: where the server reads the recordings (a date tree of files named by our own ids)
    dir: str = "recordings"
    #: the same directory as Asterisk sees it (a chrooted Asterisk); empty: ``dir``
    asterisk_dir: str = ""
    #: what agents may hear: "own" (their own recordings) or "none"
    agents: str = "own"
    #: seconds to wait after the recorded leg hangs up for Asterisk to finish the file
    settle_timeout: float = 10.0
    #: ``ctiserver recordings purge`` deletes files older than this many days (0: never),
    #: except those held by a supervisor or tied to an open complaint ticket
    retention_days: int = 365
    #: the supervisor's phone for live monitoring; empty: hotline.agent_interface
    monitor_interface: str = ""
    #: ffmpeg transcodes (and waveforms) made at once, in threads off the event loop
    media_workers: int = 2
    #: points of a waveform (each a min and a max)
    waveform_points: int = 400
    #: tell every caller of a recorded queue "this call is recorded" before it queues
    #: (off by default; a queue's own ``announce_recording`` turns it on for that queue)
    announce: bool = False
    #: the sound played then: an Asterisk sound name (stock or the operator's own file,
    #: letters, digits, ``_ - . /`` only), never anything a caller sent
    announce_prompt: str = "conf-now-recording"


@dataclass(frozen=True)
class ReportSettings:
    """Call-center reports (``ctiserver.reports``, docs/statistics.md); changing a
    threshold applies to records stored after, or to a range rebuilt
    (``ctiserver reports rebuild``)."""

    #: an abandon after a wait shorter than this is a short abandon (not in the service level)
    short_abandon_seconds: int = 5
    #: the service level's threshold of a queue not in hotline.queues
    service_level: int = 20


@dataclass(frozen=True)
class TicketSettings:
    """Service tickets' SLA (``ctiserver.tickets.model.sla``), counted in business hours in
    hotline.timezone."""

    #: business hours: "DAYS HH:MM-HH:MM" each (days: mon-fri, sat, "mon,wed"...)
    hours: tuple[str, ...] = ("mon-fri 09:00-18:00", "sat 09:00-12:00")
    #: local dates (YYYY-MM-DD) on which no business hour counts
    holidays: tuple[str, ...] = ()
    #: "KIND URGENCY RESPONSE RESOLUTION" in business time (4h, 30m); KIND * for any kind;
    #: VIP customers' tickets are urgent
    sla: tuple[str, ...] = (
        "* normal 4h 40h", "* urgent 1h 16h",
        "complaint normal 2h 24h", "complaint urgent 1h 8h",
        "inquiry normal 4h 16h",
    )
    #: fractions of the running target at which a ticket is escalated: level 1 (its branch's
    #: manager), level 2 (the supervisors)...
    escalate_at: tuple[float, ...] = (0.8, 1.0)
    #: seconds between looks for tickets to escalate
    escalate_interval: float = 60.0


#: the ticket event kinds an endpoint is sent when its settings name none
DEFAULT_WEBHOOK_KINDS = ("created", "dispatched", "scheduled", "completed", "closed", "breached")
#: the secret of an endpoint that names none: ``serve`` refuses it
DEFAULT_WEBHOOK_SECRET = "lab-webhook-secret-change-me"


@dataclass(frozen=True)
class WebhookEndpoint:
    """One receiver of ticket events (``ctiserver.webhooks``), a ``[[webhooks.endpoints]]`` table."""

    #: letters, digits, ``_.-``; part of every delivery's id, so keep it once chosen
    name: str
    #: http(s) URL the events are POSTed to
    url: str
    #: the HMAC-SHA256 key of the ``X-CTI-Signature`` header
    secret: str = DEFAULT_WEBHOOK_SECRET
    #: the ticket event kinds sent; the others are passed over
    kinds: tuple[str, ...] = DEFAULT_WEBHOOK_KINDS
    #: seconds an attempt may take before it counts as failed
    timeout: float = 10.0
    #: after a failed attempt wait about this long, doubled at each further one, up to backoff_max
    backoff_min: float = 1.0
    backoff_max: float = 300.0
    #: where a new endpoint starts: "now" (events written from now on) or "beginning" (all)
    start: str = "now"


@dataclass(frozen=True)
class WebhookSettings:
    endpoints: tuple[WebhookEndpoint, ...] = ()
    #: seconds between looks for new ticket events (a ticket event written by this
    #: process wakes its deliverers at once)
    poll_interval: float = 1.0
    #: a missing event id (a transaction that took it may not have committed) is waited
    #: for this many seconds, then passed as rolled back
    gap_wait: float = 5.0
    #: an endpoint whose oldest undelivered event is older than this is "stuck" (/healthz)
    stuck_after: float = 600.0


@dataclass(frozen=True)
class VisitSettings:
    """Return visits after a completed ticket (``ctiserver.visits``)."""

    #: call due visits automatically with the survey flow (else agents call from the desk)
    auto_call: bool = False
    #: the flow the automatic call plays (its survey node gives the score)
    survey_flow: str = "visit_survey"
    #: a score at least this closes the ticket; lower reopens it
    close_score: int = 4
    #: a score at most this also opens a complaint ticket linked to it (0: never)
    complaint_score: int = 1
    #: failed attempts (no answer, busy, failed, no score) before a visit is unreached
    max_attempts: int = 3
    #: wait before the first retry, doubled at each further one, up to retry_max
    retry_min: float = 1800.0
    retry_max: float = 4 * 3600.0
    #: seconds between looks for completed tickets and due automatic calls
    interval: float = 2.0
    #: this server's name on the attempts it claims; "": the host name
    server_id: str = ""


@dataclass(frozen=True)
class WorkViewSettings:
    """The department work view (``ctiserver.workview``)."""

    #: seconds between looks at the tickets' history for changes written by another process
    #: (another server, a script); a change committed by this server is pushed at once from
    #: the in-process ticket bus
    live_interval: float = 0.5


@dataclass(frozen=True)
class Settings:
    ami: AmiSettings = field(default_factory=AmiSettings)
    agi: AgiSettings = field(default_factory=AgiSettings)
    web: WebSettings = field(default_factory=WebSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    hotline: HotlineSettings = field(default_factory=HotlineSettings)
    asterisk: AsteriskSettings = field(default_factory=AsteriskSettings)
    lab: LabSettings = field(default_factory=LabSettings)
    ivr: IvrSettings = field(default_factory=IvrSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    recordings: RecordingSettings = field(default_factory=RecordingSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    visits: VisitSettings = field(default_factory=VisitSettings)
    workview: WorkViewSettings = field(default_factory=WorkViewSettings)

    def replace(self, **sections: Mapping[str, object]) -> Settings:
        """A copy with some fields of some sections changed: ``s.replace(ami={"port": 5039})``."""
        changes = {}
        for name, values in sections.items():
            current = getattr(self, name)
            changes[name] = dataclasses.replace(current, **values)
        return dataclasses.replace(self, **changes)


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Defaults, then the TOML file, then environment overrides."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(ENV_PREFIX + "CONFIG") or None
    raw: dict[str, dict[str, object]] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        section, _, name = key[len(ENV_PREFIX):].lower().partition("__")
        raw.setdefault(section, {})[name] = value
    return _build(Settings, raw, "")


def _build(cls: type, raw: Mapping[str, object], where: str) -> typing.Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(sorted(where + k for k in unknown))}")
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = _coerce(hints[name], value, where + name)
    return cls(**kwargs)


def _coerce(hint: typing.Any, value: object, where: str) -> object:
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise SettingsError(f"{where} must be a table")
        return _build(typing.cast(type, hint), value, where + ".")
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise SettingsError(f"{where} must be a list")
        return tuple(_coerce(item_hint, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    try:
        if hint is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if hint in (int, float, str):
            return hint(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{where}: {value!r} is not a valid {hint.__name__}") from exc
    raise SettingsError(f"{where}: unsupported setting type {hint!r}")
