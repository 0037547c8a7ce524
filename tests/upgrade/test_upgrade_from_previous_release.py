"""Tasks started on the previous release (releases.toml) finish on today's code. The old release's worker, bot and
gateway run from the old tree; the old worker stops (drained at a checkpoint, or SIGKILLed mid-`run_agent`), today's
worker takes the same task queue and checkpoint store, today's bot the same notify queue, and the task completes with
the right result. This proves that today's workflow code replays the old release's histories live and reads its
payloads, that today's runner resumes its LangGraph checkpoints, and that today's bot edits the messages the old bot
posted and takes clicks on its cards. The task is started as the old bot's `/baton run` would: a TaskRequestV1
through the old gateway.
"""

from __future__ import annotations

import re
import signal
import uuid
from pathlib import Path

from temporalio.client import Client

from baton.gateway import TaskGateway
from bot.runtime import BotRuntime
from bot.settings import BotSettings
from contracts import TaskStatusV1
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from tests.conftest import WorkerFactory
from tests.support import status_when
from tests.upgrade.old_release import OldProcess, old_env, old_submit
from workers.checkpointer import open_checkpointer
from workers.config import WorkerSettings

CHANNEL = "C02OPS"
STEP_DONE = re.compile(r"Step (\d+) of \d+ done")


def old_bot_settings(settings: BotSettings) -> dict[str, str]:
    """The old bot on this test's fake Slack and notify queue, in HTTP mode with the `/baton` grammar only."""
    return {
        "SLACK_BOT_TOKEN": settings.slack_bot_token.get_secret_value(),
        "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
        "SLACK_API_URL": settings.slack_api_url,
        "BATON_SLACK_TEAM_ID": settings.baton_slack_team_id or "",
        "BATON_HTTP_HOST": "127.0.0.1",
        "BATON_HTTP_PORT": "0",
        "BATON_NOTIFY_TASK_QUEUE": settings.baton_notify_task_queue,
        "BATON_FRONT_AGENT": "grammar",
    }


def old_settings(settings: WorkerSettings) -> dict[str, str]:
    """The old worker on this test's queue and checkpoint file, with the test fixtures' quick timings."""
    return {
        "BATON_TASK_QUEUE": settings.task_queue,
        "BATON_CHECKPOINTER": settings.checkpointer,
        "BATON_HEARTBEAT_THROTTLE_S": "0.5", "BATON_HEARTBEAT_INTERVAL_S": "0.5",
        "BATON_STICKY_QUEUE_TIMEOUT_S": "1",
        "BATON_PROGRESS_INTERVAL_S": "0.05",
        "BATON_DRAIN_TIMEOUT_S": "5",
    }


async def steps_checkpointed(checkpointer: str, task_id: str) -> int:
    """How many diagnostic steps the task's LangGraph checkpoint holds, counting a finished step's saved writes that
    no checkpoint has closed yet (a resume applies them): the work no worker may redo."""
    async with open_checkpointer(checkpointer) as saver:
        saved = await saver.aget_tuple({"configurable": {"thread_id": task_id}})
    assert saved is not None, "no checkpoint was written"
    pending = [int(value) for _, channel, value in saved.pending_writes or [] if channel == "done"]
    return max([int(saved.checkpoint["channel_values"].get("done", 0)), *pending])


async def test_a_task_waiting_at_a_checkpoint_on_the_previous_release_is_approved_in_slack_and_completes_on_todays_code(
    old_tree: Path, worker_settings: WorkerSettings, gateway: TaskGateway, agent_worker: WorkerFactory,
    slack: FakeSlackApi, bot_settings: BotSettings, temporal_client: Client, tmp_path: Path,
) -> None:
    env = old_env(old_tree, worker_settings.temporal_address, **old_settings(worker_settings))
    bot_env = {**env, **old_bot_settings(bot_settings)}
    root = slack.post_user_message(CHANNEL, "U02BOB", "/baton run ops_audit audit the web tier")
    requester = {"platform": "slack", "team_id": slack.team_id, "user_id": "U02BOB", "channel_id": CHANNEL,
                 "thread_ts": root.ts, "notify_task_queue": bot_settings.baton_notify_task_queue}
    async with (OldProcess(old_tree, env, tmp_path / "old-worker.log") as old,
                OldProcess(old_tree, bot_env, tmp_path / "old-bot.log", "bot", "listening on port") as old_bot):
        task_id = await old_submit(
            old_tree, env, worker_settings.task_queue, agent="ops_audit", text="audit the web tier",
            requester=requester, approval={"approvers": ["U01ALICE"]}, idempotency_key=f"upgrade:{uuid.uuid4()}",
        )
        waiting = await status_when(gateway, task_id, lambda s: s.pending_checkpoint is not None
                                    and s.slack.status_ts is not None and bool(s.slack.checkpoint_ts))
        assert await old.stop() == 0, old.output()
        assert await old_bot.stop() == 0, old_bot.output()
    checkpoint = waiting.pending_checkpoint
    assert checkpoint is not None and checkpoint.proposed_action is not None
    assert waiting.events and not any(e.plan for e in waiting.events), "0.1.0's progress events carry no plan"
    status_ts, card_ts = waiting.slack.status_ts, waiting.slack.checkpoint_ts[checkpoint.id]

    async with (agent_worker(), BotRuntime(bot_settings, temporal_client, agents_task_queue=worker_settings.task_queue)
                as bot, SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as alice):
        # Alice approves on the card the old bot posted: today's bot reads its button, today's worker resumes.
        clicked = await alice.send_block_actions(user_id="U01ALICE", action_id="baton.decide.accept",
                                                 channel_id=CHANNEL, message_ts=card_ts)
        assert clicked.status == 200, clicked
        result = await gateway.result(task_id)
        final = await status_when(gateway, task_id, lambda s: s.slack.final_ts is not None)

    steps = checkpoint.proposed_action.args["steps"]
    assert result.outcome == "success" and steps
    assert f"Applied {len(steps)} remediation step(s)." in result.summary, result.summary
    assert [(d.decision, d.by) for d in final.decisions] == [("accept", "U01ALICE")]
    # One status message: the one the old bot posted, edited by today's, beside the card and the result.
    assert final.slack.status_ts == status_ts and final.slack.checkpoint_ts[checkpoint.id] == card_ts
    thread = slack.messages_in(CHANNEL, root.ts)
    posts = [m.ts for m in thread if not m.files]  # the rest are the result's artifacts, uploaded as files
    assert posts == [status_ts, card_ts, final.slack.final_ts], [m.text for m in thread]
    assert "Approved by <@U01ALICE>" in str(slack.message(CHANNEL, card_ts).blocks)


async def test_a_task_killed_mid_run_agent_on_the_previous_release_resumes_on_todays_code_without_rework(
    old_tree: Path, worker_settings: WorkerSettings, gateway: TaskGateway, agent_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    env = old_env(old_tree, worker_settings.temporal_address, **old_settings(worker_settings))
    async with OldProcess(old_tree, env, tmp_path / "old-worker.log") as old:
        task_id = await old_submit(
            old_tree, env, worker_settings.task_queue, agent="diagnostic", text="upgrade under load",
            parameters={"steps": 8, "step_seconds": 0.3}, requester={"platform": "cli", "user_id": "U_OPERATOR"},
            execution={"heartbeat_timeout_s": 2, "initial_retry_interval_s": 0.2},
            idempotency_key=f"upgrade:{uuid.uuid4()}",
        )
        await status_when(gateway, task_id, lambda s: s.progress.step >= 3)
        assert await old.stop(signal.SIGKILL) == -signal.SIGKILL
    done_by_old = await steps_checkpointed(worker_settings.checkpointer, task_id)
    assert done_by_old >= 2, "the old worker died before it finished a step"

    async with agent_worker(progress_signals="always"):  # every step in the status: the assertions read them
        result = await gateway.result(task_id)
        final: TaskStatusV1 = await gateway.status(task_id)

    assert result.outcome == "success"
    assert result.summary.startswith("Diagnostic finished 8 step(s) for: upgrade under load"), result.summary
    resumed = {int(m[1]) for e in final.events if e.attempt > 1 and (m := STEP_DONE.match(e.message))}
    assert resumed, f"the new worker never took the task over: {final.events}"
    assert min(resumed) == done_by_old + 1, f"{done_by_old} steps were checkpointed; the new run did {sorted(resumed)}"
    assert not any(e.plan for e in final.events if e.attempt == 1), "0.1.0's progress events carry no plan"
