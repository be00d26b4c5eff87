"""The one error of settings."""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting is unknown or has a value of the wrong type."""
