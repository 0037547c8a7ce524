"""A short worker outage while the bot restarts must not close a pending approval card.

The sequence from the field: a card is posted; the bot process dies; a progress signal makes the workflow schedule
a `notify` for the thread; the worker process dies; a new bot process starts (and picks up that `notify`, with no
worker to answer the `status` query); then a worker starts again. Everything is a real process killed with
SIGKILL, against the real dev server and the fake Slack over HTTP; clicks are really signed requests.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from baton.devserver import DevServer
from baton.gateway import TaskGateway
from bot.decisions import BUSY
from bot.origin import SlackOrigin, task_request
from contracts import ApprovalPolicyV1, ProgressEventV1, TaskRequestV1, TaskStatusV1, utc_now
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, Message, SlackDelivery
from tests.hitl.conftest import REPO_ROOT, WorkerProcesses, worker_processes  # noqa: F401 - registers the fixture
from tests.support import eventually

CHANNEL = "C02OPS"
REQUESTER = "U02BOB"
APPROVER = "U01ALICE"
LISTENING = re.compile(r"listening on port (\d+)")


class BotProcess:
    """`python -m bot` in HTTP mode against the fake Slack, as its own process so a test can SIGKILL it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self._env = env
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.port: int | None = None

    async def start(self) -> BotProcess:
        self.log_path.write_bytes(b"")
        with open(self.log_path, "ab") as log:  # noqa: ASYNC230 - once per process start
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=REPO_ROOT, env=self._env, stdout=log, stderr=log)

        async with asyncio.timeout(60):  # polls the log; a process that exits fails at once, with its log
            while (found := LISTENING.search(self.log())) is None:
                if self.process.returncode is not None:
                    raise AssertionError(f"python -m bot exited ({self.process.returncode}): {self.log()[-2000:]}")
                await asyncio.sleep(0.1)
        self.port = int(found.group(1))
        return self

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no drain, exactly like a host that lost power."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def bot_processes(slack: FakeSlackApi, temporal_server: DevServer, notify_task_queue: str,
                  tmp_path: Path) -> Callable[[], Any]:
    """`async with bot_processes() as start: bot = await start()`; every bot started is killed at the end."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BATON_", "OPENAI_", "TEMPORAL_"))}
    env = {**keep, "PYTHONUNBUFFERED": "1", "SLACK_BOT_TOKEN": slack.bot_token,
           "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET, "SLACK_API_URL": slack.base_url,
           "BATON_HTTP_HOST": "127.0.0.1", "BATON_HTTP_PORT": "0", "BATON_SLACK_TEAM_ID": slack.team_id,
           "BATON_NOTIFY_TASK_QUEUE": notify_task_queue, "BATON_FRONT_AGENT": "grammar",
           "TEMPORAL_ADDRESS": temporal_server.address}

    @asynccontextmanager
    async def processes() -> AsyncIterator[Callable[[], Any]]:
        started: list[BotProcess] = []

        async def start() -> BotProcess:
            bot = BotProcess(env, tmp_path / f"bot-{len(started) + 1}.log")
            started.append(bot)
            return await bot.start()

        try:
            yield start
        finally:
            for bot in started:
                await bot.kill()
                print(f"--- {bot.log_path.name} ---\n{bot.log()[-4000:]}")  # shown when the test failed

    return processes


def labels(message: Message) -> list[str]:
    return [e["text"]["text"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def find_card(slack: FakeSlackApi, root: Message) -> Message | None:
    return next((m for m in slack.messages_in(CHANNEL, root.ts) if "Approve" in labels(m)), None)


def find_part(slack: FakeSlackApi, root: Message, part: str) -> Message | None:
    """The thread's message the notifier posted as `part` ("status", "final", "checkpoint:<id>")."""
    return next((m for m in slack.messages_in(CHANNEL, root.ts)
                 if m.metadata and m.metadata.get("event_payload", {}).get("part") == part), None)


async def answered(client: Client, task_id: str) -> TaskStatusV1:
    """The workflow's own `status`, which only a live worker can give (raises while none answers)."""
    return await client.get_workflow_handle(task_id).query("status", result_type=TaskStatusV1,
                                                         rpc_timeout=timedelta(seconds=2))


async def pending_notifies(client: Client, task_id: str) -> list[Any]:
    """The task's `notify` activities Temporal holds right now (scheduled, started, or waiting to retry)."""
    description = await client.get_workflow_handle(task_id).describe()
    return [a for a in description.raw_description.pending_activities if a.activity_type.name == "notify"]


def asking_request(slack: FakeSlackApi, root: Message, notify_task_queue: str) -> TaskRequestV1:
    """What the bot builds for a mention in `root`'s thread: a task whose one checkpoint only APPROVER may decide."""
    origin = SlackOrigin(team_id=slack.team_id, channel_id=CHANNEL, user_id=REQUESTER, identity_ts=root.ts,
                         thread_ts=root.ts)
    return task_request(origin, "diagnostic", "restart web-1 if it looks stuck", ApprovalPolicyV1(approvers=[APPROVER]),
                        notify_task_queue=notify_task_queue, parameters={"steps": 1, "ask": "Restart web-1?"})


async def test_a_worker_outage_during_a_bot_restart_leaves_the_card_live_and_the_approval_then_finishes_the_task(
        slack: FakeSlackApi, gateway: TaskGateway, notify_task_queue: str, worker_processes: WorkerProcesses,  # noqa: F811
        bot_processes: Callable[[], Any]) -> None:
    root = slack.post_user_message(CHANNEL, REQUESTER, "restart web-1 if it looks stuck")
    request = asking_request(slack, root, notify_task_queue)
    handle = gateway.client.get_workflow_handle(request.task_id)
    async with worker_processes() as start_worker, bot_processes() as start_bot:
        worker = await start_worker()
        first_bot = await start_bot()
        await gateway.submit(request, validate_agent=False)
        card = await slack.wait_for(lambda: find_card(slack, root), timeout=60)

        async def delivered() -> bool:
            status = await answered(gateway.client, request.task_id)
            return bool(status.slack.checkpoint_ts) and not await pending_notifies(gateway.client, request.task_id)

        await eventually(delivered, timeout=30)

        await first_bot.kill()
        await handle.signal("progress", ProgressEventV1(step=1, total=2, message="Still looking at web-1",
                                                        at=utc_now()))
        await eventually(lambda: pending_notifies(gateway.client, request.task_id), timeout=30)
        worker.kill()
        await worker.process.wait()  # type: ignore[union-attr]
        second_bot = await start_bot()

        async with SlackDelivery(DEFAULT_SIGNING_SECRET, second_bot.events_url, slack=slack) as sender:
            clicked = await sender.send_block_actions(user_id=APPROVER, action_id="baton.decide.accept",
                                                      channel_id=CHANNEL, message_ts=card.ts)
            assert clicked.status == 200
            [answer] = await slack.wait_for(lambda: slack.ephemerals(user=APPROVER), timeout=30)

            async def notify_tried() -> bool:
                """The new bot ran the held `notify` at least once without a worker to answer it."""
                if not labels(slack.message(CHANNEL, card.ts)):
                    return True
                return any(a.attempt >= 2 for a in await pending_notifies(gateway.client, request.task_id))

            await eventually(notify_tried, timeout=60)
            outage_card = slack.message(CHANNEL, card.ts)
            assert labels(outage_card) == ["Approve", "Respond", "Reject"], (
                f"the card lost its buttons during the outage: {outage_card.blocks}; the click got {answer.text!r}")
            assert "no longer pending" not in answer.text and answer.text == BUSY, answer.text

            await start_worker()
            await eventually(lambda: answered(gateway.client, request.task_id), timeout=60)
            # The notification held through the outage is delivered once a worker answers (Temporal retried it).
            await slack.wait_for(lambda: "Still looking at web-1" in str(getattr(find_part(slack, root, "status"),
                                                                                 "blocks", "")), 60)
            await sender.send_block_actions(user_id=APPROVER, action_id="baton.decide.accept", channel_id=CHANNEL,
                                            message_ts=card.ts)
            await slack.wait_for(lambda: len(slack.ephemerals(user=APPROVER)) == 2, timeout=30)
            approved = slack.ephemerals(user=APPROVER)[1].text
            assert approved.startswith("Done: you chose to approve"), approved
            result = await asyncio.wait_for(gateway.result(request.task_id), 60)
            assert result.outcome == "success" and "Answer received: True" in result.summary
            final = await slack.wait_for(lambda: find_part(slack, root, "final"), timeout=60)
            assert "Completed" in str(final.blocks)

    decided = slack.message(CHANNEL, card.ts)
    assert labels(decided) == [] and f"Approved by <@{APPROVER}>" in str(decided.blocks)
    before_approval = [c for c in slack.calls_to("chat.update") if c.args.get("ts") == card.ts
                       and "Approved by" not in str(c.args.get("blocks"))]
    assert all("Approve" in str(c.args.get("blocks")) for c in before_approval), "no edit ever closed the live card"
