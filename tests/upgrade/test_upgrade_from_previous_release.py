"""Tasks started on the previous release (releases.toml) finish on today's code: the old release's worker and
gateway start them from the old tree, the old worker stops (drained, or SIGKILLed mid-`run_agent`), today's worker
takes the same task queue and checkpoint store, and the task completes with the right result. This proves that
today's workflow code replays the old release's histories live, reads its payloads and resumes its LangGraph
checkpoints. Today's bot serves the thread throughout (its notify activity takes the old workflow's calls too); the
old release's bot is not run: its `/baton run` did what `old_submit` does, a TaskRequestV1 through its gateway.
"""

from __future__ import annotations

import re
import signal
import uuid
from pathlib import Path

from baton.gateway import TaskGateway
from bot.runtime import BotRuntime
from contracts import DecisionV1, TaskStatusV1, utc_now
from sandbox import FakeSlackApi
from tests.conftest import WorkerFactory
from tests.support import status_when
from tests.upgrade.old_release import OldWorker, old_env, old_submit
from workers.checkpointer import open_checkpointer
from workers.config import WorkerSettings

CHANNEL = "C02OPS"
STEP_DONE = re.compile(r"Step (\d+) of \d+ done")


def old_settings(settings: WorkerSettings) -> dict[str, str]:
    """The old worker on this test's queue and checkpoint file, with the test fixtures' quick timings."""
    return {
        "BATON_TASK_QUEUE": settings.task_queue,
        "BATON_CHECKPOINTER": settings.checkpointer,
        "BATON_HEARTBEAT_THROTTLE_S": "0.5",
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


async def test_a_task_waiting_at_a_checkpoint_on_the_previous_release_is_approved_and_completes_on_todays_code(
    old_tree: Path, worker_settings: WorkerSettings, gateway: TaskGateway, agent_worker: WorkerFactory,
    slack: FakeSlackApi, bot: BotRuntime, notify_task_queue: str, tmp_path: Path,
) -> None:
    env = old_env(old_tree, worker_settings.temporal_address, **old_settings(worker_settings))
    root = slack.post_user_message(CHANNEL, "U02BOB", "/baton run ops_audit audit the web tier")
    requester = {"platform": "slack", "team_id": slack.team_id, "user_id": "U02BOB", "channel_id": CHANNEL,
                 "thread_ts": root.ts, "notify_task_queue": notify_task_queue}
    async with OldWorker(old_tree, env, tmp_path / "old-worker.log") as old:
        task_id = await old_submit(
            old_tree, env, worker_settings.task_queue, agent="ops_audit", text="audit the web tier",
            requester=requester, approval={"approvers": ["U01ALICE"]}, idempotency_key=f"upgrade:{uuid.uuid4()}",
        )
        waiting = await status_when(gateway, task_id, lambda s: s.pending_checkpoint is not None
                                    and s.slack.status_ts is not None and bool(s.slack.checkpoint_ts))
        assert await old.stop() == 0, old.output()
    checkpoint = waiting.pending_checkpoint
    assert checkpoint is not None and checkpoint.proposed_action is not None
    status_ts = waiting.slack.status_ts
    assert waiting.events and not any(e.plan for e in waiting.events), "0.1.0's progress events carry no plan"

    async with agent_worker():
        outcome = await gateway.decide(task_id, DecisionV1(checkpoint_id=checkpoint.id, decision="accept",
                                                           by="U01ALICE", at=utc_now()))
        assert outcome.outcome == "decided", outcome
        result = await gateway.result(task_id)
        final = await status_when(gateway, task_id, lambda s: s.slack.final_ts is not None)

    steps = checkpoint.proposed_action.args["steps"]
    assert result.outcome == "success" and steps
    assert f"Applied {len(steps)} remediation step(s)." in result.summary, result.summary
    assert [(d.decision, d.by) for d in final.decisions] == [("accept", "U01ALICE")]
    # One status message: the one the old release posted, edited by today's code, beside the card and the result.
    assert final.slack.status_ts == status_ts
    thread = slack.messages_in(CHANNEL, root.ts)
    posts = [m.ts for m in thread if not m.files]  # the rest are the result's artifacts, uploaded as files
    card_ts = final.slack.checkpoint_ts[checkpoint.id]
    assert posts == [status_ts, card_ts, final.slack.final_ts], [m.text for m in thread]
    assert "Approved by <@U01ALICE>" in str(slack.message(CHANNEL, card_ts).blocks)


async def test_a_task_killed_mid_run_agent_on_the_previous_release_resumes_on_todays_code_without_rework(
    old_tree: Path, worker_settings: WorkerSettings, gateway: TaskGateway, agent_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    env = old_env(old_tree, worker_settings.temporal_address, **old_settings(worker_settings))
    async with OldWorker(old_tree, env, tmp_path / "old-worker.log") as old:
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

    async with agent_worker():
        result = await gateway.result(task_id)
        final: TaskStatusV1 = await gateway.status(task_id)

    assert result.outcome == "success"
    assert result.summary.startswith("Diagnostic finished 8 step(s) for: upgrade under load"), result.summary
    resumed = {int(m[1]) for e in final.events if e.attempt > 1 and (m := STEP_DONE.match(e.message))}
    assert resumed, f"the new worker never took the task over: {final.events}"
    assert min(resumed) == done_by_old + 1, f"{done_by_old} steps were checkpointed; the new run did {sorted(resumed)}"
    assert not any(e.plan for e in final.events if e.attempt == 1), "0.1.0's progress events carry no plan"
