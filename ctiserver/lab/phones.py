"""The lab's simulated phones reach Asterisk over their own AMI sessions.

Asterisk runs the actions of one AMI session one at a time, and ``PlayDTMF``
holds its session for the digit's length. A hundred callers pressing keys at
once would queue behind each other (and behind the server's keep-alive, if they
shared its link), so the phones use a few sessions of their own, in turn. They
only send actions: they ask for system events alone (boot, shutdown), else each
would read and parse the whole event stream beside the server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Mapping, Sequence

from panoramisk.message import Message

from ctiserver.settings import AmiSettings
from ctiserver.telephony.ami.link import AmiLink

Fields = Mapping[str, str | Sequence[str]]


class PhoneLines:
    def __init__(self, settings: AmiSettings, lines: int = 8) -> None:
        # a session busy with key presses answers Pings late: that is not a dead link
        patient = dataclasses.replace(
            settings, ping_timeout=max(settings.ping_timeout, 60.0), events="system"
        )
        self._links = [AmiLink(patient) for _ in range(lines)]
        self._turn = itertools.cycle(self._links)

    async def start(self, timeout: float = 20.0) -> None:
        for link in self._links:
            await link.start()
        await asyncio.gather(*(link.wait_ready(timeout) for link in self._links))

    async def stop(self) -> None:
        await asyncio.gather(*(link.stop() for link in self._links))

    async def send_action(self, fields: Fields) -> Message:
        return await next(self._turn).send_action(fields)

    async def send_list_action(self, fields: Fields) -> list[Message]:
        return await next(self._turn).send_list_action(fields)
