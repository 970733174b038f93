"""A small event bus: handlers per event name, run concurrently, failures isolated and reported."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import anyio

from .plugin import AnyFn, call_flexible

log = logging.getLogger("elizapy.events")

ErrorSink = Callable[[str, BaseException], None]


class EventBus:
    def __init__(self, *, on_error: ErrorSink | None = None) -> None:
        self._handlers: dict[str, list[AnyFn]] = defaultdict(list)
        self._on_error = on_error

    def on(self, event: str, handler: AnyFn) -> None:
        self._handlers[str(event)].append(handler)

    def off(self, event: str, handler: AnyFn) -> None:
        hs = self._handlers.get(str(event))
        if hs and handler in hs:
            hs.remove(handler)

    def has(self, event: str) -> bool:
        return bool(self._handlers.get(str(event)))

    async def emit(self, event: str, payload: Any) -> None:
        """Run every handler of ``event``; one failing handler never stops the others or the caller."""
        handlers = self._handlers.get(str(event))
        if not handlers:
            return
        if len(handlers) == 1:
            await self._safe(event, handlers[0], payload)
            return
        async with anyio.create_task_group() as tg:
            for h in list(handlers):
                tg.start_soon(self._safe, event, h, payload)

    async def _safe(self, event: str, handler: AnyFn, payload: Any) -> None:
        try:
            await call_flexible(handler, payload)
        except Exception as exc:
            log.warning("event handler for %s failed: %r", event, exc)
            if self._on_error is not None:
                self._on_error(event, exc)
