"""Settings of the after-sales service: callbacks, recordings, reports, tickets (and their
event feed, which the department work view follows), webhooks and return visits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ctiserver.settings.errors import SettingsError


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
    #: its own (two servers on one database need two names); "": the node's name
    #: (``nodes.name``, else the host name and the web port)
    server_id: str = ""
    #: seconds this server's dialling lease lasts unrenewed (renewed every third of it):
    #: a server silent this long is taken for dead and any other server resolves the
    #: attempts it left in flight, from Asterisk's record of them (its agents are offered
    #: callbacks again)
    lease: float = 15.0


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
class CalendarSettings:
    """The business calendar (``ctiserver.calendar``) of the IVR's ``hours`` nodes, the
    tickets' SLA and the callbacks' calling windows: which dates are holidays and which are
    make-up working days (调休); each use keeps its own weekly hours (a node's ``open``,
    tickets.hours, a queue's ``hours``)."""

    #: whose official holidays and make-up working days: "CN" (the State Council's yearly
    #: arrangement, from the chinese-calendar package) or "" (none: only the dates below)
    official: str = "CN"
    #: the operator's own closed days (YYYY-MM-DD): company holidays, or the official ones of
    #: a year the package does not know yet
    holidays: tuple[str, ...] = ()
    #: the operator's own working days (YYYY-MM-DD), open whatever the weekday
    workdays: tuple[str, ...] = ()
    #: a make-up working day has its own weekday's hours and this weekday's (mon..sun)
    workday_hours: str = "mon"

    def __post_init__(self) -> None:
        if self.official not in ("CN", ""):
            raise SettingsError(f"calendar.official: \"CN\" or \"\" (none), not {self.official!r}")
        if self.workday_hours not in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            raise SettingsError(f"calendar.workday_hours: a day mon..sun, not {self.workday_hours!r}")
        for name in ("holidays", "workdays"):
            for text in getattr(self, name):
                try:
                    dt.date.fromisoformat(text)
                except ValueError:
                    raise SettingsError(f"calendar.{name}: {text!r} is not a date (YYYY-MM-DD)") from None
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise SettingsError(f"calendar: {', '.join(sorted(both))} both in holidays and in workdays")


@dataclass(frozen=True)
class TicketSettings:
    """Service tickets' SLA (``ctiserver.tickets.model.sla``), counted in business hours in
    hotline.timezone, on the business calendar ([calendar]: public holidays do not count,
    make-up working days do)."""

    #: business hours: "DAYS HH:MM-HH:MM" each (days: mon-fri, sat, "mon,wed"...)
    hours: tuple[str, ...] = ("mon-fri 09:00-18:00", "sat 09:00-12:00")
    #: more local dates (YYYY-MM-DD) on which no business hour counts, for the SLA only
    #: (dates for every use go in calendar.holidays)
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
    #: seconds between the ticket-event feed's safety looks at ``ticket_events`` for events
    #: other processes wrote (the feed's consumers: the work view, webhooks, return visits);
    #: an event this server commits wakes them at once
    feed_interval: float = 1.0


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
    """Endpoints follow the ticket-event feed (``tickets.feed_interval``)."""

    endpoints: tuple[WebhookEndpoint, ...] = ()
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
    #: seconds between looks for due automatic calls (completed tickets come from the
    #: ticket-event feed, ``tickets.feed_interval``)
    interval: float = 2.0
    #: this server's name on the attempts it claims; "": the node's name (as callbacks.server_id)
    server_id: str = ""
    #: seconds this server's dialling lease lasts unrenewed (as callbacks.lease)
    lease: float = 15.0


@dataclass(frozen=True)
class WaitSettings:
    """A fair wait (``ctiserver.waits``, docs/fair-wait.md): callers in a queue told their
    position and, when the queue's recent answers support one, the server's estimate of
    their wait, in their language, as they join and then periodically."""

    #: tell waiting callers; off: Asterisk's own position announcements (queues.conf). On, the
    #: server sends Originate (the AMI user needs the ``originate`` write class: the snippets
    #: grant it, ``ctiserver check`` asks for it)
    announce: bool = False
    #: seconds after joining the queue that a caller is first told
    first_after: float = 2.0
    #: seconds between a caller's announcements after the first
    every: float = 60.0
    #: answered calls of the queue this far back (seconds) are its recent history
    window: float = 2 * 3600.0
    #: the most recent answered calls the estimate averages over
    most_answers: int = 30
    #: fewer recent answered calls than this: no estimate, only the position
    min_answers: int = 3
    #: an estimate above this many minutes is said as "more than" it
    longest_minutes: int = 60


#: the access key secret an Aliyun provider that names none has: ``serve`` refuses it
DEFAULT_SMS_SECRET = "lab-sms-secret-change-me"


@dataclass(frozen=True)
class SmsTemplate:
    """One notice's text (``ctiserver.notices``), a ``[[sms.templates]]`` table: it replaces
    the built-in text of ``notice`` in ``language`` (docs/sms.md lists the notices and the
    names a template may use). ``provider_code``: the provider's own template code (Aliyun's
    ``TemplateCode``), "" for the provider's default."""

    notice: str
    language: str
    text: str
    provider_code: str = ""


@dataclass(frozen=True)
class SmsSettings:
    """SMS notices on ticket events and inbound SMS (``ctiserver.notices``, docs/sms.md)."""

    #: off by default: no notice is planned or sent
    enabled: bool = False
    #: "aliyun" (Aliyun SMS SendSms), "webhook" (a signed POST, as ``[webhooks]``) or
    #: "log" (the lab: accepted and only written to the log)
    provider: str = "log"
    #: the provider's address ("" for Aliyun: https://dysmsapi.aliyuncs.com/)
    url: str = ""
    access_key_id: str = ""
    #: Aliyun's AccessKey secret, or the webhook provider's HMAC key
    secret: str = DEFAULT_SMS_SECRET
    #: Aliyun's SignName (the approved signature shown with every message)
    sign_name: str = "售后服务"
    #: Aliyun's default TemplateCode (a template whose only parameter is ``content``)
    template_code: str = ""
    #: the language of notices (zh or en)
    language: str = "zh"
    #: the notices sent (customer_accepted, customer_completed, customer_survey, engineer_task)
    notices: tuple[str, ...] = ("customer_accepted", "customer_completed", "customer_survey", "engineer_task")
    templates: tuple[SmsTemplate, ...] = ()
    #: local times (hotline.timezone) between which no notice is sent: held until quiet_end
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    #: seconds a send may take; after a failed one wait about backoff_min, doubled, up to backoff_max
    timeout: float = 10.0
    backoff_min: float = 5.0
    backoff_max: float = 1800.0
    #: failed sends after which a notice is given up
    max_attempts: int = 8
    #: seconds between the sender's looks for due notices (a new one wakes it at once)
    interval: float = 5.0
    #: the secret inbound SMS callbacks carry (``X-SMS-Signature``); "" refuses them all
    inbound_secret: str = ""
