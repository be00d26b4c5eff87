"""Who wants to hear of a change: the subscription list every domain class keeps."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Listeners(Generic[T]):
    """Listeners are told in the order they subscribed; one that raises is logged and the
    others are still told (a broken websocket must not stop calls being recorded)."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._logger = logger
        self._what = what
        self._listeners: list[Callable[[T], None]] = []

    def subscribe(self, listener: Callable[[T], None]) -> Callable[[], None]:
        """Returns the function that unsubscribes ``listener``."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def notify(self, value: T, about: object) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(value)
            except Exception:
                self._logger.exception("%s listener %r failed on %s", self._what, listener, about)
