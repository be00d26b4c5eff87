"""The checks of this machine: can the server listen on its ports, are the IVR flows valid."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from ctiserver.operations.check.results import Result, ok, problem
from ctiserver.settings import Settings


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
