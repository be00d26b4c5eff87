"""Which failures of a write are worth trying again, and which are the record's own.

A transient failure (the database is down, the connection was lost, a timeout, a
lock) is retried with back-off; a permanent one (an integrity or data error, a value
the database or the encoder refuses) sends the record at fault to the dead letter.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

#: SQLSTATE classes of errors that pass: connection exception, insufficient resources,
#: operator intervention (shutdown, starting up), system error, transaction rollback
#: (serialisation failure, deadlock), and syntax or access rule (a missing table or
#: grant is fixed by an operator, not by throwing the records away)
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58", "40", "42"})
#: single SQLSTATEs that pass, of classes otherwise the record's or unknown: a lock not
#: granted within ``lock_timeout`` (55P03), an object in use (55006)
TRANSIENT_SQLSTATES = frozenset({"55P03", "55006"})
#: SQLSTATE classes of errors that are the record's own: data exception, integrity
#: constraint violation
PERMANENT_SQLSTATE_CLASSES = frozenset({"22", "23"})

_PERMANENT_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.IntegrityError,
    sa_exc.DataError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
    ValueError,  # asyncpg's client-side DataError is one; so are bad timestamps
    TypeError,
    KeyError,
    OverflowError,
)
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,  # SQLite's "database is locked", a server gone away
    sa_exc.InterfaceError,  # asyncpg: the connection is closed
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # the pool's
    sqlite3.OperationalError,
    OSError,  # connection refused or reset, and TimeoutError
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what SQLAlchemy wrapped (``orig``), and their causes."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo.extend(
            [orig if isinstance(orig, BaseException) else None, current.__cause__,
             current.__context__]
        )


def is_transient(exc: BaseException) -> bool:
    """True if trying the same write again later may work; False if it is the record's fault.

    The SQLSTATE of a database error decides when there is one; then the kind of
    error anywhere in the chain, the record's own (integrity, data, value) first.
    An error of no known kind is the record's: retrying it forever would block
    every later write, and the dead letter keeps it.
    """
    chain = list(_chain(exc))
    for error in chain:
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str) and len(state) == 5:
            if state in TRANSIENT_SQLSTATES:
                return True
            if state[:2] in PERMANENT_SQLSTATE_CLASSES:
                return False
            if state[:2] in TRANSIENT_SQLSTATE_CLASSES:
                return True
    if any(isinstance(error, _PERMANENT_TYPES) for error in chain):
        return False
    for error in chain:
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, _TRANSIENT_TYPES):
            return True
    return False


def describe(exc: BaseException, limit: int = 2000) -> str:
    """``Type: message``, cut to ``limit`` characters (for the logs, the status and the dead letter)."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 3] + "..."
