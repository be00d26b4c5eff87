"""Missed-call callbacks. Who sees which callback task: ``may_see_callback`` (docs/visibility.md)."""

from ctiserver.callbacks.model import may_see_callback

__all__ = ["may_see_callback"]
