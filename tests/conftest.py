"""Shared test helpers. Integration tests never skip in CI (CI=true): they fail."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip outside CI, fail in CI, when something an integration test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: integration tests must run, not skip)")
    pytest.skip(reason)


from ctiserver.lab.isolated import free_port  # noqa: E402,F401 (re-exported for tests)

#: the recorded Asterisk 22 stream (200 queue calls); shared/ sits beside the checkout
RECORDED_AMI_STREAM = (
    Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ami-200-queue-calls.raw.gz"
)


@pytest.fixture(scope="session")
def recorded_ami_stream() -> bytes:
    """The raw bytes an AMI client received; a missing fixture is a failure, never a skip."""
    if not RECORDED_AMI_STREAM.exists():
        pytest.fail(f"recorded AMI stream not found at {RECORDED_AMI_STREAM}")
    return gzip.decompress(RECORDED_AMI_STREAM.read_bytes())
