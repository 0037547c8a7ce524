"""Long tasks stay small: AgentWorkflow continues as new once a run's history is long, between checkpoints, and the
person sees no difference (issue #11 item 4).

On the dev server with stand-ins registered under the real activity names: a `run_agent` that reports progress and
interrupts at cp-1 ... cp-N, then completes, and a `notify` that plays the bot (it posts the status message once and
a card per checkpoint, and records every call). The test decides every checkpoint through the gateway, as the bot and
the CLI do, and reads the chain of runs back from Temporal.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from pydantic_core import to_json
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import CancelledError
from temporalio.worker import Worker

from baton.audit import task_decisions
from baton.gateway import TaskGateway
from contracts import (
    CancellationV1,
    CheckpointV1,
    DecisionV1,
    ExecutionOptionsV1,
    NotifyInputV1,
    NotifyResultV1,
    ProgressEventV1,
    RunAgentInputV1,
    RunAgentOutputV1,
    TaskContinuationV1,
    TaskRequestV1,
    TaskResultV1,
    TaskStatusV1,
    UsageV1,
    utc_now,
)
from contracts.names import AGENT_ATTRIBUTE, PHASE_ATTRIBUTE, PROGRESS_SIGNAL, REQUEST_MEMO, STATUS_QUERY
from tests.support import eventually, make_request
from workers.workflow.agent_workflow import CONTINUE_AS_NEW, AgentWorkflow
from workers.workflow.continuation import MAX_EVENTS_PER_RUN
from workers.workflow.ledger import TaskLedger

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
CONTINUED_HISTORY = HISTORIES / "continued_as_new.json"
USAGE_PER_CALL = UsageV1(llm_calls=1, input_tokens=10, output_tokens=2)


@dataclass
class LongAgent:
    """The stand-ins: an agent with `checkpoints` checkpoints, and a bot that remembers what it was asked."""

    client: Client
    checkpoints: int
    notes: list[tuple[str, NotifyInputV1]] = field(default_factory=list)
    """(the workflow run that asked, what it asked) for every notify call."""
    status_posts: int = 0

    @activity.defn(name="run_agent")
    async def run_agent(self, agent_input: RunAgentInputV1) -> RunAgentOutputV1:
        """Resumed after cp-k, it goes on to cp-(k+1), or completes after the last, reporting progress on the way."""
        done = 0 if agent_input.resume is None else int(agent_input.resume.checkpoint.id.removeprefix("cp-"))
        if done >= self.checkpoints:
            result = TaskResultV1(outcome="success", summary=f"{done} checkpoints decided")
            return RunAgentOutputV1(kind="completed", result=result, usage=USAGE_PER_CALL)
        step = done + 1
        event = ProgressEventV1(step=step, total=self.checkpoints, message=f"step {step}", at=utc_now())
        await self.client.get_workflow_handle(agent_input.request.task_id).signal(PROGRESS_SIGNAL, event)
        checkpoint = CheckpointV1(id=f"cp-{step}", title=f"Step {step}?", allowed_decisions=["accept", "reject"])
        return RunAgentOutputV1(kind="interrupted", checkpoint=checkpoint, usage=USAGE_PER_CALL)

    @activity.defn(name="notify")
    async def notify(self, note: NotifyInputV1) -> NotifyResultV1:
        """As the bot: posts the status message only when the workflow names none, a card for a pending checkpoint
        that has none, and returns the ts's for the workflow to keep."""
        self.notes.append((activity.info().workflow_run_id, note))
        messages = note.messages
        if messages.status_ts is None:
            self.status_posts += 1
            messages = messages.model_copy(update={"status_ts": f"1700000000.{self.status_posts:06d}"})
        status = await self.client.get_workflow_handle(note.task_id).query(STATUS_QUERY, result_type=TaskStatusV1)
        pending = status.pending_checkpoint
        if pending is not None and pending.id not in messages.checkpoint_ts:
            cards = {**messages.checkpoint_ts, pending.id: f"1700000001.{len(self.notes):06d}"}
            messages = messages.model_copy(update={"checkpoint_ts": cards})
        return NotifyResultV1(messages=messages)


@dataclass
class LongTask:
    gateway: TaskGateway
    agent: LongAgent
    request: TaskRequestV1

    @property
    def task_id(self) -> str:
        return self.request.task_id

    async def status(self) -> TaskStatusV1:
        handle = self.gateway.client.get_workflow_handle(self.task_id)
        return await handle.query(STATUS_QUERY, result_type=TaskStatusV1)

    async def waiting_at(self, step: int) -> TaskStatusV1:
        """The status once cp-`step` is pending."""

        async def pending() -> TaskStatusV1 | None:
            status = await self.status()
            checkpoint = status.pending_checkpoint
            return status if checkpoint is not None and checkpoint.id == f"cp-{step}" else None

        return await eventually(pending, timeout=20, interval=0.01)

    async def decide(self, step: int) -> TaskStatusV1:
        """Accept cp-`step` once it is pending; returns the status the decision was taken on."""
        status = await self.waiting_at(step)
        decision = DecisionV1(checkpoint_id=f"cp-{step}", decision="accept", by="U_A", at=utc_now())
        await self.gateway.decide(self.task_id, decision)
        return status

    async def runs(self) -> list[WorkflowHistory]:
        """Every run of the task, first to last: from the first run, each one's continued-as-new event names the
        next."""
        description = await self.gateway.client.get_workflow_handle(self.task_id).describe()
        run_id = description.raw_description.workflow_execution_info.first_run_id or description.run_id
        histories = []
        while run_id:
            history = await self.gateway.client.get_workflow_handle(self.task_id, run_id=run_id).fetch_history()
            histories.append(history)
            last = history.events[-1]
            continued = last.HasField("workflow_execution_continued_as_new_event_attributes")
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id if continued else ""
        return histories


@asynccontextmanager
async def long_task(client: Client, checkpoints: int, max_events: int | None = None) -> AsyncIterator[LongTask]:
    """A task from Slack with `checkpoints` checkpoints, started, with its workers running on fresh queues."""
    agent = LongAgent(client, checkpoints)
    queue = f"long-{uuid.uuid4().hex[:8]}"
    request = make_request(
        "diagnostic", "a long one", platform="slack", channel_id="C_OPS", thread_ts="1700000000.000001"
    )
    execution = ExecutionOptionsV1(initial_retry_interval_s=0.2, continue_as_new_after_events=max_events)
    requester = request.requester.model_copy(update={"notify_task_queue": f"{queue}-slack"})
    request = request.model_copy(update={"requester": requester, "execution": execution})
    async with (
        Worker(client, task_queue=queue, workflows=[AgentWorkflow], activities=[agent.run_agent]),
        Worker(client, task_queue=requester.notify_task_queue, activities=[agent.notify]),
    ):
        gateway = TaskGateway(client, task_queue=queue)
        await gateway.submit(request, validate_agent=False)
        yield LongTask(gateway, agent, request)


def continuation_of(history: WorkflowHistory) -> TaskContinuationV1 | None:
    """What a run started from, when it was not the first."""
    started = history.events[0].workflow_execution_started_event_attributes
    [payload] = started.input.payloads
    start = TypeAdapter(TaskRequestV1 | TaskContinuationV1).validate_json(payload.data)
    return start if isinstance(start, TaskContinuationV1) else None


def patch_ids(history: WorkflowHistory) -> list[str]:
    events = history.events
    markers = [e.marker_recorded_event_attributes for e in events if e.HasField("marker_recorded_event_attributes")]
    return [json.loads(m.details["patch-data"].payloads[0].data)["id"] for m in markers if "patch-data" in m.details]


async def test_three_hundred_checkpoints_run_in_several_small_runs_and_the_person_sees_one_task(
    temporal_client: Client,
) -> None:
    began = time.monotonic()
    async with long_task(temporal_client, checkpoints=300) as task:
        first_started_at = None
        for step in range(1, 301):
            status = await task.decide(step)
            # The status stays right whichever run answers: progress, the latest decision, when the task began.
            assert (status.phase, status.progress.step, status.progress.total) == ("waiting_for_human", step, 300)
            latest = status.decisions[-1].checkpoint_id if status.decisions else None
            assert latest == (f"cp-{step - 1}" if step > 1 else None)
            first_started_at = first_started_at or status.started_at
            assert status.started_at == first_started_at
        result = await task.gateway.result(task.task_id)  # follows the chain of runs to the last one's result
        final = await task.gateway.status(task.task_id)
        runs = await task.runs()
        description = await temporal_client.get_workflow_handle(task.task_id).describe()
        audited = await task_decisions(temporal_client, task.task_id)
    elapsed = time.monotonic() - began
    assert [row.checkpoint_id for row in audited] == [f"cp-{k}" for k in range(1, 301)], "the audit reads every run"

    lengths = [len(run.events) for run in runs]
    print(f"\n300 checkpoints: {len(runs)} runs of {lengths} events, {elapsed:.1f} s")
    assert len(runs) >= 3, lengths
    assert max(lengths) <= MAX_EVENTS_PER_RUN + 100, "a run hands over at the first decision past its bound"
    for run in runs[:-1]:
        assert patch_ids(run).count(CONTINUE_AS_NEW) == 1, "marked, so replays of runs recorded before never hand over"
    assert CONTINUE_AS_NEW not in patch_ids(runs[-1])

    assert (result.outcome, result.summary) == ("success", "300 checkpoints decided")
    assert result.usage == UsageV1(llm_calls=301, input_tokens=3010, output_tokens=602), "every run's usage, summed"
    assert final.phase == "completed" and final.result == result
    assert [d.checkpoint_id for d in final.decisions] == [f"cp-{k}" for k in range(101, 301)], "the status's 200"
    assert final.progress.percent == 100.0
    assert [e.step for e in final.events] == list(range(281, 301)), "the events' tail came along"
    assert final.started_at == first_started_at and final.created_at == task.request.created_at

    # Memo and search attributes carried over: the task can still be described and found while no worker runs.
    assert await description.memo_value(REQUEST_MEMO, type_hint=TaskRequestV1) == task.request
    attributes = description.typed_search_attributes
    assert attributes.get(SearchAttributeKey.for_keyword(AGENT_ATTRIBUTE)) == "diagnostic"
    assert attributes.get(SearchAttributeKey.for_keyword(PHASE_ATTRIBUTE)) == "completed"

    # One status message for the whole task, edited by every run; cards of old checkpoints are not carried forever.
    assert task.agent.status_posts == 1
    run_ids = {run_id for run_id, _ in task.agent.notes}
    assert len(run_ids) == len(runs), "every run kept the thread up to date"
    assert {note.messages.status_ts for _, note in task.agent.notes[1:]} == {"1700000000.000001"}
    assert final.slack.status_ts == "1700000000.000001"
    for run in runs[1:]:
        carried = continuation_of(run)
        assert carried is not None and carried.request == task.request
        assert carried.status.slack.status_ts == "1700000000.000001"
        assert set(carried.status.slack.checkpoint_ts) <= {d.checkpoint_id for d in carried.status.decisions}
        assert carried.resume is not None and carried.resume.decision.by == "U_A"


async def test_a_task_cancelled_after_it_continued_as_new_ends_cancelled(temporal_client: Client) -> None:
    async with long_task(temporal_client, checkpoints=50, max_events=100) as task:
        step = 0
        while len(await task.runs()) < 3:
            step += 1
            await task.decide(step)
        await task.waiting_at(step + 1)  # in the third run
        await task.gateway.cancel(task.task_id, CancellationV1(by="U_REQUESTER", reason="enough"))
        with pytest.raises(WorkflowFailureError) as failure:
            await task.gateway.result(task.task_id)
        final = await task.gateway.status(task.task_id)
    assert isinstance(failure.value.cause, CancelledError)
    assert final.phase == "cancelled" and final.cancellation == CancellationV1(by="U_REQUESTER", reason="enough")
    assert final.result is not None and final.result.usage.llm_calls == step + 1
    assert [d.checkpoint_id for d in final.decisions] == [f"cp-{k}" for k in range(1, step + 1)], "from every run"
    assert final.slack.status_ts == "1700000000.000001" and task.agent.status_posts == 1


def test_a_ledger_rebuilt_from_its_snapshot_shows_the_same_status() -> None:
    request = make_request(platform="slack", channel_id="C")
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    ledger = TaskLedger(request, now)
    ledger.running(now)
    for step in range(1, 30):
        ledger.record_progress(ProgressEventV1(step=step, total=40, message=f"s{step}", at=now), now)
    checkpoint = CheckpointV1(id="cp-1", title="Go?", allowed_decisions=["accept"])
    ledger.wait_for_human(checkpoint, now)
    ledger.record_decision(checkpoint, DecisionV1(checkpoint_id="cp-1", decision="accept", by="U", at=now), now)
    ledger.cancel_requested(CancellationV1(by="U", reason="r"), now)
    snapshot = ledger.snapshot()
    assert TaskLedger.from_snapshot(request, snapshot).snapshot() == snapshot


def test_requests_read_as_before_and_say_nothing_new_unless_asked() -> None:
    """Recorded histories start from a bare TaskRequestV1, and processes that predate the bound must read ours."""
    request = make_request()
    start = TypeAdapter(TaskRequestV1 | TaskContinuationV1).validate_json(to_json(request))
    assert isinstance(start, TaskRequestV1) and start == request
    [payload] = pydantic_data_converter.payload_converter.to_payloads([request])
    assert b"continue_as_new_after_events" not in payload.data


def test_the_recorded_history_covers_both_ends_of_a_hand_over() -> None:
    """tests/histories/continued_as_new.json is a middle run: it starts from a carried state and hands over again,
    so the replay test covers restoring and continuing (test_replay.py replays every file there)."""
    history = WorkflowHistory.from_json("continued", CONTINUED_HISTORY.read_text(encoding="utf-8"))
    assert continuation_of(history) is not None
    assert history.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
    assert patch_ids(history).count(CONTINUE_AS_NEW) == 1
