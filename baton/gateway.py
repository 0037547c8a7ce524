"""TaskGateway: the one facade through which the CLI, the Slack bot and the delegation tools talk to Temporal.

It knows the workflow only by its registered names (`contracts.names`), never by importing `workers/`, and raises
only Baton's errors: Temporal's are translated where they enter, by the tables in `baton.translate`. It also keeps
the one cache of the agent catalog (`agents()`, `baton.catalog`).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast, get_args

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from baton.catalog import CatalogCache
from baton.errors import NoWorkers, TaskAlreadyFinished, TaskBusy, TaskNotFound, UnknownAgent
from baton.feedback import TaskFeedback
from baton.translate import decide_error, translate_rpc_error
from contracts import (
    AgentCatalogV1,
    CancellationV1,
    DecisionOutcomeV1,
    DecisionV1,
    Phase,
    ProgressEventV1,
    ProgressV1,
    TaskRequestV1,
    TaskResultV1,
    TaskStatusV1,
    names,
    read_task_request,
    upgrade_task_request,
)
from contracts.approval import args_digest, refusal_reason

AGENT_KEY = SearchAttributeKey.for_keyword(names.AGENT_ATTRIBUTE)
REQUESTER_KEY = SearchAttributeKey.for_keyword(names.REQUESTER_ATTRIBUTE)
CHANNEL_KEY = SearchAttributeKey.for_keyword(names.CHANNEL_ATTRIBUTE)
PHASE_KEY = SearchAttributeKey.for_keyword(names.PHASE_ATTRIBUTE)


@dataclass(frozen=True)
class SubmitOutcome:
    task_id: str
    started: bool
    """False when a task with the same idempotency key already existed: nothing new was started."""


def decide_update_id(decision: DecisionV1, approving: Mapping[str, Any] | None = None) -> str:
    """The id Temporal deduplicates a decision by: one per person, checkpoint, decision and version of the arguments
    approved. A repeated click (the same button on the same card, twenty times over) is applied once; a person who
    changes their mind (approve, then reject), edits after approving, or approves again after an edit withdrew their
    approval sends a different update, which the workflow's validator then judges."""
    # The id is history metadata, which payload encryption does not cover: name the person by a digest, not their id.
    person = hashlib.sha256(decision.by.encode()).hexdigest()[:16]
    action = "" if decision.action is None else f"#{decision.action}"  # each action of a checkpoint is its own
    base = f"decide-{decision.checkpoint_id}{action}-{person}-{decision.decision}"
    if decision.decision == "edit" and decision.edited_args is not None:
        return f"{base}-{args_digest(decision.edited_args)}"
    if decision.decision in ("accept", "edit") and approving is not None:
        return f"{base}-{args_digest(approving)}"
    return base


class TaskGateway:
    def __init__(self, client: Client, task_queue: str = names.AGENTS_TASK_QUEUE, query_timeout_s: float = 5.0,
                 catalog_refresh_s: float = 30.0, catalog_retry_s: float = 5.0) -> None:
        self._client = client
        self._task_queue = task_queue
        self._query_timeout = timedelta(seconds=query_timeout_s)
        self._catalog = CatalogCache(self._look_up_agents, catalog_refresh_s, catalog_retry_s)
        self.feedback = TaskFeedback(client, task_queue, query_timeout_s)
        """People's ratings of a task's answer (baton.feedback): they live beside the task, not in its workflow."""

    @property
    def client(self) -> Client:
        return self._client

    @property
    def task_queue(self) -> str:
        """The workers' queue: tasks and conversations start on it."""
        return self._task_queue

    async def agents(self) -> AgentCatalogV1:
        """The agents the workers on this gateway's task queue offer (the catalog is kept per task queue).

        Read on every submission, so it must never stall one: see `baton.catalog`. Raises NoWorkers (or Temporal's
        error) only while no worker has ever answered this gateway."""
        return await self._catalog.get()

    async def _look_up_agents(self) -> AgentCatalogV1:
        handle = self._client.get_workflow_handle(names.catalog_workflow_id(self._task_queue))
        try:
            return await handle.query(names.AGENTS_QUERY, result_type=AgentCatalogV1, rpc_timeout=self._query_timeout)
        except RPCError as exc:
            # No catalog workflow yet, or no worker to answer its query: either way no worker is serving the queue.
            if exc.status != RPCStatusCode.NOT_FOUND and not _no_worker_answered(exc):
                raise translate_rpc_error(exc) from exc
            raise NoWorkers(
                f"No Baton worker is running on task queue '{self._task_queue}' (start one with `baton worker`)."
            ) from exc

    async def submit(self, request: TaskRequestV1, validate_agent: bool = True) -> SubmitOutcome:
        """Start the task, or recognise it: the workflow id is the task id, which derives from the idempotency key,
        and ids are never reused, so a second start with the same key (even after the first ended) starts nothing.

        An agent no running worker offers is refused. With no worker running at all, the task is still accepted:
        Temporal holds it until a worker starts, which is the point of a durable queue."""
        if validate_agent:
            try:
                catalog = await self.agents()
            except NoWorkers:
                catalog = AgentCatalogV1()
            known = catalog.names()
            if known and request.agent not in known:
                raise UnknownAgent(request.agent, known)
            if (version := catalog.version_of(request.agent)) is not None:
                # Only workers that read TaskRequestV2 publish versions: the edge upgrades the request for them.
                request = upgrade_task_request(request, version)
        attributes = [SearchAttributePair(AGENT_KEY, request.agent), SearchAttributePair(PHASE_KEY, "queued")]
        attributes.append(SearchAttributePair(REQUESTER_KEY, request.requester.user_id))
        if request.requester.channel_id:
            attributes.append(SearchAttributePair(CHANNEL_KEY, request.requester.channel_id))
        try:
            await self._client.start_workflow(
                names.AGENT_WORKFLOW,
                request,
                id=request.task_id,
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=TypedSearchAttributes(attributes),
                memo={names.REQUEST_MEMO: request},
            )
        except WorkflowAlreadyStartedError:
            return SubmitOutcome(task_id=request.task_id, started=False)
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc
        return SubmitOutcome(task_id=request.task_id, started=True)

    async def live_status(self, task_id: str) -> TaskStatusV1:
        """The workflow's own status: its `status` query, or the final status it left in its memo once it ended.

        Never a stand-in: whatever renders Slack messages or judges a click needs the pending checkpoint, which
        only the workflow knows. Raises TaskBusy when no worker answers a running task in time (the caller
        retries), TaskAlreadyFinished when an ended task left no final status and no worker can replay it."""
        description, status = await self._own_status(task_id)
        if status is not None:
            return status
        if description.status in (None, WorkflowExecutionStatus.RUNNING):
            raise TaskBusy(task_id)
        raise TaskAlreadyFinished(task_id)

    async def status(self, task_id: str) -> TaskStatusV1:
        """For read-only displays (`/baton status`, the CLI, listings), which must not hang on a missing worker:
        the workflow's own status when it answers in time, else a `StatusWithoutWorker` built from the request
        memo and the phase search attribute. That stand-in has no pending checkpoint: render no card and judge
        no click from it (use `live_status`)."""
        description, status = await self._own_status(task_id)
        if status is not None:
            return status
        return await _status_without_worker(description)

    async def _own_status(self, task_id: str) -> tuple[WorkflowExecutionDescription, TaskStatusV1 | None]:
        """The task's description and its own status, or None for the status when no worker answered in time.

        An ended task's memo is read first: a query on a closed workflow needs a worker to replay it."""
        handle = self._handle(task_id)
        try:
            description = await handle.describe()
            if description.status not in (None, WorkflowExecutionStatus.RUNNING):
                final = await description.memo_value(names.FINAL_STATUS_MEMO, None, type_hint=TaskStatusV1)
                if final is not None:
                    return description, final
            try:
                status = await handle.query(
                    names.STATUS_QUERY, result_type=TaskStatusV1, rpc_timeout=self._query_timeout
                )
            except RPCError as exc:
                if not _no_worker_answered(exc):
                    raise
                return description, None
        except RPCError as exc:
            raise translate_rpc_error(exc, task_id) from exc
        if status.phase == "running":
            event = await self._heartbeat_progress(description)
            if event is not None:
                status = status.with_progress(event)
        return description, status

    async def _heartbeat_progress(self, description: WorkflowExecutionDescription) -> ProgressEventV1 | None:
        """The newest progress the running agent put on its activity's heartbeat (workers.progress): how a task with
        no Slack thread reports it. None from a worker that heartbeats without it."""
        for pending in description.raw_description.pending_activities:
            if pending.activity_type.name != names.RUN_AGENT_ACTIVITY or not pending.heartbeat_details.payloads:
                continue
            try:
                [event] = await self._client.data_converter.decode(
                    pending.heartbeat_details.payloads, [ProgressEventV1]
                )
            except Exception:  # a heartbeat that is not a progress event (an older worker's)
                return None
            return event if isinstance(event, ProgressEventV1) else None
        return None

    async def result(self, task_id: str) -> TaskResultV1:
        """Wait for the task to end and return its result; a failed or cancelled task raises Temporal's error."""
        handle = self._client.get_workflow_handle(task_id, result_type=TaskResultV1)
        try:
            return await handle.result()
        except RPCError as exc:
            raise translate_rpc_error(exc, task_id) from exc

    async def cancel(self, task_id: str, cancellation: CancellationV1) -> None:
        """Record who cancelled and why (signal), then request Temporal cancellation so the task ends Canceled."""
        handle = self._handle(task_id)
        try:
            await handle.signal(names.CANCEL_SIGNAL, cancellation)
            await handle.cancel(reason=f"cancelled by {cancellation.by}")
        except RPCError as exc:
            raise translate_rpc_error(exc, task_id) from exc

    async def decide(self, task_id: str, decision: DecisionV1,
                     approving: Mapping[str, Any] | None = None) -> DecisionOutcomeV1:
        """Send a decision and wait for its outcome. `approving` is the version of the arguments the person saw (the
        checkpoint's current arguments, `contracts.approval.current_args`): it tells a re-approval after an edit from
        a repeated click."""
        with _decide_errors(task_id):
            return await self._handle(task_id).execute_update(
                names.DECIDE_UPDATE,
                decision,
                id=decide_update_id(decision, approving),
                result_type=DecisionOutcomeV1,
            )

    async def start_decide(self, task_id: str, decision: DecisionV1,
                           approving: Mapping[str, Any] | None = None) -> SentDecision:
        """Send a decision and return once the workflow has accepted it (it is in the task's history, so it survives
        any crash of the caller) or refused it; `outcome()` then reads which. The bot acks a click at this point."""
        with _decide_errors(task_id):
            handle = await self._handle(task_id).start_update(
                names.DECIDE_UPDATE,
                decision,
                id=decide_update_id(decision, approving),
                result_type=DecisionOutcomeV1,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            )
        return SentDecision(task_id, handle)

    async def list_tasks(
        self, user_id: str | None = None, open_only: bool = True, limit: int = 50
    ) -> list[TaskStatusV1]:
        """Tasks from Temporal visibility, newest first, each rendered by its own `status` query."""
        clauses = [self.own_tasks()]
        if open_only:
            clauses.append("ExecutionStatus = 'Running'")
        if user_id:
            clauses.append(f"{names.REQUESTER_ATTRIBUTE} = '{_quote(user_id)}'")
        statuses: list[TaskStatusV1] = []
        async for task_id in self._task_ids(" AND ".join(clauses), limit):
            try:
                statuses.append(await self.status(task_id))
            except (TaskNotFound, TaskAlreadyFinished):
                continue
        return statuses

    async def waiting_for(self, user_id: str, groups: list[str] | None = None, limit: int = 50) -> list[TaskStatusV1]:
        """Open tasks whose pending checkpoint this person may decide (the `/baton list` and App Home view)."""
        query = f"{self.own_tasks()} AND ExecutionStatus = 'Running' AND {names.PHASE_ATTRIBUTE} = 'waiting_for_human'"
        waiting: list[TaskStatusV1] = []
        async for task_id in self._task_ids(query, limit):
            try:
                status = await self.status(task_id)
            except (TaskNotFound, TaskAlreadyFinished):
                continue
            if status.pending_checkpoint and may_decide(status, user_id, groups or []):
                waiting.append(status)
        return waiting

    def own_tasks(self) -> str:
        """Visibility filter for this gateway's tasks: several deployments (or tests) may share a namespace."""
        return f"WorkflowType = '{names.AGENT_WORKFLOW}' AND TaskQueue = '{_quote(self._task_queue)}'"

    async def _task_ids(self, query: str, limit: int) -> AsyncIterator[str]:
        """Ids of the tasks a visibility query finds, with Temporal's errors translated like every other call's."""
        try:
            async for execution in self._client.list_workflows(query, limit=limit):
                yield execution.id
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc

    def _handle(self, task_id: str) -> WorkflowHandle[object, object]:
        return self._client.get_workflow_handle(task_id)


@dataclass(frozen=True)
class SentDecision:
    """A decision the workflow has accepted or refused (`TaskGateway.start_decide`)."""

    task_id: str
    handle: WorkflowUpdateHandle[DecisionOutcomeV1]

    async def outcome(self) -> DecisionOutcomeV1:
        """What the decision did; raises the Baton error of a refusal. Known at once when the workflow refused it or
        already ran it, else read from Temporal."""
        with _decide_errors(self.task_id):
            return await self.handle.result()


@contextmanager
def _decide_errors(task_id: str) -> Iterator[None]:
    """The `decide` update's failures as Baton's errors, whether they come from sending it or reading its outcome."""
    try:
        yield
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            raise decide_error(cause) from exc
        # Not the workflow's refusal but the server's (e.g. just after a restart, "not processed by worker"):
        # nothing was recorded, and the same update id makes a second click safe.
        raise TaskBusy(task_id) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        # No worker took the update in time; its id makes a second click safe (Temporal deduplicates it).
        raise TaskBusy(task_id) from exc
    except RPCError as exc:
        raise translate_rpc_error(exc, task_id) from exc


def may_decide(status: TaskStatusV1, user_id: str, groups: list[str]) -> bool:
    """Whether this person may approve the task's pending checkpoint (the workflow's own rule, run bot-side)."""
    checkpoint = status.pending_checkpoint
    if checkpoint is None:
        return False
    decision = "accept" if "accept" in checkpoint.allowed_decisions else checkpoint.allowed_decisions[0]
    return refusal_reason(status.approval, status.requester.user_id, checkpoint, decision, user_id, groups) is None


class StatusWithoutWorker(TaskStatusV1):
    """A stand-in status, built from the task's request memo and phase search attribute while no worker answers.

    The same fields (nothing changes on the wire), but its type says what it lacks: the pending checkpoint,
    decisions and progress. `isinstance(status, StatusWithoutWorker)` is how code tells it from the real one;
    its progress message tells people."""


WITHOUT_WORKER_NOTE = (
    "No worker is running right now; the task resumes when one starts. "
    "Shown from the task's records: a pending decision, if any, appears when a worker answers."
)


def _no_worker_answered(exc: RPCError) -> bool:
    """Whether a query failed only because no worker took it in time (as opposed to a missing task)."""
    return exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE) or (
        "timeout" in exc.message.lower()
    )


async def _status_without_worker(description: WorkflowExecutionDescription) -> StatusWithoutWorker:
    memo = await description.memo_value(names.REQUEST_MEMO, None)
    request = read_task_request(memo) if memo is not None else None  # V1 or V2
    if request is None:
        raise NoWorkers("No Baton worker is answering for this task right now.")
    recorded = description.typed_search_attributes.get(PHASE_KEY)
    phase = cast(Phase, recorded if recorded in get_args(Phase) else "queued")
    updated_at = description.start_time or request.created_at
    progress = ProgressV1(message=WITHOUT_WORKER_NOTE)
    stand_in = StatusWithoutWorker.of_request(request, phase, updated_at, progress=progress)
    return cast(StatusWithoutWorker, stand_in)  # of_request builds `cls`


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


__all__ = [
    "WITHOUT_WORKER_NOTE",
    "SentDecision",
    "StatusWithoutWorker",
    "SubmitOutcome",
    "TaskGateway",
    "decide_update_id",
    "may_decide",
]
