"""argon2 at its cheapest for the users the tests and the labs make.

The server hashes with argon2's defaults (64 MiB, three passes, four lanes): over a second
a hash on the loaded 2-CPU CI machine, and every lab seeds about fifteen demo users and
logs several in. The tests are about who may log in and what they see, not the hash's
cost: every ``UserRepository`` made without a hasher gets this one while the tests run.
Hashes stay real argon2id (tests/unit/test_storage.py checks the format and the upgrade
of a weaker hash on login with hashers of its own).
"""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher


class CheapPasswordHasher(PasswordHasher):
    def __init__(self, **overrides: Any) -> None:
        super().__init__(**{"time_cost": 1, "memory_cost": 8, "parallelism": 1, **overrides})
