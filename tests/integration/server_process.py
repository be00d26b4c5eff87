"""A ctiserver in a process of its own, for tests that kill it (SIGKILL): the settings
come pickled in the file named by argv[1]; it prints "ready" once its web server listens
and its AMI link is up, or, given ``--without-asterisk``, once its web server listens (the
AMI link keeps trying in the background). Started by ``tests.support.processes``."""

from __future__ import annotations

import asyncio
import logging
import pickle
import sys
from pathlib import Path

from ctiserver.server import CtiServer


async def main() -> None:
    settings = pickle.loads(Path(sys.argv[1]).read_bytes())  # noqa: S301  (the test's own file)
    server = CtiServer(settings)
    await server.start()
    if "--without-asterisk" not in sys.argv[2:]:
        await server.ami.wait_ready(timeout=20)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(main())
