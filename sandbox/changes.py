"""A subscriber's queue of the fake Slack's state changes, for live views (the browser sandbox) and tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sandbox.workspace import StateChange

__all__ = ["ChangeStream"]

_CLOSED = object()


class ChangeStream:
    """Registered when created (so no change between subscribe() and the first await is lost); unbounded."""

    def __init__(self, on_close: Callable[[ChangeStream], None]) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._on_close = on_close
        self._closed = False

    def put(self, change: StateChange) -> None:
        if not self._closed:
            self._queue.put_nowait(change)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._on_close(self)
            self._queue.put_nowait(_CLOSED)

    async def get(self, timeout: float | None = None) -> StateChange:
        """The next change; raises StopAsyncIteration once closed, TimeoutError after `timeout` seconds."""
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)
            raise StopAsyncIteration
        assert isinstance(item, StateChange)
        return item

    def __aiter__(self) -> ChangeStream:
        return self

    async def __anext__(self) -> StateChange:
        return await self.get()

    async def __aenter__(self) -> ChangeStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
