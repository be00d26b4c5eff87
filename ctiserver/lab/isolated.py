"""A lab of its own: free ports, its own directory, database and flows (tests, benchmarks)."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import Any

from ctiserver.settings import Settings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shared_prompt_cache() -> Path:
    """The synthesised prompts every isolated lab of this user on this machine shares, so that
    a lab made for a test or a benchmark does not synthesise again what another one made."""
    return Path(tempfile.gettempdir()) / f"ctiserver-prompts-{os.getuid()}"


def isolated_settings(directory: Path, *, flow: str, **overrides: dict[str, Any]) -> Settings:
    """Settings for a lab living in ``directory`` and serving ``flow`` (YAML text)."""
    flows_dir = directory / "flows"
    flows_dir.mkdir(exist_ok=True)
    (flows_dir / "flow.yaml").write_text(flow, encoding="utf-8")
    settings = Settings().replace(
        ami={"port": free_port()},
        agi={"port": free_port()},
        web={"port": free_port()},
        database={"url": f"sqlite+aiosqlite:///{directory}/ctiserver.sqlite3"},
        asterisk={"run_dir": str(directory / "asterisk"), "sip_port": free_port()},
        ivr={"flows_dir": str(flows_dir), "prompt_cache_dir": str(shared_prompt_cache())},
        # beside its database: a journal is replayed into the database it was meant for
        storage={"journal_dir": str(directory / "journal")},
        lab={"flows_dir": str(directory / "lab-flows")},
        recordings={"dir": str(directory / "recordings")},
        webrtc={"port": free_port(), "http_port": free_port()},
    )
    return settings.replace(**overrides)
