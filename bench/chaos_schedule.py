"""The kill schedule of one chaos run: the worker three times, the bot twice, the Temporal server once, each at a
moment chosen by a condition (a held Slack call, a card about to be clicked), spread over the run by how many
tasks have been started.

    1. worker  while agents run (just after a batch of tasks started)
    2. bot     between a click and its answer: the decision is in Temporal, the "Done" answer is held, then SIGKILL
    3. worker  as a card is about to be clicked: the click reaches a bot with no worker; restarted once answered
    4. server  mid-run (tasks waiting at checkpoints, agents running): SIGKILL, restart on its database
    5. bot     as it posts a final message: Slack applied it, the response is held, then SIGKILL
    6. worker  right after a decision was recorded (the resumed agent run is starting)

Before the bot or the server is killed, new slash commands wait and those in flight are answered first: the chaos
is about tasks in flight, and a command acked by a bot that then dies is lost for good (Slack does not resend).
A moment that does not come within TRIGGER_TIMEOUT_S is replaced by an immediate kill, and the report says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.chaos_people import APPROVER, PATIENCE_S, Click, World
from bench.chaos_processes import BatonProcess, TemporalOnDisk
from bench.chaos_slack import Hold, HoldingSlack

__all__ = ["Chaos", "ChaosEvent"]

TRIGGER_TIMEOUT_S = 90.0
DRAIN_TIMEOUT_S = 60.0


@dataclass
class ChaosEvent:
    process: str
    moment: str
    after_tasks_started: int
    triggered: str = "pending"
    """"condition" (the moment came), "timeout" (killed anyway), or "pending"."""
    at_s: float | None = None
    down_s: float | None = None
    notes: list[str] = field(default_factory=list)


def _answer_is_done(args: dict[str, Any]) -> bool:
    return args.get("user") == APPROVER and str(args.get("text", "")).startswith("Done:")


def _posts_final(args: dict[str, Any]) -> bool:
    metadata = args.get("metadata")
    payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
    return isinstance(payload, dict) and payload.get("part") == "final"


class Chaos:
    def __init__(self, world: World, slack: HoldingSlack, temporal: TemporalOnDisk, bot: BatonProcess,
                 worker: BatonProcess, tasks: int) -> None:
        self.world = world
        self.slack = slack
        self.temporal = temporal
        self.bot = bot
        self.worker = worker
        self.began = time.monotonic()
        plan: list[tuple[str, str, Callable[[ChaosEvent], Awaitable[None]]]] = [
            ("worker", "while agents run", self._worker_now),
            ("bot", "between a click and its answer", self._bot_between_click_and_answer),
            ("worker", "as a card is clicked (no worker to answer)", self._worker_as_card_is_clicked),
            ("server", "mid-run, SIGKILL and restart on its database", self._server_now),
            ("bot", "as it posts a final message (posted, response lost)", self._bot_as_final_is_posted),
            ("worker", "right after a decision was recorded", self._worker_after_decision),
        ]
        self.events = [ChaosEvent(process, moment, max(1, round((i + 1) * tasks / (len(plan) + 1))))
                       for i, (process, moment, _) in enumerate(plan)]
        self._actions = [action for _, _, action in plan]

    async def run(self) -> None:
        for event, action in zip(self.events, self._actions, strict=True):

            def due(event: ChaosEvent = event) -> bool:
                return self.world.submitted >= event.after_tasks_started or self.world.stopping

            await self.world.wait(due, None)
            if self.world.stopping:
                event.notes.append("not run: the run was stopping")
                return
            event.at_s = round(time.monotonic() - self.began, 1)
            await action(event)
            self.world.chaos_seq += 1
            self.world.bump()

    # the six moments ------------------------------------------------------------------------------------------------
    async def _worker_now(self, event: ChaosEvent) -> None:
        event.triggered = "condition"
        await self._restart(self.worker, event)

    async def _worker_after_decision(self, event: ChaosEvent) -> None:
        hold = self.slack.hold("chat.postEphemeral", _answer_is_done)
        await self._await_hold(hold, event)
        await self.worker.kill()
        hold.release()
        await self._restart(self.worker, event, killed=True)

    async def _worker_as_card_is_clicked(self, event: ChaosEvent) -> None:
        clicked: asyncio.Future[Click] = asyncio.get_running_loop().create_future()

        async def kill_first(click: Click) -> None:
            await self.worker.kill()
            clicked.set_result(click)

        self.world.card_hook = kill_first
        try:
            click = await asyncio.wait_for(asyncio.shield(clicked), TRIGGER_TIMEOUT_S)
            event.triggered = "condition"
        except TimeoutError:
            self.world.card_hook = None
            event.triggered = "timeout"
            await self.worker.kill()
            await self._restart(self.worker, event, killed=True)
            return
        down = time.monotonic()
        answered = await self.world.wait(lambda: click.answer is not None or click.delivery_error, PATIENCE_S)
        event.notes.append(f"the click during the outage got: {click.answer!r}" if answered
                           else "the click during the outage got no answer")
        await self.worker.start()
        event.down_s = round(time.monotonic() - down, 1)

    async def _bot_between_click_and_answer(self, event: ChaosEvent) -> None:
        hold = self.slack.hold("chat.postEphemeral", _answer_is_done)
        await self._await_hold(hold, event)
        async with self._commands_drained(event):
            await self._kill_bot()
            hold.release(deliver=False)
            await self._start_bot(event)

    async def _bot_as_final_is_posted(self, event: ChaosEvent) -> None:
        hold = self.slack.hold("chat.postMessage", _posts_final, after_apply=True)
        await self._await_hold(hold, event)
        async with self._commands_drained(event):
            await self._kill_bot()
            hold.release()
            await self._start_bot(event)

    async def _server_now(self, event: ChaosEvent) -> None:
        event.triggered = "condition"
        async with self._commands_drained(event):
            down = time.monotonic()
            await self.temporal.restart()
            event.down_s = round(time.monotonic() - down, 1)

    # helpers --------------------------------------------------------------------------------------------------------
    async def _await_hold(self, hold: Hold, event: ChaosEvent) -> None:
        try:
            await asyncio.wait_for(hold.arrived.wait(), TRIGGER_TIMEOUT_S)
            event.triggered = "condition"
        except TimeoutError:
            self.slack.drop(hold)
            event.triggered = "timeout"

    @asynccontextmanager
    async def _commands_drained(self, event: ChaosEvent) -> AsyncIterator[None]:
        """No slash command in flight for the duration (new ones wait; those sent are answered first)."""
        world = self.world
        world.commands_open.clear()
        try:
            if not await world.wait(lambda: world.commands_in_flight == 0, DRAIN_TIMEOUT_S):
                event.notes.append(f"{world.commands_in_flight} command(s) still in flight at the kill")
            yield
        finally:
            world.commands_open.set()
            world.bump()

    async def _restart(self, process: BatonProcess, event: ChaosEvent, *, killed: bool = False) -> None:
        down = time.monotonic()
        if not killed:
            await process.kill()
        await process.start()
        event.down_s = round(time.monotonic() - down, 1)

    async def _kill_bot(self) -> None:
        self.world.bot_up.clear()
        self._bot_down_at = time.monotonic()
        await self.bot.kill()

    async def _start_bot(self, event: ChaosEvent) -> None:
        await self.bot.start()
        self.world.bot_generation += 1
        self.world.bot_up.set()
        event.down_s = round(time.monotonic() - self._bot_down_at, 1)
