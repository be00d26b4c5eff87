"""Each ticket kind's own fields, declared once: the API validates a ticket's ``fields``
with the model built here, the OpenAPI document shows it, ``GET /api/meta`` lists the
specs for the desk's ticket form, and the IVR's ``ticket`` node takes the kinds.

Field keys are stable (reports and webhooks read them). A kind's fields are all
optional when a ticket is opened (the IVR knows little); values given are checked.
Keys not declared are refused through the API; the IVR's own keys (``caller_number``,
a flow's ``product``) are kept as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from ctiserver.vocabulary import TICKET_TYPES

COMPLAINT_ABOUT = ("product", "service", "engineer", "branch")
COMPLAINT_SEVERITIES = ("low", "medium", "high", "critical")
REPAIR_RESULTS = ("fixed", "parts_replaced", "not_fixed", "replaced_product")
MAX_TEXT = 500
MAX_PARTS = 50
#: a free key the IVR may set (a flow's ``fields``) and its longest value
MAX_FREE_KEYS = 20


@dataclass(frozen=True)
class FieldSpec:
    """One field of a kind; ``type`` is text, choice, integer, number, datetime, user or list.
    ``desk``: the agent fills it when opening the ticket (the others are the department's:
    the appointment, the engineer, what the work found and used)."""

    key: str
    type: str
    choices: tuple[str, ...] = ()
    max_length: int = 200
    minimum: float | None = None
    maximum: float | None = None
    desk: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "type": self.type, "choices": list(self.choices),
            "max_length": self.max_length if self.type in ("text", "list") else None,
            "minimum": self.minimum, "maximum": self.maximum, "desk": self.desk,
        }


_APPOINTMENT = (
    FieldSpec("appointment_start", "datetime", desk=False), FieldSpec("appointment_end", "datetime", desk=False),
)
_ENGINEER = FieldSpec("engineer_id", "user", desk=False)
_VISIT = (FieldSpec("address", "text", max_length=300), *_APPOINTMENT, _ENGINEER)

KIND_FIELDS: Mapping[str, tuple[FieldSpec, ...]] = {
    "repair": (
        FieldSpec("product_model", "text", max_length=64),
        FieldSpec("serial", "text", max_length=64),
        FieldSpec("fault_symptom", "text", max_length=MAX_TEXT),
        FieldSpec("fault_code", "text", max_length=32),
        FieldSpec("address", "text", max_length=300),
        *_APPOINTMENT,
        _ENGINEER,
        FieldSpec("parts", "list", max_length=100, desk=False),
        FieldSpec("result", "choice", REPAIR_RESULTS, desk=False),
        FieldSpec("distance_km", "number", minimum=0, maximum=2000, desk=False),
    ),
    "complaint": (
        FieldSpec("about", "choice", COMPLAINT_ABOUT),
        FieldSpec("severity", "choice", COMPLAINT_SEVERITIES),
        FieldSpec("resolution", "text", max_length=MAX_TEXT, desk=False),
    ),
    "installation": _VISIT,
    "moving": _VISIT,
    "removal": _VISIT,
    "inquiry": (),
}
if tuple(KIND_FIELDS) != TICKET_TYPES:
    raise RuntimeError("every ticket kind (vocabulary.TICKET_TYPES) declares its fields here")


def _annotation(spec: FieldSpec) -> Any:
    if spec.type == "text":
        return Annotated[str, Field(min_length=1, max_length=spec.max_length)]
    if spec.type == "choice":
        return Literal[spec.choices]
    if spec.type == "integer":
        return Annotated[int, Field(ge=spec.minimum, le=spec.maximum)]
    if spec.type == "number":
        return Annotated[float, Field(ge=spec.minimum, le=spec.maximum)]
    if spec.type == "datetime":
        return AwareDatetime
    if spec.type == "user":
        # a users.id: within the Integer column's range (ctiserver.web.schemas.RowId)
        return Annotated[int, Field(ge=1, le=2**31 - 1)]
    if spec.type == "list":
        item = Annotated[str, Field(min_length=1, max_length=spec.max_length)]
        return Annotated[list[item], Field(max_length=MAX_PARTS)]
    raise ValueError(f"unknown field type {spec.type!r}")


class KindFields(BaseModel):
    """The base of each kind's fields model: an appointment ends after it starts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _window(self) -> KindFields:
        start = getattr(self, "appointment_start", None)
        end = getattr(self, "appointment_end", None)
        if isinstance(start, dt.datetime) and isinstance(end, dt.datetime) and end <= start:
            raise ValueError("appointment_end must be after appointment_start")
        return self


def _model(kind: str) -> type[KindFields]:
    specs = KIND_FIELDS[kind]
    definitions: dict[str, Any] = {spec.key: (_annotation(spec) | None, None) for spec in specs}
    name = "".join(part.title() for part in kind.split("_")) + "Fields"
    return create_model(name, __base__=KindFields, __doc__=f"The fields of a {kind} ticket.", **definitions)


#: kind -> the pydantic model of its fields
FIELD_MODELS: Mapping[str, type[KindFields]] = {kind: _model(kind) for kind in TICKET_TYPES}


class FieldsInvalid(ValueError):
    """Fields that are not the kind's, or values of the wrong type."""


def validate_fields(kind: str, values: Mapping[str, Any], *, free: bool = False) -> dict[str, Any]:
    """The fields as stored (JSON values; ``None`` for a field cleared): the kind's
    declared keys checked, and with ``free`` other keys kept as text (the IVR's)."""
    model = FIELD_MODELS.get(kind)
    if model is None:
        raise FieldsInvalid(f"unknown ticket kind {kind!r}")
    declared = {key: value for key, value in values.items() if key in model.model_fields}
    others = {str(key): value for key, value in values.items() if key not in model.model_fields}
    if others and not free:
        known = ", ".join(model.model_fields) or "none"
        raise FieldsInvalid(f"{kind} tickets have no field {', '.join(sorted(others))} (fields: {known})")
    try:
        checked = model.model_validate(declared)
    except ValidationError as exc:
        raise FieldsInvalid(_explain(exc)) from exc
    result = checked.model_dump(mode="json", include=set(declared))
    if len(others) > MAX_FREE_KEYS:
        raise FieldsInvalid(f"at most {MAX_FREE_KEYS} other fields")
    result.update({key: str(value)[:MAX_TEXT] for key, value in others.items()})
    return result


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "fields"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def kinds_meta() -> dict[str, list[dict[str, Any]]]:
    """Kind -> its field specs, for ``GET /api/meta`` (the desk builds its form from them)."""
    return {kind: [spec.to_dict() for spec in specs] for kind, specs in KIND_FIELDS.items()}
