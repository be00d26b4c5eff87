"""One typed settings object, loaded once at start-up and passed down.

Sources, later ones winning:
  1. the defaults below (they work in the lab on one machine);
  2. a TOML file (``--config FILE`` or ``CTISERVER_CONFIG``);
  3. environment variables ``CTISERVER_<SECTION>__<FIELD>``, e.g.
     ``CTISERVER_AMI__SECRET=...`` or ``CTISERVER_DATABASE__URL=postgresql+asyncpg://...``.

Nothing in the package reads the environment or a config file anywhere else.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field

from ctiserver.settings.boxes import BoxesSettings, EdgeBoxSettings
from ctiserver.settings.errors import SettingsError
from ctiserver.settings.service import (
    DEFAULT_SMS_SECRET,
    DEFAULT_WEBHOOK_KINDS,
    DEFAULT_WEBHOOK_SECRET,
    CalendarSettings,
    CallbackSettings,
    RecordingSettings,
    ReportSettings,
    SmsSettings,
    SmsTemplate,
    TicketSettings,
    VisitSettings,
    WaitSettings,
    WebhookEndpoint,
    WebhookSettings,
)
from ctiserver.settings.telephony import (
    AgiSettings,
    AmiSettings,
    AsteriskSettings,
    DatabaseSettings,
    HotlineSettings,
    IvrSettings,
    LabSettings,
    NodeSettings,
    QueueSettings,
    StorageSettings,
    WebrtcSettings,
    WebSettings,
)

__all__ = [
    "DEFAULT_SMS_SECRET",
    "DEFAULT_WEBHOOK_KINDS",
    "DEFAULT_WEBHOOK_SECRET",
    "ENV_PREFIX",
    "AgiSettings",
    "AmiSettings",
    "AsteriskSettings",
    "BoxesSettings",
    "CalendarSettings",
    "CallbackSettings",
    "DatabaseSettings",
    "EdgeBoxSettings",
    "HotlineSettings",
    "IvrSettings",
    "LabSettings",
    "NodeSettings",
    "QueueSettings",
    "RecordingSettings",
    "ReportSettings",
    "Settings",
    "SettingsError",
    "SmsSettings",
    "SmsTemplate",
    "StorageSettings",
    "TicketSettings",
    "VisitSettings",
    "WaitSettings",
    "WebSettings",
    "WebhookEndpoint",
    "WebhookSettings",
    "WebrtcSettings",
    "load_settings",
]

ENV_PREFIX = "CTISERVER_"


@dataclass(frozen=True)
class Settings:
    ami: AmiSettings = field(default_factory=AmiSettings)
    agi: AgiSettings = field(default_factory=AgiSettings)
    web: WebSettings = field(default_factory=WebSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    hotline: HotlineSettings = field(default_factory=HotlineSettings)
    asterisk: AsteriskSettings = field(default_factory=AsteriskSettings)
    lab: LabSettings = field(default_factory=LabSettings)
    ivr: IvrSettings = field(default_factory=IvrSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    recordings: RecordingSettings = field(default_factory=RecordingSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    visits: VisitSettings = field(default_factory=VisitSettings)
    nodes: NodeSettings = field(default_factory=NodeSettings)
    webrtc: WebrtcSettings = field(default_factory=WebrtcSettings)
    waits: WaitSettings = field(default_factory=WaitSettings)
    boxes: BoxesSettings = field(default_factory=BoxesSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)

    def edge_ami(self, edge: EdgeBoxSettings) -> AmiSettings:
        """The AMI settings of an edge box: its address, [ami]'s user, secret and timings."""
        return dataclasses.replace(self.ami, host=edge.ami_host, port=edge.ami_port)

    def replace(self, **sections: Mapping[str, object]) -> Settings:
        """A copy with some fields of some sections changed: ``s.replace(ami={"port": 5039})``."""
        changes = {}
        for name, values in sections.items():
            current = getattr(self, name)
            changes[name] = dataclasses.replace(current, **values)
        return dataclasses.replace(self, **changes)


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Defaults, then the TOML file, then environment overrides."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(ENV_PREFIX + "CONFIG") or None
    raw: dict[str, dict[str, object]] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        section, _, name = key[len(ENV_PREFIX):].lower().partition("__")
        raw.setdefault(section, {})[name] = value
    return _build(Settings, raw, "")


def _build(cls: type, raw: Mapping[str, object], where: str) -> typing.Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(sorted(where + k for k in unknown))}")
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = _coerce(hints[name], value, where + name)
    return cls(**kwargs)


def _coerce(hint: typing.Any, value: object, where: str) -> object:
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise SettingsError(f"{where} must be a table")
        return _build(typing.cast(type, hint), value, where + ".")
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise SettingsError(f"{where} must be a list")
        return tuple(_coerce(item_hint, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    try:
        if hint is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if hint in (int, float, str):
            return hint(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{where}: {value!r} is not a valid {hint.__name__}") from exc
    raise SettingsError(f"{where}: unsupported setting type {hint!r}")
