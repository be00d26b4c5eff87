"""Shared test helpers. Tests needing what is missing never skip in CI (CI=true): they fail."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


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
