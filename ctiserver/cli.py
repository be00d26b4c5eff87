"""``ctiserver`` command line: lab, serve, check, simulate call, flows, user, db upgrade, asterisk,
reports rebuild."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import getpass
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ctiserver import logs
from ctiserver.operations.commands import add_check, add_snippets
from ctiserver.operations.flows import add_flows
from ctiserver.recordings.commands import add_recordings
from ctiserver.reports.commands import add_reports
from ctiserver.resources import ResourceMissing
from ctiserver.settings import Settings, SettingsError, load_settings
from ctiserver.spreadsheets.commands import add_spreadsheets
from ctiserver.users.commands import UserCommands

if TYPE_CHECKING:
    from ctiserver.storage.database import Database
    from ctiserver.users.http import Organisation

log = logging.getLogger("ctiserver")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logs.configure(logging.DEBUG if args.verbose else logging.INFO, getattr(args, "log_format", "text"))
    logging.getLogger("alembic").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(args.handler(settings, args))
    except ResourceMissing as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ctiserver", description=__doc__)
    parser.add_argument("--config", help="settings file (TOML); CTISERVER_* variables override it")
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)

    lab = commands.add_parser("lab", help="run Asterisk, the server and demo data on this machine")
    lab.add_argument("--no-provision", action="store_true", help="fail instead of building the Asterisk chroot")
    lab.add_argument(
        "--real-hours", action="store_true",
        help="apply the flows' opening hours (by default the lab's IVR is open at any hour)",
    )
    lab.add_argument("--log-format", choices=logs.FORMATS, default="text", help="json: one JSON object a line")
    lab.add_argument(
        "--boxes", type=int, default=1,
        help="Asterisk boxes: the queue box and N-1 edges joined by trunks (docs/deploy.md)",
    )
    lab.add_argument("--nodes", type=int, default=1, metavar="N", help="N servers on one PostgreSQL (docs/deploy.md)")
    lab.set_defaults(handler=_lab)

    serve = commands.add_parser("serve", help="run the server beside an Asterisk that is already running")
    serve.add_argument("--log-format", choices=logs.FORMATS, default="text",
                       help="json: one JSON object a line, with the call id when known")
    serve.set_defaults(handler=_serve)

    simulate = commands.add_parser("simulate", help="place test calls into the hotline")
    sim_commands = simulate.add_subparsers(dest="what", required=True)
    call = sim_commands.add_parser("call", help="one call from a Local channel caller")
    call.add_argument("--caller", required=True, help="the caller's number, e.g. 13800138000")
    call.add_argument("--name", default="", help="the caller's name (cut to fit Asterisk's caller ID)")
    call.add_argument(
        "--dtmf", default="",
        help="the caller's answer to each question of the IVR, comma separated, e.g. 1,0; "
        "each is pressed once the IVR listens (an empty answer lets the question time out)",
    )
    call.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for each question of the IVR"
    )
    call.add_argument(
        "--hangup-after", type=float, default=None, help="seconds after the last key to hang up"
    )
    call.add_argument(
        "--talk", type=float, default=60.0,
        help="seconds the caller talks once an agent answers, then hangs up (default 60; Ctrl-C hangs up "
        "at once; 0: leave the call to the lab)",
    )
    call.set_defaults(handler=_simulate_call)

    UserCommands(audit_cli, _organisation).add_to(commands)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="what", required=True)
    upgrade = db_commands.add_parser("upgrade", help="apply the migrations in db/ up to the newest")
    upgrade.set_defaults(handler=_db_upgrade)

    add_flows(commands)

    asterisk = commands.add_parser("asterisk", help="the lab's Asterisk")
    ast_commands = asterisk.add_subparsers(dest="what", required=True)
    provision = ast_commands.add_parser("provision", help="find or build (and cache) the Asterisk to run")
    provision.set_defaults(handler=_asterisk_provision)
    add_snippets(ast_commands)
    add_check(commands)
    add_recordings(commands)
    add_spreadsheets(commands)
    add_reports(commands)
    return parser


async def _run_until_signal(start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await start()
        await stopping.wait()
    finally:
        log.info("stopping")
        await stop()


async def _lab(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.lab.boxes import lab_boxes
    from ctiserver.lab.demo_users import users_table
    from ctiserver.lab.runner import Lab

    if args.real_hours:
        settings = settings.replace(lab={"hours": "flow"})
    if args.boxes < 1 or args.nodes < 1:
        print("ctiserver lab: --boxes and --nodes must be 1 or more", file=sys.stderr)
        return 2
    settings = lab_boxes(settings, args.boxes)
    lab = Lab(settings, allow_provision=not args.no_provision, dial_callbacks=settings.lab.dial_callbacks,
              nodes=args.nodes)

    async def start() -> None:
        await lab.start()
        print("\nctiserver lab is running. Ctrl-C stops it.", flush=True)
        for url in lab.urls():
            print(f"  {url}")
        print(f"\n  users (password: {settings.lab.demo_password}):\n")
        print("\n".join(f"  {line}" for line in users_table().splitlines()), "\n")
        if lab.settings.ivr.hours == "open":
            hours = "open at any hour (ctiserver lab --real-hours applies the flows' hours)"
        else:
            hours = "the flows' own opening hours"
        print(f"  IVR: {hours}")
        copy = lab.settings.ivr.flows_dir
        print(f"  flows: {copy}, the lab's copy of {settings.ivr.flows_dir}\n")
        print(f"  hotline: {settings.hotline.number}; a call to an agent, from another shell:", flush=True)
        print("    ctiserver simulate call --caller 13800138000 --name 张伟 --dtmf 1,0\n", flush=True)
        for line in lab.boxes_summary():
            print(line, flush=True)

    await _run_until_signal(start, lab.stop)
    return 0


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.production import UnsafeSettings, production_settings
    from ctiserver.server import CtiServer

    if settings.ivr.hours != "flow":
        print(
            f"ctiserver: ivr.hours = {settings.ivr.hours!r} is for the lab; "
            "serve always applies the flows' hours",
            file=sys.stderr,
        )
        return 2
    try:
        settings = production_settings(settings)
    except UnsafeSettings as exc:
        print(f"ctiserver: refusing to serve: {exc}", file=sys.stderr)
        return 2
    server = CtiServer(settings)
    await _run_until_signal(server.start, server.stop)
    return 0


async def _simulate_call(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.lab.simulate import (
        CallWatch,
        LabCall,
        SimulationError,
        caller_id,
        parse_presses,
        simulate_call,
        talk_then_hang_up,
    )
    from ctiserver.telephony.ami.link import AmiError, AmiLink

    try:
        presses = parse_presses(args.dtmf)
        call = LabCall(args.caller, args.name, hangup_after=args.hangup_after)
        shown, shortened = caller_id(call.caller_name, call.caller)
    except ValueError as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 2
    if shortened:
        print(f"ctiserver: the name is too long for Asterisk's caller ID; the call shows {shown}",
              file=sys.stderr)
    link = AmiLink(settings.ami)
    await link.start()
    try:
        await link.wait_ready(timeout=10)
        report = functools.partial(print, flush=True)
        watch = CallWatch(link)
        call_id = await simulate_call(link, settings, call, presses, wait=args.wait, report=report)
        talk = getattr(args, "talk", 0) or 0
        if args.hangup_after is None and talk > 0:
            await talk_then_hang_up(link, watch, call_id, talk, report=report)
    except ValueError as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 2
    except AmiError as exc:
        print(f"ctiserver: could not place the call: {exc}", file=sys.stderr)
        return 1
    except SimulationError as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 1
    finally:
        await link.stop()
    return 0


def _organisation(db: Database) -> Organisation:
    """The departments and branches staff may belong to (``ctiserver user``)."""
    from ctiserver.dispatch.store import DispatchRepository

    return DispatchRepository(db)


async def audit_cli(db: Database, action: str, kind: str, target: object, details: dict[str, Any]) -> None:
    """An audit event with the actor "cli", written at once (the command is short-lived);
    the account that ran the command is in the details."""
    import time

    from ctiserver.audit.model import CLI, AuditEvent
    from ctiserver.audit.store import AuditRepository

    event = AuditEvent.new(time.time(), action, user_id=None, username=CLI, target_kind=kind,
                           target_id=str(target), details={**details, "os_user": _os_user()})
    await AuditRepository(db).append([event])


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


async def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.storage.database import upgrade_schema

    await upgrade_schema(settings.database.url)
    print("database schema is up to date")
    return 0


async def _asterisk_provision(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.lab.provision import ProvisionError, find_or_provision

    try:
        install = await asyncio.to_thread(find_or_provision, settings.asterisk)
    except ProvisionError as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 1
    where = f"chroot {install.root}" if install.chrooted else install.binary
    print(f"Asterisk ready: {where}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
