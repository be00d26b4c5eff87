"""SMS notices: the ``sms-notices`` feed consumer (planning), the ``sms-sender`` (sending),
the routes. Off unless ``sms.enabled``; the routes are there either way (a ticket shows its
notices, the desk keeps opt-outs)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ctiserver.core import Core
from ctiserver.customers import CustomerRepository
from ctiserver.notices import http
from ctiserver.notices.inbound import InboundSms
from ctiserver.notices.model import LANGUAGES, NOTICES, clock
from ctiserver.notices.outbox import NoticePlanner, NoticeSender, QuietHours
from ctiserver.notices.providers import AliyunSms, LogSms, SmsProvider, WebhookSms
from ctiserver.notices.store import NoticeStore
from ctiserver.notices.templates import Templates
from ctiserver.settings import SmsSettings
from ctiserver.tickets import EventFeed, TicketRepository
from ctiserver.users import UserRepository

PROVIDERS = ("aliyun", "webhook", "log")


def check(settings: SmsSettings) -> None:
    """ValueError naming what is wrong with ``[sms]``."""
    if settings.provider not in PROVIDERS:
        raise ValueError(f"sms.provider must be one of {', '.join(PROVIDERS)}, not {settings.provider!r}")
    if settings.provider == "webhook" and not settings.url.startswith(("http://", "https://")):
        raise ValueError("sms.url: the webhook provider needs an http(s) URL")
    if settings.provider == "aliyun" and not (settings.access_key_id and settings.template_code):
        raise ValueError("sms: the aliyun provider needs access_key_id and template_code")
    if settings.language not in LANGUAGES:
        raise ValueError(f"sms.language must be zh or en, not {settings.language!r}")
    unknown = [n for n in settings.notices if n not in NOTICES]
    if unknown:
        raise ValueError(f"sms.notices: unknown {', '.join(unknown)} (one of {', '.join(NOTICES)})")
    clock(settings.quiet_start)
    clock(settings.quiet_end)
    if settings.timeout <= 0 or settings.backoff_min <= 0 or settings.backoff_max < settings.backoff_min:
        raise ValueError("sms: timeout and back-off must be positive")
    if settings.max_attempts < 1 or settings.interval <= 0:
        raise ValueError("sms: max_attempts and interval must be positive")


def provider_of(settings: SmsSettings) -> SmsProvider:
    if settings.provider == "aliyun":
        return AliyunSms(settings.access_key_id, settings.secret, settings.sign_name, settings.template_code,
                         settings.url)
    if settings.provider == "webhook":
        return WebhookSms(settings.url, settings.secret)
    return LogSms()


def register(
    core: Core, tickets: TicketRepository, customers: CustomerRepository, users: UserRepository, feed: EventFeed,
) -> NoticeSender | None:
    """``tickets``, ``customers``, ``users``: the composition root's services, through which
    a notice's facts are read."""
    settings = core.settings.sms
    check(settings)
    templates = Templates(settings.templates, settings.template_code)
    store = NoticeStore(core.db, tickets=tickets, customers=customers, users=users)
    http.register(core.app, http.NoticesApi(
        store, InboundSms(core.db, store, customers, tickets), settings.inbound_secret, tickets,
    ))
    if not settings.enabled:
        return None
    quiet = QuietHours(settings, ZoneInfo(core.settings.hotline.timezone))
    sender = NoticeSender(settings, store, provider_of(settings), quiet, clock=core.clock)
    planner = NoticePlanner(settings, store, feed, templates, quiet, clock=core.clock, planned=sender.wake)
    core.long_running("sms-notices", planner.follow)
    core.long_running("sms-sender", sender.run_forever)
    return sender
