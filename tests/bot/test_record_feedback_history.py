"""Records the replay history of a TaskFeedbackWorkflow run, `feedback_rated_then_idle_closed`, into the release in
development's set (tests/histories/<version>/, `make histories`): a click recorded by signal while no worker ran,
then clicks by update (a first rating, the signalled click again, the same rating again, a changed one), then the
run closing for idleness. Skipped unless BATON_RECORD_HISTORIES=1; tests/hitl/test_replay.py replays every recorded
history on every run."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from baton.feedback import FeedbackQueued, TaskFeedback
from baton.releases import current_release, history_dir
from contracts import names
from contracts.feedback import FeedbackRating, FeedbackV1, TaskFeedbackV1
from workers.workflow.feedback_workflow import IDLE_CLOSE, TaskFeedbackWorkflow

pytestmark = pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1", reason="set BATON_RECORD_HISTORIES=1 to re-record histories"
)
HISTORY = history_dir(current_release()) / "feedback_rated_then_idle_closed.json"


def click(by: str, rating: FeedbackRating, click_id: str) -> FeedbackV1:
    return FeedbackV1(by=by, rating=rating, click_id=click_id)


async def test_record_feedback_history(time_skipping_env: WorkflowEnvironment, task_queue: str) -> None:
    client = time_skipping_env.client
    feedback = TaskFeedback(client, task_queue, update_wait_s=0.5)
    queued = await feedback.rate("t-rec", "diagnostic", click("U01ALICE", "positive", "a"))
    assert isinstance(queued, FeedbackQueued)
    async with Worker(client, task_queue=task_queue, workflows=[TaskFeedbackWorkflow]):
        outcomes = [await feedback.rate("t-rec", "diagnostic", c) for c in (
            click("U03CAROL", "negative", "b"), click("U01ALICE", "positive", "a"),
            click("U01ALICE", "positive", "c"), click("U03CAROL", "positive", "d"))]
        assert [getattr(o, "outcome", None) for o in outcomes] == ["recorded", "duplicate", "unchanged", "changed"]
        await time_skipping_env.sleep(IDLE_CLOSE + timedelta(days=1))
        handle = client.get_workflow_handle(names.feedback_workflow_id("t-rec"), result_type=TaskFeedbackV1)
        closed = await handle.result()
        assert {(r.by, r.rating) for r in closed.ratings} == {("U01ALICE", "positive"), ("U03CAROL", "positive")}
        history = await handle.fetch_history()
    HISTORY.parent.mkdir(parents=True, exist_ok=True)
    HISTORY.write_text(history.to_json(), encoding="utf-8")
