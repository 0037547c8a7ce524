"""The fake Slack for chaos runs: `sandbox.FakeSlackApi` that can hold one Web API call in mid-air, and readers
of a task's thread.

A hold is the deterministic moment to kill the bot: the bot is blocked inside a known call (the answer to a click,
the post of a final message), so a SIGKILL lands exactly between two known steps instead of "about then".

    hold = slack.hold("chat.postEphemeral", lambda args: args.get("user") == "U01ALICE")
    await hold.arrived.wait()          # the bot has decided and is answering
    await bot.kill()
    hold.release(deliver=False)        # the answer never reached Slack
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox import FakeSlackApi, Message

__all__ = ["Hold", "HoldingSlack", "buttons", "part_of", "task_of", "thread_messages"]

_ARGS: web.RequestKey[dict[str, Any]] = web.RequestKey("chaos_hold_args", dict)
Match = Callable[[dict[str, Any]], bool]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Hold:
    """One Web API call to stop in mid-air: the first call of `method` whose arguments `match`.

    `after_apply=False` holds it before Slack acts (released with deliver=False, Slack never saw it);
    `after_apply=True` lets Slack act (the message is posted) and holds only the response, so the caller never learns
    the outcome (the case a retried notify has to recover from)."""

    def __init__(self, method: str, match: Match | None, after_apply: bool) -> None:
        self.method = method
        self.match = match
        self.after_apply = after_apply
        self.arrived = asyncio.Event()
        self.args: dict[str, Any] = {}
        self._released = asyncio.Event()
        self._deliver = True

    def wants(self, method: str, args: dict[str, Any]) -> bool:
        return not self.arrived.is_set() and method == self.method and (self.match is None or self.match(args))

    def release(self, *, deliver: bool = True) -> None:
        """Let the call go on; deliver=False answers it with an error without applying it (before_apply only)."""
        self._deliver = deliver
        self._released.set()


class HoldingSlack(FakeSlackApi):
    """FakeSlackApi plus `hold()`: an aiohttp middleware in front of the fake's own handler (nothing else changes)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._holds: list[Hold] = []
        """Armed holds, waiting for their call."""
        self._every_hold: list[Hold] = []
        self.app.middlewares.append(self._hold_middleware)

    async def __aenter__(self) -> HoldingSlack:
        await self.start()
        return self

    def hold(self, method: str, match: Match | None = None, *, after_apply: bool = False) -> Hold:
        found = Hold(method, match, after_apply)
        self._holds.append(found)
        self._every_hold.append(found)
        return found

    def drop(self, hold: Hold) -> None:
        """Disarm a hold whose call never came (a held call stays held until released)."""
        if hold in self._holds:
            self._holds.remove(hold)

    def release_all(self) -> None:
        """Let every armed or held call go (at the end of a run, so nothing waits on a hold nobody will release)."""
        for held in self._every_hold:
            held.release()
        self._holds.clear()
        self._every_hold.clear()

    async def _read_args(self, request: web.Request) -> dict[str, Any]:
        """The fake's own parsing, done once: after the middleware read the body, aiohttp reports no body left to
        read, so the fake's handler gets the arguments the middleware kept on the request."""
        if _ARGS in request:
            kept: dict[str, Any] = request[_ARGS]
            return dict(kept)
        return await super()._read_args(request)

    @web.middleware
    async def _hold_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        method = request.match_info.get("method")
        if not method or not self._holds:
            return await handler(request)
        args = await self._read_args(request)
        request[_ARGS] = args
        held = next((h for h in self._holds if h.wants(method, args)), None)
        if held is None:
            return await handler(request)
        held.args = args
        self._holds.remove(held)
        if held.after_apply:
            response = await handler(request)
            held.arrived.set()
            await held._released.wait()
            return response
        held.arrived.set()
        await held._released.wait()
        if not held._deliver:
            return web.json_response({"ok": False, "error": "request_dropped_by_chaos_hold"}, status=503)
        return await handler(request)


# Reading a task's thread ---------------------------------------------------------------------------------------------

def _payload(message: Message) -> dict[str, Any]:
    return (message.metadata or {}).get("event_payload") or {}


def part_of(message: Message) -> str | None:
    """What the bot says a message is: "status", "final" or "checkpoint:<id>" (from the metadata it posts with)."""
    part = _payload(message).get("part")
    return str(part) if part else None


def task_of(message: Message) -> str | None:
    task = _payload(message).get("task_id")
    return str(task) if task else None


def buttons(message: Message) -> list[str]:
    """The labels of a message's buttons (a pending card has Approve / Edit / ...; a decided one has none)."""
    return [e.get("text", {}).get("text", "") for b in message.blocks if b.get("type") == "actions"
            for e in b.get("elements", [])]


def thread_messages(slack: FakeSlackApi, channel: str, task_id: str) -> dict[str, list[Message]]:
    """Every message the bot posted for `task_id` in `channel`, by part (thread root included)."""
    parts: dict[str, list[Message]] = {}
    for message in slack.messages_in(channel):
        if task_of(message) == task_id and message.bot_id:
            parts.setdefault(part_of(message) or "?", []).append(message)
    return parts
