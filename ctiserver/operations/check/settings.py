"""The checks of the settings alone: what cannot work, the secrets, the cookies.

Beyond the types ``load_settings`` checks; nothing here reaches Asterisk or the database.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ctiserver.calendar import DayRules, WeeklyHours
from ctiserver.operations.check.results import Result, ok, problem
from ctiserver.production import (
    UnsafeSettings,
    default_ami_secret,
    default_session_secret,
    default_webhook_secrets,
    stored_session_secret,
)
from ctiserver.settings import Settings

STRATEGIES = frozenset(
    {"ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom"}
)


def settings_result(settings: Settings, source: str | None) -> Result:
    """What the settings say that cannot work, beyond the types ``load_settings`` checks."""
    name = "settings"
    hotline = settings.hotline
    queues = [q.name for q in hotline.queues]
    found: list[tuple[str, str]] = []
    if not queues:
        found.append(("no queue in hotline.queues", "add a [[hotline.queues]] table with a name"))
    duplicates = sorted({q for q in queues if queues.count(q) > 1})
    if duplicates:
        found.append((f"queue(s) named twice: {', '.join(duplicates)}", "give each queue its own name"))
    if queues and hotline.default_queue not in queues:
        found.append((
            f"hotline.default_queue {hotline.default_queue!r} is not one of the queues ({', '.join(queues)})",
            "set hotline.default_queue to one of hotline.queues",
        ))
    found += [
        (f"queue {q.name}: unknown strategy {q.strategy!r}", f"use one of {', '.join(sorted(STRATEGIES))}")
        for q in hotline.queues if q.strategy not in STRATEGIES
    ]
    if "{extension}" not in hotline.agent_interface:
        found.append((
            f"hotline.agent_interface {hotline.agent_interface!r} has no {{extension}}",
            'write it like "PJSIP/{extension}"',
        ))
    try:
        ZoneInfo(hotline.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        found.append((
            f"hotline.timezone {hotline.timezone!r} is not a known time zone",
            'use an IANA name such as "Asia/Shanghai"',
        ))
    found += _hours_problems(settings)
    if (settings.agi.host, settings.agi.port) == (settings.web.host, settings.web.port):
        found.append((
            "agi and web listen on the same address and port", "give agi.port and web.port different values",
        ))
    if found:
        detail = "; ".join(d for d, _ in found)
        return problem(name, detail, "; ".join(f for _, f in found))
    where = f"from {source}" if source else "no --config file: defaults and CTISERVER_* variables"
    return ok(name, f"valid ({where}); {len(queues)} queue(s), hotline {hotline.number}")


def _hours_problems(settings: Settings) -> list[tuple[str, str]]:
    """The weekly hours on the business calendar: a queue's calling window, the SLA's."""
    found: list[tuple[str, str]] = []
    for q in settings.hotline.queues:
        try:
            WeeklyHours.parse(q.hours, overnight=True)
        except ValueError as exc:
            found.append((f"queue {q.name}: {exc}", 'write its hours like "mon-fri 08:00-20:00; sat 09:00-12:00"'))
    try:
        WeeklyHours.parse(settings.tickets.hours)
        DayRules().plus(holidays=settings.tickets.holidays)
    except ValueError as exc:
        found.append((f"tickets: {exc}", 'write tickets.hours like ["mon-fri 09:00-18:00"], dates as YYYY-MM-DD'))
    return found


def secrets_result(settings: Settings) -> Result:
    """``serve``'s rules (ctiserver.production), without generating anything."""
    name = "secrets"
    if default_ami_secret(settings):
        return problem(
            name, "the AMI secret is the source's default (serve refuses it)",
            "set [ami] secret to the secret of the ctiserver user in Asterisk's manager.conf",
        )
    if len(settings.ami.secret) < 16:
        return problem(
            name, "the AMI secret is shorter than 16 characters",
            "use a long random secret (e.g. openssl rand -hex 24) here and in manager.conf",
        )
    unsigned = default_webhook_secrets(settings)
    if unsigned:
        return problem(
            name, f"webhook endpoint(s) {', '.join(unsigned)}: empty or default secret (serve refuses it)",
            "set secret in each [[webhooks.endpoints]] table to a long random string the receiver shares",
        )
    if not default_session_secret(settings):
        return ok(name, "AMI secret and session secret set")
    path = Path(settings.web.secrets_file)
    if not path.exists():
        return ok(name, f"AMI secret set; serve will generate the session secret in {path} on first start")
    try:
        stored_session_secret(path)
    except (UnsafeSettings, OSError, ValueError) as exc:
        return problem(
            name, f"session secret file: {exc}", f"fix or delete {path} (serve generates a new one)"
        )
    return ok(name, f"AMI secret set; session secret kept in {path}")


def secure_cookies_result(settings: Settings) -> Result:
    name = "cookies"
    if settings.web.secure_cookies:
        return ok(name, "marked Secure (the pages are served over TLS)")
    if settings.web.host in ("127.0.0.1", "::1", "localhost"):
        return ok(name, "not marked Secure; the pages listen on this machine only (set web.secure_cookies "
                  "= true once a TLS proxy serves them)")
    return problem(
        name, f"web.host {settings.web.host} is open to the network and cookies are not marked Secure",
        "serve the pages over TLS through a reverse proxy, set web.secure_cookies = true and "
        "web.host = 127.0.0.1",
    )
