"""Durable before the ack: a Slack request that asks for work is handed to Temporal before the bot acks it.

Once Slack has its ack, nobody will send the request again: a bot that acked first and died before Temporal held the
work lost it without a word. So a listener begins its Temporal call (start the task, send the decision, cancel),
waits for it up to BATON_INTAKE_TIMEOUT_S of Slack's 3 seconds, and only then acks. When Temporal is slower than
that, the listener acks anyway (a slash command's ack says "queued"), the call goes on here in the background, and
the person is told how it ended. That background call is the one thing a bot that dies can still lose.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck

__all__ = ["DRAIN_S", "Intakes", "ack_only", "before_ack"]

log = logging.getLogger(__name__)
T = TypeVar("T")
DRAIN_S = 5.0
"""How long a stopping bot lets calls still running after their ack finish before it abandons them."""


class Intakes:
    """The calls begun before an ack that outlive it: held here so that none is garbage-collected mid-flight, and so
    that a bot told to stop can let them finish (for DRAIN_S) instead of dropping them at once."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()

    def begin(self, work: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    @property
    def running(self) -> int:
        return len(self._running)

    async def drain(self, timeout_s: float = DRAIN_S) -> None:
        """Wait up to `timeout_s` for the calls still running, then cancel the rest, one warning line each."""
        if not self._running:
            return
        _, abandoned = await asyncio.wait(set(self._running), timeout=timeout_s)
        for task in abandoned:
            log.warning("Stopping: abandoned %s, still waiting for Temporal", task.get_name())
            task.cancel()
        if abandoned:
            await asyncio.wait(abandoned)


async def before_ack(intakes: Intakes, budget_s: float, work: Coroutine[Any, Any, T], *,
                     ack: Callable[[T | None], Awaitable[None]], answer: Callable[[T], Awaitable[None]],
                     name: str) -> None:
    """Run `work` for up to `budget_s`, then `ack(its result)`, or `ack(None)` while it is still running; then
    `answer(its result)`: at once, or in the background when the work ends.

    `work` returns what to tell the person and must not raise (this runs before the ack, and an exception there
    leaves the request unanswered); `answer` runs after the ack, where nothing may escape either."""
    task = intakes.begin(work, name)
    await asyncio.wait({task}, timeout=max(budget_s, 0.0))
    if task.done():
        result = task.result()
        await ack(result)
        await answer(result)
        return
    log.info("%s: Temporal did not answer within %.1f s; acked, still trying", name, budget_s)
    await ack(None)
    intakes.begin(_answer_when_done(task, answer, name), f"{name} (answer)")


async def _answer_when_done(task: asyncio.Task[T], answer: Callable[[T], Awaitable[None]], name: str) -> None:
    try:
        result = await task
    except Exception:
        log.exception("%s failed after its ack", name)
        return
    await answer(result)


def ack_only(ack: AsyncAck) -> Callable[[object], Awaitable[None]]:
    """An empty ack whatever the work found, for `before_ack`: a click's answer is told after it (Slack shows no
    body of a click's ack)."""

    async def acked(_: object) -> None:
        await ack()

    return acked
