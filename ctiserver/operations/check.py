"""``ctiserver check``: what is wrong with the settings and the Asterisk they point at.

Every check gives one :class:`Result`: OK, or PROBLEM with a one-line fix. The checks
over Asterisk's answers are pure functions of those answers (unit-tested); the few
that do I/O (the AMI session, the database, binding the ports) only gather them.
Nothing here changes Asterisk, the database or the files: it only looks.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ctiserver.settings import AmiSettings, Settings, WebSettings

#: the AMI actions the server sends, and the write class of manager.conf each needs
#: (Login, Ping, QueueStatus and ListCommands need none)
REQUIRED_ACTIONS: Mapping[str, str] = {
    "QueueAdd": "agent",
    "QueueRemove": "agent",
    "QueuePause": "agent",
    "BlindTransfer": "call",
    "CoreShowChannels": "reporting",
}
#: what the check itself asks for (its answers are the checks of version and dialplan)
CHECK_ACTIONS: Mapping[str, str] = {"CoreSettings": "reporting", "ShowDialPlan": "reporting"}
#: the read classes the server needs; only "system" can be seen from a login (FullyBooted)
READ_CLASSES = "system,call,agent"
WRITE_CLASSES = "call,agent,reporting"
#: actions the server never sends whose presence means the user may do more than it needs
BEYOND_NEED = ("Command", "Originate", "UpdateConfig", "GetConfig", "ModuleLoad", "Reload")
#: the Asterisk versions ctiserver is tested with
SUPPORTED_MAJORS = (20, 21, 22, 23)
STRATEGIES = frozenset(
    {"ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom"}
)
WRITE_FIX = f"give the AMI user write = {WRITE_CLASSES} in manager.conf, then `manager reload`"
SNIPPETS_HINT = "render them with `ctiserver asterisk snippets --out DIR` and #include them"


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        if self.ok:
            return [f"OK       {self.name}: {self.detail}"]
        return [f"PROBLEM  {self.name}: {self.detail}", f"         fix: {self.fix}"]


def ok(name: str, detail: str) -> Result:
    return Result(name, True, detail)


def problem(name: str, detail: str, fix: str) -> Result:
    return Result(name, False, detail, fix)


# -- settings -------------------------------------------------------------------------


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
    if (settings.agi.host, settings.agi.port) == (settings.web.host, settings.web.port):
        found.append((
            "agi and web listen on the same address and port", "give agi.port and web.port different values",
        ))
    if found:
        detail = "; ".join(d for d, _ in found)
        return problem(name, detail, "; ".join(f for _, f in found))
    where = f"from {source}" if source else "no --config file: defaults and CTISERVER_* variables"
    return ok(name, f"valid ({where}); {len(queues)} queue(s), hotline {hotline.number}")


def secrets_result(settings: Settings) -> Result:
    """``serve``'s rules (ctiserver.production), without generating anything."""
    from ctiserver.production import UnsafeSettings, _stored_secret

    name = "secrets"
    if settings.ami.secret == AmiSettings().secret:
        return problem(
            name, "the AMI secret is the source's default (serve refuses it)",
            "set [ami] secret to the secret of the ctiserver user in Asterisk's manager.conf",
        )
    if len(settings.ami.secret) < 16:
        return problem(
            name, "the AMI secret is shorter than 16 characters",
            "use a long random secret (e.g. openssl rand -hex 24) here and in manager.conf",
        )
    if settings.web.session_secret != WebSettings().session_secret:
        return ok(name, "AMI secret and session secret set")
    path = Path(settings.web.secrets_file)
    if not path.exists():
        return ok(name, f"AMI secret set; serve will generate the session secret in {path} on first start")
    try:
        _stored_secret(path)
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


# -- Asterisk's answers -----------------------------------------------------------------


def allowed_actions(list_commands: Mapping[str, object]) -> set[str]:
    """The action names of a ListCommands answer (Asterisk lists only those the user may send)."""
    skip = {"response", "actionid", "message", "eventlist"}
    return {str(key) for key in list_commands if str(key).lower() not in skip}


def permissions_result(allowed: Iterable[str]) -> Result:
    name = "AMI permissions"
    have = {a.lower() for a in allowed}
    needed = {**REQUIRED_ACTIONS, **CHECK_ACTIONS}
    missing = [a for a in needed if a.lower() not in have]
    if missing:
        classes = sorted({needed[a] for a in missing})
        return problem(
            name, f"the AMI user may not send {', '.join(missing)}",
            f"give the user write = {WRITE_CLASSES} in manager.conf (missing: {', '.join(classes)}), "
            "then `manager reload`",
        )
    beyond = [a for a in BEYOND_NEED if a.lower() in have]
    detail = f"may send {', '.join(REQUIRED_ACTIONS)}; read = {READ_CLASSES} is needed too (system seen)"
    if beyond:
        detail += f"; it may also send {', '.join(beyond)}: more than it needs (write = {WRITE_CLASSES})"
    return ok(name, detail)


def events_result(fully_booted: bool) -> Result:
    name = "AMI events"
    if fully_booted:
        return ok(name, "FullyBooted received after login: Asterisk is up and the user reads system events")
    return problem(
        name, "no FullyBooted event after login: the server would wait for it for ever",
        f"give the user read = {READ_CLASSES} in manager.conf (or wait until Asterisk has fully booted)",
    )


_VERSION = re.compile(r"(\d+)\.(\d+)")


def asterisk_major(version: str) -> int | None:
    """20 of ``'20.5.2'``, 22 of ``'certified-20.7-cert1'``... None if there is no number."""
    match = _VERSION.search(version)
    return int(match.group(1)) if match else None


def version_result(core_settings: Mapping[str, object]) -> Result:
    name = "Asterisk version"
    version = str(core_settings.get("AsteriskVersion", "") or "")
    major = asterisk_major(version)
    if major is None:
        return problem(name, f"unknown ({version or 'CoreSettings gave none'})", "run Asterisk 20 or 22")
    if major not in SUPPORTED_MAJORS:
        return problem(
            name, f"Asterisk {version}; ctiserver is tested with {', '.join(map(str, SUPPORTED_MAJORS))}",
            "upgrade Asterisk to 20 (LTS) or 22 (LTS)",
        )
    return ok(name, f"Asterisk {version}")


def queue_names(queue_status: Iterable[Mapping[str, object]]) -> set[str]:
    """The queues app_queue knows, from the QueueParams items of a QueueStatus answer."""
    return {
        str(m.get("Queue")) for m in queue_status
        if str(m.get("Event", "")).lower() == "queueparams" and m.get("Queue")
    }


def queues_result(settings: Settings, known: set[str]) -> Result:
    name = "queues"
    wanted = [q.name for q in settings.hotline.queues]
    missing = [q for q in wanted if q not in known]
    if missing:
        return problem(
            name, f"app_queue has no queue {', '.join(missing)} (has {', '.join(sorted(known)) or 'none'})",
            f"add them to queues.conf ({SNIPPETS_HINT}), then `module reload app_queue.so`",
        )
    return ok(name, f"{', '.join(wanted)} exist in app_queue")


@dataclass(frozen=True)
class ContextPlan:
    """One context as ShowDialPlan listed it: its extensions, and the AGI calls in it."""

    extensions: frozenset[str]
    agi_targets: tuple[str, ...]


def context_plan(show_dialplan: Iterable[Mapping[str, object]]) -> ContextPlan:
    extensions: set[str] = set()
    agi: list[str] = []
    for m in show_dialplan:
        if str(m.get("Event", "")).lower() != "listdialplan":
            continue
        if m.get("Extension"):
            extensions.add(str(m["Extension"]))
        if str(m.get("Application", "")).lower() == "agi":
            agi.append(str(m.get("AppData", "")))
    return ContextPlan(frozenset(extensions), tuple(agi))


def dialplan_result(settings: Settings, plans: Mapping[str, ContextPlan | None]) -> Result:
    """``plans``: every context the server needs -> what Asterisk has (None: no such context)."""
    name = "dialplan"
    number = settings.hotline.number
    found: list[str] = []
    missing = [c for c, plan in plans.items() if plan is None]
    if missing:
        found.append(f"no context {', '.join(missing)}")
    hotline = plans.get("hotline")
    if hotline is not None:
        if number not in hotline.extensions:
            found.append(f"[hotline] has no extension {number} (hotline.number)")
        port = f":{settings.agi.port}/hotline"
        if not any(port in target for target in hotline.agi_targets):
            targets = ", ".join(hotline.agi_targets) or "none"
            found.append(f"[hotline] calls no FastAGI server on port {settings.agi.port} (AGI: {targets})")
    if found:
        return problem(
            name, "; ".join(found),
            f"render the dialplan from these settings: {SNIPPETS_HINT}, then `dialplan reload`",
        )
    return ok(name, f"contexts {', '.join(plans)} found; {number} enters the IVR on {settings.agi.port}")


# -- this machine ---------------------------------------------------------------------


def port_result(name: str, host: str, port: int) -> Result:
    """Can the server listen on ``host:port``? (Bound and released at once, as asyncio binds.)"""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return problem(
            name, f"cannot resolve {host}: {exc}", f"set {name}.host to an address of this machine"
        )
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                return problem(name, f"cannot listen on {host}:{port}: {exc.strerror}", _bind_fix(name, exc))
    return ok(name, f"{host}:{port} is free to listen on")


def _bind_fix(name: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"another process listens there (ctiserver running? `ss -ltnp` says) or change {name}.port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{name}.host is not an address of this machine"
    if exc.errno == errno.EACCES:
        return f"ports below 1024 need privileges: use a higher {name}.port"
    return f"check {name}.host and {name}.port"


def flows_result(settings: Settings) -> Result:
    from ctiserver.ivr.loader import check_files

    name = "IVR flows"
    directory = Path(settings.ivr.flows_dir)
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        return problem(
            name, f"no flow (*.yaml) in {directory.resolve()}",
            "set ivr.flows_dir to your flows' folder (start from a copy of the sample flows)",
        )
    problems = check_files(
        paths, queues=[q.name for q in settings.hotline.queues],
        sounds_dirs=[directory, Path(settings.ivr.asterisk_sounds_dir)],
    )
    if problems:
        return problem(
            name, f"{len(problems)} problem(s), the first: {problems[0]}",
            "run `ctiserver flows check` for every problem and fix the files",
        )
    return ok(name, f"{len(paths)} flow file(s) in {directory} valid")


async def database_result(url: str) -> Result:
    """Reachable, and its schema at the newest migration (alembic current == head)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import make_url
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import create_async_engine

    from ctiserver.storage.database import alembic_config

    name = "database"
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if _missing_sqlite_file(parsed.get_backend_name(), parsed.database):
        return problem(name, f"{shown}: no such database file", "run `ctiserver db upgrade` (it creates it)")
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            revisions = await connection.run_sync(current)
    except Exception as exc:  # noqa: BLE001 (any driver error is the answer: unreachable)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return problem(
            name, f"cannot connect to {shown}: {reason}",
            "check [database] url; is the server running, do the role and database exist (docs/deploy.md)?",
        )
    finally:
        await engine.dispose()
    if revisions != heads:
        return problem(
            name,
            f"{shown} is at {', '.join(sorted(revisions)) or 'no migration'}, "
            f"the code needs {', '.join(sorted(heads))}",
            "run `ctiserver db upgrade`",
        )
    return ok(name, f"{shown} reachable, schema at {', '.join(sorted(heads))} (head)")


# -- Asterisk, over AMI -----------------------------------------------------------------


async def asterisk_results(settings: Settings, contexts: Sequence[str]) -> list[Result]:
    """Reach AMI, log in, then look at permissions, version, queues and dialplan."""
    from ctiserver.operations.amiprobe import AmiProbe
    from ctiserver.telephony.ami.actions import AmiActionFailed, AmiError

    s = settings.ami
    where = f"{s.host}:{s.port}"
    probe = AmiProbe(s, timeout=min(s.action_timeout, 5.0))
    try:
        try:
            greeting = await probe.connect()
        except (OSError, TimeoutError, AmiError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or "timed out"
            return [problem(
                "AMI", f"cannot reach the manager interface at {where}: {reason} (so permissions, "
                "version, queues and dialplan were not checked)",
                "is Asterisk running, with manager.conf [general] enabled = yes and this port and bindaddr?",
            )]
        results = [ok("AMI", f"{where} answers (Asterisk Call Manager/{greeting})")]
        try:
            await probe.login(events="system")
        except AmiActionFailed as exc:
            results.append(problem(
                "AMI login", f"Asterisk refused user {s.username!r}: {exc} (so permissions, version, "
                "queues and dialplan were not checked)",
                f"[ami] username and secret must match the [{s.username}] section of manager.conf, "
                "whose permit must let this machine in; then `manager reload`",
            ))
            return results
        except AmiError as exc:
            results.append(problem("AMI login", f"no answer to the login: {exc}", "check Asterisk's log"))
            return results
        results.append(ok("AMI login", f"accepted for user {s.username!r}"))
        results.append(events_result(await probe.wait_event("FullyBooted", 3.0) is not None))
        allowed = allowed_actions(await probe.ask({"Action": "ListCommands"}))
        results.append(permissions_result(allowed))
        try:
            results.append(version_result(await probe.ask({"Action": "CoreSettings"})))
        except AmiActionFailed as exc:
            results.append(problem("Asterisk version", f"CoreSettings refused: {exc}", WRITE_FIX))
        try:
            status = await probe.ask_list({"Action": "QueueStatus"})
            results.append(queues_result(settings, queue_names(status)))
        except AmiActionFailed as exc:
            results.append(problem("queues", f"QueueStatus refused: {exc}", "load app_queue.so"))
        plans: dict[str, ContextPlan | None] = {}
        for context in contexts:
            try:
                plans[context] = context_plan(
                    await probe.ask_list({"Action": "ShowDialPlan", "Context": context})
                )
            except AmiActionFailed as exc:
                if "permission" in str(exc).lower():
                    results.append(problem("dialplan", f"ShowDialPlan refused: {exc}", WRITE_FIX))
                    return results
                plans[context] = None
        results.append(dialplan_result(settings, plans))
        return results
    except AmiError as exc:
        results.append(problem("AMI", f"the session broke off: {exc}", "check Asterisk's log"))
        return results
    finally:
        await probe.close()


def _missing_sqlite_file(backend: str, database: str | None) -> bool:
    in_file = backend == "sqlite" and bool(database) and database != ":memory:"
    return in_file and not Path(str(database)).is_file()


# -- all of it ----------------------------------------------------------------------------


async def run_checks(settings: Settings, source: str | None = None) -> list[Result]:
    from ctiserver.operations.snippets import dialplan_contexts

    results = [
        settings_result(settings, source),
        secrets_result(settings),
        secure_cookies_result(settings),
        await database_result(settings.database.url),
    ]
    results += await asterisk_results(settings, dialplan_contexts(settings))
    results += [
        port_result("agi", settings.agi.host, settings.agi.port),
        port_result("web", settings.web.host, settings.web.port),
        flows_result(settings),
    ]
    return results


def report(results: Sequence[Result]) -> tuple[list[str], int]:
    """The lines to print and the exit status: 1 if any problem."""
    lines = [line for result in results for line in result.lines()]
    problems = sum(not r.ok for r in results)
    if problems:
        lines.append(f"{problems} problem(s): fix them before going live")
    else:
        lines.append(f"all {len(results)} checks OK")
    return lines, 1 if problems else 0
