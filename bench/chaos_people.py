"""The people of a chaos run: each asks for one task with a signed `/baton run` in their own channel, approves its
card with a signed click as soon as it shows Approve, and waits for the final message, as a person would while the
bot, the worker and Temporal are killed under them.

A person clicks again only when a person would: the click was never answered and the bot that got it has died
since, or the answer said to try again (or gave no decision) and a killed process has come back since, or
PATIENCE_S went by without an answer or a change. Every click and its answer is kept (`Click`), so the run can
count refusals.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from bench.chaos_slack import HoldingSlack, buttons, thread_messages
from sandbox import Message, SlackDelivery

__all__ = ["APPROVER", "REQUESTER", "Click", "Person", "World", "answer_kind"]

REQUESTER = "U02BOB"
APPROVER = "U01ALICE"
APPROVE = "baton.decide.accept"
REQUESTS = {"ops_audit": "check the web fleet", "sales_report": "Sales for Q1"}
PATIENCE_S = 20.0
"""How long a person waits on a click that got no answer from a live bot, or on "try again", before clicking again."""
COMMAND_ANSWER_TIMEOUT_S = 60.0
_TASK_ID = re.compile(r"`((?:ops_audit|sales_report)-[A-Za-z0-9._:-]+)`")


def answer_kind(text: str) -> str:
    """done (decision taken), ours (the person's own earlier click already decided it), no_longer_pending (the
    refusal a pending card must never get), try_again (not recorded, retry), other."""
    if text.startswith(("Done:", "Your approval is recorded")):
        return "done"
    if f"<@{APPROVER}> already chose" in text:
        return "ours"
    if "no longer pending" in text:
        return "no_longer_pending"
    if "try again" in text.lower():
        return "try_again"
    return "other"


@dataclass
class Click:
    """One Approve click: where, when, which incarnations it met, and the private answer it got (if any)."""

    channel: str
    task_id: str
    card_ts: str
    attempt: int
    sent_at: float
    bot_generation: int
    chaos_seq: int
    answers_before: int
    status: int | None = None
    delivery_error: str | None = None
    answer: str | None = None
    answer_index: int | None = None
    kind: str | None = None
    answered_at: float | None = None
    chaos_seq_at_answer: int | None = None


class World:
    """What the people and the chaos schedule share: the stack's Slack side, gates, counters and every click."""

    def __init__(self, slack: HoldingSlack, delivery: SlackDelivery, concurrency: int) -> None:
        self.slack = slack
        self.delivery = delivery
        self.slots = asyncio.Semaphore(concurrency)
        self.bot_up = asyncio.Event()
        self.bot_up.set()
        self.commands_open = asyncio.Event()
        self.commands_open.set()
        self.commands_in_flight = 0
        self.submitted = 0
        self.chaos_seq = 0
        """Chaos events completed (processes back): a click sent before the latest one may have been lost."""
        self.bot_generation = 1
        self.clicks: list[Click] = []
        self.card_hook: Callable[[Click], Awaitable[None]] | None = None
        """Armed by the schedule: runs once, just before the first click on the next card (kills the worker)."""
        self.stopping = False
        self._changed = asyncio.Event()
        slack.add_listener(lambda _change: self.bump())

    def bump(self) -> None:
        """Something changed (Slack state, a process, a counter): wake everyone waiting on a condition."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, predicate: Callable[[], object], timeout_s: float | None) -> object:
        """predicate()'s first truthy value, re-checked on every change; None once `timeout_s` passed."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            value = predicate()
            if value:
                return value
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def next_change(self, timeout_s: float) -> None:
        """Return at the next change, or after `timeout_s` (the caller re-checks rules that depend on time)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_s)

    def answers(self, user: str, channel: str) -> list[str]:
        return [e.text for e in self.slack.ephemerals(user=user, channel=channel)]


@dataclass
class Person:
    """One requester-and-approver pair in one channel, for one task."""

    world: World
    channel: str
    agent: str
    task_id: str | None = None
    commands_sent: int = 0
    submitted_at: float | None = None
    finished_at: float | None = None
    notes: list[str] = field(default_factory=list)

    async def run(self) -> None:
        async with self.world.slots:
            if await self.submit():
                await self.see_it_through()

    async def submit(self) -> bool:
        """`/baton run` until the bot says which task it started (a command lost to a dead bot is typed again)."""
        world = self.world
        for _ in range(5):
            await world.commands_open.wait()
            await world.bot_up.wait()
            seen = len(world.answers(REQUESTER, self.channel))

            def new_answers(seen: int = seen) -> list[str]:
                return world.answers(REQUESTER, self.channel)[seen:]

            world.commands_in_flight += 1
            answer: object = None
            try:
                self.commands_sent += 1
                reply = await world.delivery.send_slash_command(f"run {self.agent} {REQUESTS[self.agent]}",
                                                                REQUESTER, self.channel)
                if reply.status == 200:
                    answer = await world.wait(new_answers, COMMAND_ANSWER_TIMEOUT_S)
                else:
                    self.notes.append(f"command answered HTTP {reply.status}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.notes.append(f"command not delivered: {type(exc).__name__}")
            finally:
                world.commands_in_flight -= 1
                world.bump()
            found = _TASK_ID.search(answer[0]) if isinstance(answer, list) else None
            if found:
                self.task_id = found.group(1)
                self.submitted_at = time.monotonic()
                world.submitted += 1
                world.bump()
                return True
            if answer:
                self.notes.append(f"command answer without a task: {answer!r}")
        return False

    async def see_it_through(self) -> None:
        world = self.world
        assert self.task_id is not None
        while not world.stopping:
            self._read_answers()
            parts = thread_messages(world.slack, self.channel, self.task_id)
            if parts.get("final"):
                self.finished_at = time.monotonic()
                return
            card = next((m for part, found in parts.items() if part.startswith("checkpoint:") for m in found
                         if "Approve" in buttons(m)), None)
            if card is not None and self._should_click(card):
                await self._click(card)
                continue
            await world.next_change(2.0)  # the timeout re-checks the rules that depend on time (patience)

    def _clicks_on(self, card_ts: str) -> list[Click]:
        return [c for c in self.world.clicks if c.channel == self.channel and c.card_ts == card_ts]

    def _should_click(self, card: Message) -> bool:
        world = self.world
        if not world.bot_up.is_set():
            return False
        clicks = self._clicks_on(card.ts)
        if not clicks:
            return True
        last, now = clicks[-1], time.monotonic()
        if last.kind in ("done", "ours"):
            return False
        if last.delivery_error is not None or (last.status is not None and last.status != 200):
            return True
        if last.answer is None:  # only a dead bot never answers; a live one may be waiting on Temporal for it
            return world.bot_generation > last.bot_generation or now - last.sent_at > PATIENCE_S
        assert last.answered_at is not None and last.chaos_seq_at_answer is not None
        return world.chaos_seq > last.chaos_seq_at_answer or now - last.answered_at > PATIENCE_S

    async def _click(self, card: Message) -> None:
        world = self.world
        assert self.task_id is not None
        first = not self._clicks_on(card.ts)
        click = Click(self.channel, self.task_id, card.ts, len(self._clicks_on(card.ts)) + 1, time.monotonic(),
                      world.bot_generation, world.chaos_seq, len(world.answers(APPROVER, self.channel)))
        value = next(e["value"] for b in card.blocks if b.get("type") == "actions" for e in b["elements"]
                     if e.get("action_id") == APPROVE)
        world.clicks.append(click)
        if first and world.card_hook is not None:
            hook, world.card_hook = world.card_hook, None
            await hook(click)
            click.bot_generation, click.chaos_seq = world.bot_generation, world.chaos_seq
        try:
            reply = await world.delivery.send_block_actions(user_id=APPROVER, action_id=APPROVE,
                                                            channel_id=self.channel, message_ts=card.ts, value=value)
            click.status = reply.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            click.delivery_error = type(exc).__name__
        world.bump()

    def _read_answers(self) -> None:
        """Attach each new private answer to the latest unanswered click sent before it: a person clicks again
        only once the earlier click is taken for lost, so the newest click is the one being answered."""
        mine = [c for c in self.world.clicks if c.channel == self.channel]
        claimed = {c.answer_index for c in mine if c.answer_index is not None}
        for index, text in enumerate(self.world.answers(APPROVER, self.channel)):
            if index in claimed:
                continue
            waiting = [c for c in mine if c.answer is None and c.answers_before <= index]
            if not waiting:
                break
            click = waiting[-1]
            click.answer, click.answer_index, click.kind = text, index, answer_kind(text)
            click.answered_at, click.chaos_seq_at_answer = time.monotonic(), self.world.chaos_seq
            self.world.bump()  # the schedule may be waiting for this answer
