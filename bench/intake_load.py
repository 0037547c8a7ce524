"""The load of `bench.intake`: which deliveries to send (commands, mentions, redeliveries), sending them signed with
a bounded number in flight, and reading back from the fake Slack what the people were answered.

A command is answered once: in its ack's body or through its response_url (a release may do either; an ack that
says "Queued" promises the answer for later, so it is counted apart). A mention is answered by the bot's messages
in its thread; every one beyond the first is a duplicate.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Literal

import aiohttp

from bench.intake_processes import Deployment
from sandbox import DEFAULT_SIGNING_SECRET, DeliveryResult, FakeSlackApi, SlackDelivery
from sandbox.payloads import app_mention_event

__all__ = ["Item", "Load", "LoadPlan", "run_load"]

USERS = ("U01ALICE", "U02BOB", "U03CAROL")
MENTION = "<@U0BATONBOT> hello, what can you do for me?"
"""Words the demo front model answers with its help text: a mention that starts no task, so the tasks started count
the commands alone."""
Kind = Literal["command", "mention"]
QUEUED = "Queued"
"""How an ack starts when Temporal took longer than the intake budget (the answer follows through the response_url)."""
_plans = itertools.count(1)


@dataclass(frozen=True)
class Item:
    """One person's request: delivered to `pin` (None: the proxy's turn), and again to `redeliver_to` if set."""

    kind: Kind
    index: int
    channel: str
    pin: int | None = None
    redeliver_to: int | None = None


@dataclass(frozen=True)
class LoadPlan:
    commands: int
    mentions: int
    redeliveries: int
    concurrency: int
    replicas: int
    channel: str
    pin_each: bool = False
    """Send item i to replica i % replicas (the warm-up reaches each one for sure)."""

    def items(self) -> list[Item]:
        """Commands and mentions alternate; every k-th mention is redelivered, its two deliveries pinned to two
        different replicas (the rest go round the replicas through the proxy)."""
        if self.pin_each:
            return [Item(kind, i, self.channel, i % self.replicas) for i in range(self.commands)
                    for kind in ("command", "mention")]
        step = max(1, self.mentions // self.redeliveries) if self.redeliveries else 0
        mentions = []
        for i in range(self.mentions):
            again = bool(step) and i % step == 0 and i // step < self.redeliveries
            pin = (i // step) % self.replicas if again else None
            mentions.append(Item("mention", i, self.channel, pin, (pin + 1) % self.replicas if pin is not None
                                 else None))
        commands = [Item("command", i, self.channel) for i in range(self.commands)]
        mixed = [x for pair in itertools.zip_longest(commands, mentions) for x in pair if x is not None]
        return mixed

    def warm_up(self, channel: str) -> LoadPlan:
        """One command and one mention to each replica (connections, caches, the first auth.test), unmeasured."""
        return LoadPlan(self.replicas, self.replicas, 0, self.replicas, self.replicas, channel, pin_each=True)


@dataclass
class Load:
    plan: LoadPlan
    items: list[Item] = field(default_factory=list)
    sent: list[tuple[str, float, int | str]] = field(default_factory=list)
    """(kind: command / mention / redelivery, ack ms, HTTP status or the client error)."""
    command_acks: list[str] = field(default_factory=list)
    mention_ts: dict[int, str] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: f"{next(_plans):02d}")

    def __post_init__(self) -> None:
        self.items = self.plan.items()

    kinds = ("command", "mention", "redelivery")

    @property
    def statuses(self) -> list[int | str]:
        return [status for _, _, status in self.sent]

    def latencies(self, kind: str | None = None) -> list[float]:
        return [ms for k, ms, status in self.sent if status == 200 and (kind is None or k == kind)]

    def _queued(self) -> int:
        return sum(1 for body in self.command_acks if _ack_text(body).startswith(QUEUED))

    def _command_answers(self, slack: FakeSlackApi) -> list[str]:
        in_acks = [text for text in (_ack_text(body) for body in self.command_acks)
                   if text and not text.startswith(QUEUED)]
        by_url = [e.text for e in slack.ephemerals(channel=self.plan.channel) if e.via_response_url]
        return in_acks + by_url

    def _replies(self, slack: FakeSlackApi) -> dict[int, int]:
        """Bot messages in each mention's thread."""
        return {i: sum(1 for m in slack.messages_in(self.plan.channel, ts) if m.bot_id)
                for i, ts in self.mention_ts.items()}

    def all_answered(self, slack: FakeSlackApi) -> bool:
        replies = self._replies(slack)
        return (len(self._command_answers(slack)) >= self.plan.commands and len(replies) == self.plan.mentions
                and all(replies.values()))

    def tally(self, slack: FakeSlackApi) -> dict[str, object]:
        answers = self._command_answers(slack)
        failures = [text for text in answers if not text.startswith("Started")]
        replies = self._replies(slack)
        extra_command_answers = max(0, len(answers) - self.plan.commands)
        return {
            "command_answers": len(answers),
            "command_acks_queued": self._queued(),
            "command_failures": len(failures),
            "command_failure_examples": [text[:200] for text in failures[:5]],
            "mention_replies": sum(replies.values()),
            "mentions_unanswered": sum(1 for n in replies.values() if n == 0),
            "mentions_answered_twice_or_more": sum(1 for n in replies.values() if n > 1),
            "duplicate_replies": sum(max(0, n - 1) for n in replies.values()) + extra_command_answers,
            "replies_per_mention": dict(sorted(Counter(replies.values()).items())),
        }


def _ack_text(body: str) -> str:
    if not body:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    return str(parsed.get("text") or "") if isinstance(parsed, dict) else ""


async def run_load(load: Load, slack: FakeSlackApi, running: Deployment) -> None:
    """Send every item of `load`, `concurrency` at a time, recording each delivery's ack time and status."""
    proxy = f"http://127.0.0.1:{running.proxy_port}"
    spread = SlackDelivery(DEFAULT_SIGNING_SECRET, f"{proxy}/slack/events", slack=slack, timeout=30)
    pinned = [SlackDelivery(DEFAULT_SIGNING_SECRET, f"{proxy}/replica/{i}/slack/events", slack=slack, timeout=30)
              for i in range(len(running.bots))]
    queue = iter(load.items)

    async def timed(kind: str, send: Awaitable[DeliveryResult]) -> str:
        started = time.perf_counter()
        try:
            result = await send
        except (aiohttp.ClientError, TimeoutError) as exc:  # counted, never raised: the run goes on
            load.sent.append((kind, (time.perf_counter() - started) * 1000, type(exc).__name__))
            return ""
        load.sent.append((kind, (time.perf_counter() - started) * 1000, result.status))
        return result.body

    async def sender() -> None:
        for item in queue:
            delivery = spread if item.pin is None else pinned[item.pin]
            user = USERS[item.index % len(USERS)]
            if item.kind == "command":
                load.command_acks.append(await timed("command", delivery.send_slash_command(
                    f"run diagnostic bench intake {item.index}", user, item.channel)))
                continue
            event_id = f"EvINTAKE{load.tag}X{item.index:05d}"
            message = slack.post_user_message(item.channel, user, MENTION)  # the person writes, then Slack delivers
            load.mention_ts[item.index] = message.ts
            event = app_mention_event(user, item.channel, MENTION, ts=message.ts, team=slack.team_id)
            await timed("mention", delivery.send_event(event, event_id=event_id))
            if item.redeliver_to is not None:
                await timed("redelivery", pinned[item.redeliver_to].send_event(
                    event, event_id=event_id, retry_num=1, retry_reason="http_timeout"))

    try:
        async with asyncio.timeout(900):
            await asyncio.gather(*(sender() for _ in range(load.plan.concurrency)))
    finally:
        for delivery in (spread, *pinned):
            await delivery.close()
