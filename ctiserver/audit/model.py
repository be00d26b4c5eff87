"""An audit event: who did what to what, when, and how it ended. Plain data, JSON-safe for
the background writer's journal."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping
from typing import Any

#: the most a details object takes as JSON; beyond it only its keys are kept
MAX_DETAILS = 4096
#: the actor of what no web user did
SYSTEM = "system"
CLI = "cli"
#: the widths of the text columns (``ctiserver.audit.tables``)
WIDTHS = {"username": 64, "action": 200, "target_kind": 32, "target_id": 128, "client": 64}


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEvent:
    #: unique: the same event stored twice (a retried batch, a replayed journal) is one row
    key: str
    #: epoch seconds
    at: float
    #: None for an actor that is not a web user ("cli", "system")
    user_id: int | None
    username: str
    #: ``POST /api/tickets`` for a web request, a short verb otherwise (``user.add``)
    action: str
    target_kind: str | None = None
    target_id: str | None = None
    #: the HTTP status answered; None where there is none
    status: int | None = None
    details: dict[str, Any] | None = None
    #: the client's address
    client: str | None = None

    @classmethod
    def new(cls, at: float, action: str, **fields: Any) -> AuditEvent:
        """A new event with a fresh key; ``details`` bounded (:func:`bounded`)."""
        fields["details"] = bounded(fields.get("details"))
        for name, width in WIDTHS.items():  # the columns' widths
            value = fields.get(name)
            if isinstance(value, str) and len(value) > width:
                fields[name] = value[:width]
        return cls(key=uuid.uuid4().hex, at=at, action=action[: WIDTHS["action"]], **fields)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEvent:
        """The event of :meth:`to_dict`; TypeError on other input."""
        return cls(**data)


def bounded(details: Mapping[str, Any] | None, limit: int = MAX_DETAILS) -> dict[str, Any] | None:
    """``details`` as plain JSON if it takes at most ``limit`` bytes, else what it held
    (its keys) and its size."""
    if not details:
        return None
    text = json.dumps(details, ensure_ascii=False, default=str)
    size = len(text.encode())
    if size <= limit:
        return dict(json.loads(text))
    return {"truncated": True, "size": size, "keys": sorted(str(k) for k in details)[:50]}
