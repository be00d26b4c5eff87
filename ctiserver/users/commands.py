"""``ctiserver user``: add, set, list users; list and revoke their sessions. Every change is in
the audit log with the actor ``cli`` and the account that ran the command.

The password is asked for (twice) on a terminal, or read from the first line of stdin.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ctiserver.settings import Settings
from ctiserver.vocabulary import USER_ROLES

if TYPE_CHECKING:
    from ctiserver.storage.database import Database
    from ctiserver.users.http import Organisation

#: what the command line records a change with (``ctiserver.cli.audit_cli``)
Audit = Callable[["Database", str, str, object, dict[str, Any]], Awaitable[None]]
#: the departments and branches of a database
OrganisationOf = Callable[["Database"], "Organisation"]


class UserCommands:
    def __init__(self, audit: Audit, organisation: OrganisationOf) -> None:
        self._audit = audit
        self._organisation = organisation

    def add_to(self, commands: Any) -> None:
        user = commands.add_parser("user", help="manage users of the web interface and their sessions")
        what = user.add_subparsers(dest="what", required=True)
        add = what.add_parser("add", help="add a user; the password is asked for (or read from stdin)")
        add.add_argument("name")
        add.add_argument("--role", required=True, choices=USER_ROLES)
        self._place_arguments(add)
        add.set_defaults(handler=self.add)
        change = what.add_parser("set", help="change a user's role, department, branch, name or password; "
                                 "disable or enable; a new password or role ends the user's sessions")
        change.add_argument("name")
        change.add_argument("--role", choices=USER_ROLES)
        self._place_arguments(change)
        change.add_argument("--password", action="store_true", help="set a new password (asked for, or stdin)")
        state = change.add_mutually_exclusive_group()
        state.add_argument("--disable", action="store_true", help="no login, every session ended")
        state.add_argument("--enable", action="store_true")
        change.set_defaults(handler=self.change)
        listing = what.add_parser("list", help="the users, their role, department and branch")
        listing.set_defaults(handler=self.list)
        sessions = what.add_parser("sessions", help="the open sessions (of one user)")
        sessions.add_argument("name", nargs="?")
        sessions.set_defaults(handler=self.sessions)
        revoke = what.add_parser("revoke", help="end a session (its id as listed) or every session of a user")
        target = revoke.add_mutually_exclusive_group(required=True)
        target.add_argument("session", nargs="?", help="a session id as `user sessions` lists it")
        target.add_argument("--user", help="end every session of this user")
        revoke.set_defaults(handler=self.revoke)

    @staticmethod
    def _place_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--display-name", default=None)
        parser.add_argument("--department", default=None, help="staff: their department's code ('' for none)")
        parser.add_argument("--branch", default=None, help="staff: their branch's id ('' for every branch)")

    async def _check_place(self, db: Database, args: argparse.Namespace) -> tuple[Any, Any]:
        """The department and branch asked for (None: none; UNSET: not asked); ValueError if unknown."""
        from ctiserver.users.store import UNSET

        department, branch = UNSET, UNSET
        organisation = self._organisation(db)
        if args.department is not None:
            department = args.department or None
            if department is not None and department not in await organisation.departments():
                raise ValueError(f"no such department: {department}")
        if args.branch is not None:
            if args.branch and not args.branch.isdigit():
                raise ValueError(f"--branch takes a branch's id, not {args.branch!r}")
            branch = int(args.branch) if args.branch else None
            if branch is not None and await organisation.branch(branch) is None:
                raise ValueError(f"no such branch: {branch}")
        return department, branch

    async def _run(self, settings: Settings, work: Callable[[Database], Awaitable[int]]) -> int:
        from ctiserver.storage.database import Database, upgrade_schema

        await upgrade_schema(settings.database.url)
        db = Database(settings.database.url)
        try:
            return await work(db)
        except ValueError as exc:
            print(f"ctiserver: {exc}", file=sys.stderr)
            return 1
        finally:
            await db.close()

    async def add(self, settings: Settings, args: argparse.Namespace) -> int:
        from ctiserver.users.store import UNSET, UserRepository

        password = read_password(args.name)
        if password is None:
            return 2

        async def work(db: Database) -> int:
            department, branch = await self._check_place(db, args)
            user = await UserRepository(db).add(
                args.name, password, args.role, args.display_name,
                department=None if department is UNSET else department, branch_id=None if branch is UNSET else branch,
            )
            await self._audit(db, "user.add", "user", user.id, {
                "username": user.username, "role": user.role, "department": user.department,
                "branch_id": user.branch_id,
            })
            print(f"user {user.username} added with role {user.role}")
            return 0

        return await self._run(settings, work)

    async def change(self, settings: Settings, args: argparse.Namespace) -> int:
        from ctiserver.users.store import UNSET, UserRepository

        password = read_password(args.name) if args.password else None
        if args.password and password is None:
            return 2

        async def work(db: Database) -> int:
            users = UserRepository(db)
            user = await users.find(args.name)
            if user is None:
                raise ValueError(f"no such user: {args.name}")
            department, branch = await self._check_place(db, args)
            changed = await users.change(
                user.id, role=args.role or UNSET,
                display_name=UNSET if args.display_name is None else (args.display_name or None),
                department=department, branch_id=branch, password=password,
                disabled=True if args.disable else False if args.enable else None,
            )
            assert changed is not None  # noqa: S101  (found above; users are never deleted)
            await self._audit(db, "user.set", "user", user.id, {
                "username": user.username, "changed": list(changed.fields),
                "sessions_ended": changed.sessions_ended,
            })
            what = ", ".join(changed.fields) or "nothing"
            print(f"user {user.username}: changed {what}; {changed.sessions_ended} session(s) ended")
            return 0

        return await self._run(settings, work)

    async def list(self, settings: Settings, args: argparse.Namespace) -> int:
        from ctiserver.users.store import UserRepository

        async def work(db: Database) -> int:
            for user in await UserRepository(db).list():
                state = " (disabled)" if user.disabled else ""
                print(f"{user.id}\t{user.username}\t{user.role}\t{user.department or '-'}\t"
                      f"{user.branch_id or '-'}\t{user.display_name or ''}{state}")
            return 0

        return await self._run(settings, work)

    async def sessions(self, settings: Settings, args: argparse.Namespace) -> int:
        async def work(db: Database) -> int:
            for info in await sessions_of(settings, db).list(args.name):
                print(f"{info.id}\t{info.username}\tsince {info.created_at:%Y-%m-%d %H:%M:%S}\t"
                      f"last {info.seen_at:%Y-%m-%d %H:%M:%S}\t{info.client or '-'}\t{info.user_agent or ''}")
            return 0

        return await self._run(settings, work)

    async def revoke(self, settings: Settings, args: argparse.Namespace) -> int:
        from ctiserver.users.store import UserRepository

        async def work(db: Database) -> int:
            sessions = sessions_of(settings, db)
            if args.user is not None:
                user = await UserRepository(db).find(args.user)
                if user is None:
                    raise ValueError(f"no such user: {args.user}")
                ended = await sessions.revoke_user(user.id)
                await self._audit(db, "user.sessions.revoke", "user", user.id, {"username": user.username,
                                                                                 "sessions_ended": ended})
            else:
                ended = await sessions.revoke_id(args.session)
                await self._audit(db, "session.revoke", "session", args.session, {"sessions_ended": ended})
            print(f"{ended} session(s) ended")
            return 0 if ended else 1

        return await self._run(settings, work)


def sessions_of(settings: Settings, db: Database) -> Any:
    from ctiserver.users.sessions import SessionRepository

    web = settings.web
    return SessionRepository(db, secret=web.session_secret, idle=web.session_idle, lifetime=web.session_max_age,
                             clock=time.time)


def read_password(name: str) -> str | None:
    """From the terminal (twice) or stdin's first line; None (said why) when unusable."""
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {name}: ")
        if password != getpass.getpass("again: "):
            print("ctiserver: passwords differ", file=sys.stderr)
            return None
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 3:
        print("ctiserver: the password is too short", file=sys.stderr)
        return None
    return password
