"""``ctiserver`` command line: lab, serve, simulate call, user add, db upgrade, asterisk provision."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from ctiserver.settings import Settings, SettingsError, load_settings

log = logging.getLogger("ctiserver")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(args.handler(settings, args))
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ctiserver", description=__doc__)
    parser.add_argument("--config", help="settings file (TOML); CTISERVER_* variables override it")
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)

    lab = commands.add_parser("lab", help="run Asterisk, the server and demo data on this machine")
    lab.add_argument("--no-provision", action="store_true", help="fail instead of building the Asterisk chroot")
    lab.set_defaults(handler=_lab)

    serve = commands.add_parser("serve", help="run the server beside an Asterisk that is already running")
    serve.set_defaults(handler=_serve)

    simulate = commands.add_parser("simulate", help="place test calls into the hotline")
    sim_commands = simulate.add_subparsers(dest="what", required=True)
    call = sim_commands.add_parser("call", help="one call from a Local channel caller")
    call.add_argument("--caller", required=True, help="the caller's number, e.g. 13800138000")
    call.add_argument("--name", default="", help="the caller's name")
    call.add_argument("--dtmf", default="", help="digits the caller presses, 'w' = half-second pause")
    call.add_argument("--dtmf-delay", type=float, default=1.0, help="seconds after answer before the DTMF")
    call.add_argument("--hangup-after", type=float, default=None, help="seconds after the DTMF to hang up")
    call.set_defaults(handler=_simulate_call)

    user = commands.add_parser("user", help="manage users of the web interface")
    user_commands = user.add_subparsers(dest="what", required=True)
    add = user_commands.add_parser("add", help="add a user; the password is asked for (or read from stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["agent", "supervisor", "admin"])
    add.add_argument("--display-name", default=None)
    add.set_defaults(handler=_user_add)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="what", required=True)
    upgrade = db_commands.add_parser("upgrade", help="apply the migrations in db/ up to the newest")
    upgrade.set_defaults(handler=_db_upgrade)

    asterisk = commands.add_parser("asterisk", help="the lab's Asterisk")
    ast_commands = asterisk.add_subparsers(dest="what", required=True)
    provision = ast_commands.add_parser("provision", help="find or build (and cache) the Asterisk to run")
    provision.set_defaults(handler=_asterisk_provision)
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
    from ctiserver.lab.runner import Lab

    lab = Lab(settings, allow_provision=not args.no_provision)

    async def start() -> None:
        await lab.start()
        users = ", ".join(f"agent{ext}" for ext in settings.lab.agents)
        print("\nctiserver lab is running. Ctrl-C stops it.", flush=True)
        for url in lab.urls():
            print(f"  {url}")
        print(f"  users: {users}, supervisor, admin  (password: {settings.lab.demo_password})")
        print(f"  hotline: {settings.hotline.number}; try: ctiserver simulate call --caller 13800138000\n", flush=True)

    await _run_until_signal(start, lab.stop)
    return 0


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.server import CtiServer

    server = CtiServer(settings)
    await _run_until_signal(server.start, server.stop)
    return 0


async def _simulate_call(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.ami.link import AmiError, AmiLink
    from ctiserver.lab.simulate import LabCall, originate_action

    try:
        action = originate_action(
            settings,
            LabCall(args.caller, args.name, args.dtmf, args.dtmf_delay, args.hangup_after),
        )
    except ValueError as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 2
    link = AmiLink(settings.ami)
    await link.start()
    try:
        await link.wait_ready(timeout=10)
        await link.send_action(action)
    except AmiError as exc:
        print(f"ctiserver: could not place the call: {exc}", file=sys.stderr)
        return 1
    finally:
        await link.stop()
    print(f"call placed: id {action['ChannelId']} from {args.caller} to {settings.hotline.number}")
    return 0


async def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.storage.database import Database, upgrade_schema
    from ctiserver.storage.users import UserRepository

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if password != getpass.getpass("again: "):
            print("ctiserver: passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 3:
        print("ctiserver: the password is too short", file=sys.stderr)
        return 2
    await upgrade_schema(settings.database.url)
    db = Database(settings.database.url)
    try:
        user = await UserRepository(db).add(args.name, password, args.role, args.display_name)
    except ValueError as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print(f"user {user.username} added with role {user.role}")
    return 0


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
