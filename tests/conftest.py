"""Shared test helpers. Tests needing what is missing never skip in CI (CI=true): they fail."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hashing import CheapPasswordHasher
from tests.support.schema import MigratedTemplate

IN_CI = os.environ.get("CI", "").lower() == "true"

#: the once-migrated SQLite database new test databases are copied from (tests/support/schema.py)
MIGRATED = MigratedTemplate()


def pytest_configure(config: pytest.Config) -> None:
    """The suite's speed-ups (tests/support/): a migrated database copied instead of replaying
    the migrations, cheap argon2 for the users tests and labs make."""
    import ctiserver.users.store
    from ctiserver.storage import database

    database.migrated_copy = MIGRATED.copy_to
    ctiserver.users.store.PasswordHasher = CheapPasswordHasher  # type: ignore[misc]


#: fixtures that start a throw-away PostgreSQL server (tests/pg.py)
POSTGRES_FIXTURES = {"postgres_server", "own_postgres_server"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark what needs more than Python, so that ``-m "not integration and not browser and not
    postgres"`` is the quick part: ``integration`` (tests/integration/), ``browser`` (a test
    that drives Chromium: the ``browser`` fixture, or a module that launches Chromium itself),
    ``postgres`` (a PostgreSQL server fixture, or the ``postgresql`` case of a test run on
    both databases)."""
    integration = REPO / "tests" / "integration"
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if integration in item.path.parents:
            item.add_marker(pytest.mark.integration)
        module = getattr(item, "module", None)
        if "browser" in names or getattr(module, "launched_chromium", None) is not None:
            item.add_marker(pytest.mark.browser)
        callspec = getattr(item, "callspec", None)
        if names & POSTGRES_FIXTURES or (callspec is not None and "postgres" in callspec.id):
            item.add_marker(pytest.mark.postgres)



def pytest_unconfigure(config: pytest.Config) -> None:
    MIGRATED.remove()


@pytest.fixture(autouse=True)
def _real_migrations(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests marked ``real_migrations`` (the migrations' own) replay them on every new database."""
    if request.node.get_closest_marker("real_migrations") is None:
        yield
        return
    from ctiserver.storage import database

    hook, database.migrated_copy = database.migrated_copy, None
    try:
        yield
    finally:
        database.migrated_copy = hook


def require(condition: bool, reason: str) -> None:
    """Skip outside CI, fail in CI, when something a test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: integration tests must run, not skip)")
    pytest.skip(reason)


from ctiserver.lab.isolated import free_port  # noqa: E402,F401 (re-exported for tests)

#: the checkout under test; tests read nothing outside it but the recorded AMI stream
REPO = Path(__file__).resolve().parents[1]

#: the recorded Asterisk 22 stream (200 queue calls); shared/ sits beside the checkout
RECORDED_AMI_STREAM = REPO.parent / "shared" / "fixtures" / "ami-200-queue-calls.raw.gz"


@pytest.fixture(scope="session")
def recorded_ami_stream() -> bytes:
    """The raw bytes an AMI client received: skipped outside CI when absent, a failure in CI."""
    require(
        RECORDED_AMI_STREAM.is_file(),
        f"the shared recorded AMI stream is not at {RECORDED_AMI_STREAM} (it sits beside the checkout)",
    )
    return gzip.decompress(RECORDED_AMI_STREAM.read_bytes())
