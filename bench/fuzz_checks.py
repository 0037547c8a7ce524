"""The fuzzer's real deliveries, signed as Slack signs them: before the attack, that the bot answers and a real task
is waiting for a decision (so forged buttons can point at it); after it, that a real `/baton run` still starts a
task and the task finishes."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from typing import Any

import aiohttp

from bench.fuzz_kinds import KINDS, Target, encode
from bench.fuzz_stack import System
from bench.fuzz_wire import Mutation, signed_headers
from bot.blocks.ids import ButtonRef
from sandbox import SlackDelivery

__all__ = ["final_check", "prepare"]

_STARTED = re.compile(r"Started `(?P<task>[^`]+)`")
_MADE_UP = ButtonRef("diagnostic-0123456789ab", "cp-made-up")


def _started_since(system: System, count: int, user: str, channel: str) -> str | None:
    for eph in system.slack.ephemerals(user=user, channel=channel)[count:]:
        match = _STARTED.search(eph.text or "")
        if match:
            return match["task"]
    return None


async def _run_command(system: System, text: str, user: str, channel: str,
                       timeout_s: float) -> tuple[int, float, str | None]:
    """Send `/baton <text>`; (HTTP status, ack ms, the started task id or None)."""
    seen = len(system.slack.ephemerals(user=user, channel=channel))
    async with SlackDelivery(system.signing_secret, system.events_url, slack=system.slack) as delivery:
        started = time.perf_counter()
        answer = await delivery.send_slash_command(text, user, channel)
        ack_ms = (time.perf_counter() - started) * 1000
    try:
        task = await system.slack.wait_for(lambda: _started_since(system, seen, user, channel), timeout=timeout_s)
    except TimeoutError:
        task = None
    return answer.status, round(ack_ms, 1), task


async def _wait_phase(system: System, task_id: str, phases: set[str], timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    status = None
    while time.monotonic() < deadline:
        try:
            status = await system.gateway.status(task_id)
            if status.phase in phases:
                return status
        except Exception:  # not visible yet
            pass
        await asyncio.sleep(0.3)
    return status


async def prepare(system: System) -> tuple[Target, dict[str, Any]]:
    """The target the mutations address, and what the preflight saw (all of it must pass before fuzzing)."""
    help_status, help_ms, _ = await _run_command(system, "help", "U01ALICE", "C01GENERAL", timeout_s=0.1)
    refs = [_MADE_UP]
    status, _, task = await _run_command(system, "run ops_audit check the web fleet", "U01ALICE", "C01GENERAL",
                                         timeout_s=60)
    real: dict[str, Any] = {"http_status": status, "task_id": task}
    if task is not None:
        waiting = await _wait_phase(system, task, {"waiting_for_human"}, timeout_s=90)
        checkpoint = waiting.pending_checkpoint if waiting is not None else None
        real["phase"] = waiting.phase if waiting is not None else None
        if checkpoint is not None:
            refs.insert(0, ButtonRef(task, checkpoint.id))
            real["checkpoint_id"] = checkpoint.id
    slack = system.slack
    target = Target(team_id=slack.team_id, team_domain=slack.workspace.team_domain, app_id=slack.workspace.app_id,
                    bot_user_id=slack.bot_user_id, users=("U01ALICE", "U02BOB", "U03CAROL"),
                    channels=("C01GENERAL", "C02OPS"),
                    response_url=lambda channel, user: slack.response_url(channel, user),
                    trigger=slack.issue_trigger, task_refs=tuple(refs))
    baseline = {}
    async with aiohttp.ClientSession() as session:
        for kind in KINDS:
            body, ctype = encode(kind.wire, kind.build(target, random.Random(kind.name)))
            headers = signed_headers(Mutation("baseline", body, ctype), system.signing_secret, time.time())
            async with session.post(system.events_url, data=body, headers=headers) as response:
                baseline[kind.name] = response.status
    return target, {"help": {"http_status": help_status, "ack_ms": help_ms}, "real_task": real,
                    "unmutated_kinds": baseline}


async def final_check(system: System, timeout_s: float = 120) -> dict[str, Any]:
    """A real signed `/baton run diagnostic ...` after the attack: it must be acked, start, and finish."""
    text = f"fuzz final check {uuid.uuid4().hex[:8]}"
    status, ack_ms, task = await _run_command(system, f"run diagnostic {text}", "U02BOB", "C02OPS", timeout_s=30)
    result: dict[str, Any] = {"command": f"/baton run diagnostic {text}", "http_status": status, "ack_ms": ack_ms,
                              "task_id": task, "phase": None, "finished_s": None, "slack_messages_about_task": 0}
    if task is None:
        return {**result, "ok": False}
    started = time.monotonic()
    final = await _wait_phase(system, task, {"completed", "failed", "cancelled", "timed_out"}, timeout_s)
    result["phase"] = final.phase if final is not None else None
    result["finished_s"] = round(time.monotonic() - started, 1)
    result["request_text_matches"] = final is not None and final.request_text == text
    # The thread shows it: the bot's notify activity posted or edited messages naming the task.
    def about_task() -> list[Any]:
        return [c for c in system.slack.calls if c.method in ("chat.postMessage", "chat.update") and c.ok
                and task in json.dumps(c.args, default=str)]

    try:
        calls = await system.slack.wait_for(about_task, timeout=15)
    except TimeoutError:
        calls = []
    result["slack_messages_about_task"] = len(calls)
    result["ok"] = status == 200 and result["phase"] == "completed" and bool(calls)
    return result
