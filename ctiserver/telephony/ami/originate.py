"""Sending an Originate whose outcome is followed from events afterwards (callbacks, return
visits): what matters at send time is only whether Asterisk took it, and if not, why."""

from __future__ import annotations

from typing import Any

from ctiserver.telephony.ami.link import AmiError, AmiLink


async def originate_refusal(ami: AmiLink, action: dict[str, Any]) -> str | None:
    """None when Asterisk accepted the Originate; else why not, for the log."""
    try:
        answer = await ami.send_action(action)
    except (TimeoutError, AmiError, OSError) as exc:
        return f"the Originate failed: {exc}"
    if answer.get("Response") != "Success":
        return f"Originate refused: {answer.get('Message')}"
    return None
