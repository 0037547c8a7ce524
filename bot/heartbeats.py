"""What the bot's Temporal activities (`notify`, `answer_in_thread`) share: a heartbeat on a timer, and which attempt
this is. Both have a 10 s heartbeat timeout, so a bot that dies mid-activity is replaced within seconds, not after
the start-to-close timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from temporalio import activity

__all__ = ["HEARTBEAT_EVERY_S", "attempt", "heartbeating"]

HEARTBEAT_EVERY_S = 2.0
"""Well inside the activities' 10 s heartbeat timeout, through a status query, a model call and Slack's 429 waits."""


@asynccontextmanager
async def heartbeating(name: str, details: Callable[[], Sequence[Any]] = tuple) -> AsyncIterator[None]:
    """Heartbeat every HEARTBEAT_EVERY_S while the body runs (outside an activity, a tests' direct call: nothing).
    Each beat carries `details()`: Temporal keeps only the latest, so every beat repeats what a retry must find."""
    if not activity.in_activity():
        yield
        return

    async def beat() -> None:
        while True:
            activity.heartbeat(*details())
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    beating = asyncio.create_task(beat(), name=name)
    try:
        yield
    finally:
        beating.cancel()


def attempt() -> int:
    """This activity's attempt (1 outside an activity): a retried attempt first looks for what an earlier one posted."""
    return activity.info().attempt if activity.in_activity() else 1
