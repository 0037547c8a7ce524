"""AgentWorkflow: one durable task. Runs the agent activity, waits for people at checkpoints, reports status.

    queued -> running --run_agent--> completed
                 ^          |
                 |          +--> interrupted -> waiting_for_human --decide / expiry default--+
                 +---------------------------------------------------------------------------+
    any phase --cancel--> cancelled;  agent error (non-retryable or retries exhausted) -> failed / timed_out

A long task hands over to a fresh run (continue-as-new) once a run's history is long, right after a checkpoint is
decided: the next run starts from a TaskContinuationV1 and resumes the agent with that decision, so the task id, its
status and its Slack messages go on as if nothing happened.

A reply in the task's Slack thread (`reply`, from the requester or an approver) answers a pending checkpoint that
allows `respond`, or is kept for the agent, whose run reads it before its next step (workflow/thread_replies.py).

No I/O and no clocks here: the agent runs in `run_agent`, Slack is reached through the bot's `notify` activity,
and time comes from `workflow.now()` and timers.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from contracts import (
        NO_LONGER_PENDING,
        CancellationV1,
        CheckpointV1,
        DecisionOutcomeV1,
        DecisionV1,
        ErrorInfoV1,
        ProgressEventV1,
        ResumeV1,
        RunAgentInputV1,
        RunAgentOutputV1,
        TaskContinuationV1,
        TaskRequestV1,
        TaskRequestV2,
        TaskResultV1,
        TaskStatusV1,
        UsageV1,
        already_decided,
        current_args,
        refusal_reason,
    )
    from contracts.approval import APPROVING_DECISIONS, action_under_review
    from contracts.names import (
        AGENT_FAILED,
        AGENT_WORKFLOW,
        CANCEL_SIGNAL,
        CHECKPOINT_NOT_PENDING,
        DECIDE_UPDATE,
        DECISION_NOT_ALLOWED,
        FINAL_STATUS_MEMO,
        NON_RETRYABLE_ERROR_TYPES,
        PHASE_ATTRIBUTE,
        PROGRESS_SIGNAL,
        REPLY_AFTER_FINISH,
        REPLY_NOT_ALLOWED,
        REPLY_UPDATE,
        RUN_AGENT_ACTIVITY,
        STATUS_QUERY,
        THREAD_REPLIES_QUERY,
        TIMEOUT,
    )
    from contracts.thread_reply import ThreadRepliesV1, ThreadReplyOutcomeV1, ThreadReplyV1, reply_refused
    from workers.workflow.continuation import hand_over_due, quiet
    from workers.workflow.expiry import expiry_decision, no_safe_default, no_safe_default_message, plan_wait
    from workers.workflow.ledger import TaskLedger
    from workers.workflow.thread_notifier import ThreadNotifier
    from workers.workflow.thread_replies import ReplyBox, Route, group_question, respond_decision, route

PHASE_KEY = SearchAttributeKey.for_keyword(PHASE_ATTRIBUTE)
QUORUM_COUNTS_EDITS = "quorum-counts-edits"
"""Patch id: with quorum > 1, an edit counts as one approval instead of deciding at once (it let one person go
ahead alone). Runs recorded before it replay the old rule, where only accepts were counted."""
CONTINUE_AS_NEW = "continue-as-new"
"""Patch id: a run whose history is long continues as new after the next checkpoint decided, carrying the task in a
TaskContinuationV1 (runs recorded before it never did; the marker is written only by the runs that hand over)."""
CANCEL_SEEN_AFTER_RUN = "cancel-seen-after-run"
"""Patch id: a cancel that arrived as `run_agent` returned normally ends the task cancelled (it used to be lost, and
the task waited at its next checkpoint). Written only by runs where that happened."""
PER_ACTION_DECISIONS = "per-action-decisions"
"""Patch id: a checkpoint with several actions (`CheckpointV1.actions`) is decided one action at a time, and the
agent resumes once every action has its decision. Written only by runs that decided such a checkpoint."""
EXPIRY_FAILS_CLOSED = "expiry-fails-closed"
"""Patch id: an expiry whose checkpoint (or an undecided action of it) allows no safe default ends the task timed
out instead of approving (it used to apply the first allowed decision). Written only by runs where that happened."""
GROUP_REPLY_ANSWERS = "group-reply-answers"
"""Patch id: a thread reply answers a group's question when it is the only undecided one that takes free text (it
used to be kept for the agent). Written only by runs where such a reply came."""


@workflow.defn(name=AGENT_WORKFLOW)
class AgentWorkflow:
    @workflow.init
    def __init__(self, start: TaskRequestV2 | TaskRequestV1 | TaskContinuationV1) -> None:
        """`start` is the submitted request (V1 or V2) for a task's first run, what the run before carried for the
        others."""
        request = start.request if isinstance(start, TaskContinuationV1) else start
        carried = start if isinstance(start, TaskContinuationV1) else None
        self._request = request
        self._ledger = (
            TaskLedger.from_snapshot(request, carried.status) if carried else TaskLedger(request, workflow.now())
        )
        requester = request.requester
        self._notifier = ThreadNotifier(
            request.task_id,
            enabled=requester.in_slack,
            task_queue=requester.notify_task_queue,
            messages=carried.status.slack if carried else None,
        )
        self._decision: DecisionV1 | None = None
        self._usage = carried.usage if carried else UsageV1()
        self._resume_first = carried.resume if carried else None
        self._replies = ReplyBox()

    @workflow.run
    async def run(self, start: TaskRequestV2 | TaskRequestV1 | TaskContinuationV1) -> TaskResultV1:
        notifier_loop = asyncio.create_task(self._notifier.run())
        try:
            result = await self._run_to_completion()
        except (ActivityError, asyncio.CancelledError) as exc:
            if is_cancelled_exception(exc):
                await self._finish_cancelled()
                raise
            if not isinstance(exc, ActivityError):
                raise
            phase = "timed_out" if isinstance(exc.cause, TemporalTimeoutError) else "failed"
            await self._fail(phase, _error_info(exc), exc)
        await self._finish("completed", result)
        notifier_loop.cancel()
        return result

    async def _fail(self, phase: str, error: ErrorInfoV1, cause: BaseException | None = None) -> NoReturn:
        """Record the failure where a person sees it, then fail the workflow (Temporal shows Failed)."""
        result = TaskResultV1(outcome="failed", summary=error.message, error=error, usage=self._usage)
        await self._finish(phase, result)
        raise ApplicationError(
            f"Agent '{self._request.agent}' failed: {error.message}",
            error.model_dump(mode="json"),
            type=error.type,
            non_retryable=True,
        ) from cause

    async def _finish_cancelled(self) -> None:
        cancellation = self._ledger.cancellation or CancellationV1(by="temporal", reason="cancelled")
        summary = f"Cancelled by {cancellation.by}" + (f": {cancellation.reason}" if cancellation.reason else "")
        await self._finish("cancelled", TaskResultV1(outcome="cancelled", summary=summary, usage=self._usage))

    async def _run_to_completion(self) -> TaskResultV1:
        resume = self._resume_first
        while True:
            self._set_phase_running()
            self._replies.run_scheduled()
            output = await self._run_agent(RunAgentInputV1(request=self._request, resume=resume))
            self._usage = self._usage + output.usage
            if output.last_progress is not None:  # what a closing `progress` signal used to carry
                self.progress(output.last_progress)
            if output.kind == "completed" and output.result is not None:
                return output.result.model_copy(update={"usage": self._usage})  # done is done, cancel or not
            if workflow.cancellation_reason() is not None and workflow.patched(CANCEL_SEEN_AFTER_RUN):
                # The cancel request reached an attempt that was already returning: it was spent on an activity that
                # completed anyway, and no later await would see it. Honour it rather than wait at a checkpoint.
                raise asyncio.CancelledError(workflow.cancellation_reason())
            if output.checkpoint is None:
                message = "The agent stopped without a result or a checkpoint."
                await self._fail("failed", ErrorInfoV1(type=AGENT_FAILED, message=message))
            resume = await self._wait_for_decision(self._stamp(output.checkpoint))
            # A reply the agent has not read yet would be lost by the hand-over: the next checkpoint hands over.
            if (hand_over_due(self._request.execution.continue_as_new_after_events) and not self._replies.unread
                    and workflow.patched(CONTINUE_AS_NEW)):
                await self._continue_as_new(resume)

    async def _continue_as_new(self, resume: ResumeV1) -> None:
        """Hand the task to a fresh run, between checkpoints: no activity is running, the decision is recorded, and
        the agent is resumed with it by the next run. Memo (the request) and search attributes carry over as they
        are (Temporal's default); the next run answers `status`, decisions and cancellation under the same id.
        Returns (this run resumes the agent itself) when a reply came in while it waited for quiet."""
        await quiet(self._notifier)
        if self._replies.unread:
            return
        status = self.status()
        kept_cards = {record.checkpoint_id for record in status.decisions}
        if status.pending_checkpoint is not None:
            kept_cards.add(status.pending_checkpoint.id)
        status = status.model_copy(update={"slack": self._notifier.carry(kept_cards)})
        workflow.continue_as_new(
            TaskContinuationV1(request=self._request, status=status, usage=self._usage, resume=resume)
        )

    async def _run_agent(self, agent_input: RunAgentInputV1) -> RunAgentOutputV1:
        options = self._request.execution
        return await workflow.execute_activity(
            RUN_AGENT_ACTIVITY,
            agent_input,
            result_type=RunAgentOutputV1,
            start_to_close_timeout=timedelta(seconds=options.start_to_close_s),
            heartbeat_timeout=timedelta(seconds=options.heartbeat_timeout_s),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=options.initial_retry_interval_s),
                backoff_coefficient=2.0,
                maximum_interval=timedelta(seconds=60),
                maximum_attempts=options.max_attempts,
                non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),  # belt and braces: see contracts.names
            ),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )

    def _stamp(self, checkpoint: CheckpointV1) -> CheckpointV1:
        """The one place a checkpoint gets its clock, quorum, approvers and state: the workflow, not the agent,
        owns policy and time. The activity reports only what the agent asked; approvers it names are kept, and
        anything else it set here (older workers filled in their own clock and a copy of the policy) is replaced."""
        now = workflow.now()
        policy = self._request.approval
        return checkpoint.model_copy(
            update={
                "actions": [self._stamp(action) for action in checkpoint.actions],  # each its own quorum
                "decision": None,
                "created_at": now,
                "expires_at": now + timedelta(seconds=policy.expires_after_s),
                "quorum": policy.quorum,
                "allowed_users": checkpoint.allowed_users or policy.approvers,
                "approvals": [],
                "original_action": None,
                "edited_by": None,
                "approval_log": [],
                "state": "pending",
            }
        )

    async def _wait_for_decision(self, checkpoint: CheckpointV1) -> ResumeV1:
        self._decision = None
        self._ledger.wait_for_human(checkpoint, workflow.now())
        self._set_phase("waiting_for_human")
        plan = plan_wait(self._request.approval)
        if not await self._decided_within(plan.reminder_after):
            self._mark_checkpoint("reminded")
            self._notifier.mention("reminder", checkpoint.id, self._approvers_to_remind())
            if not await self._decided_within(plan.expiry_after) and plan.escalation_window:
                pending = self._ledger.pending_checkpoint
                expires_at = (pending.expires_at if pending and pending.expires_at else workflow.now()) + (
                    plan.escalation_window
                )
                self._mark_checkpoint("escalated", expires_at=expires_at)
                self._notifier.mention("escalation", checkpoint.id, self._request.approval.escalate_to)
                await self._decided_within(plan.escalation_window)
        if self._decision is None:
            pending = self._ledger.pending_checkpoint or checkpoint
            self._mark_checkpoint("expired")
            unsafe = no_safe_default(self._request.approval, pending)
            if unsafe and workflow.patched(EXPIRY_FAILS_CLOSED):
                await self._fail("timed_out", ErrorInfoV1(type=TIMEOUT, message=no_safe_default_message(unsafe)))
            self._decision = expiry_decision(self._request.approval, pending, workflow.now())
        decided = self._ledger.pending_checkpoint or checkpoint
        self._ledger.record_decision(decided, self._decision, workflow.now())
        self._notifier.changed()
        return ResumeV1(checkpoint=decided, decision=self._decision)

    async def _decided_within(self, duration: timedelta) -> bool:
        try:
            await workflow.wait_condition(lambda: self._decision is not None, timeout=duration)
        except TimeoutError:
            return False
        return True

    def _mark_checkpoint(self, state: str, **changes: object) -> None:
        pending = self._ledger.pending_checkpoint
        if pending is not None:
            self._ledger.update_checkpoint(pending.model_copy(update={"state": state, **changes}), workflow.now())
            self._notifier.changed()

    def _approvers_to_remind(self) -> list[str]:
        pending = self._ledger.pending_checkpoint
        named = list(pending.allowed_users) if pending else []
        return named or list(self._request.approval.approvers) or [self._request.requester.user_id]

    async def _finish(self, phase: str, result: TaskResultV1) -> None:
        self._ledger.finish(phase, result, workflow.now())  # type: ignore[arg-type]
        self._set_phase(phase)
        await self._notifier.drain()
        # Queries on a closed workflow need a live worker; the memo is readable by `describe()` with none.
        workflow.upsert_memo({FINAL_STATUS_MEMO: self.status()})

    def _set_phase_running(self) -> None:
        self._ledger.running(workflow.now())
        self._set_phase("running")

    def _set_phase(self, phase: str) -> None:
        workflow.upsert_search_attributes([PHASE_KEY.value_set(phase)])
        self._notifier.changed()

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> TaskStatusV1:
        snapshot = self._ledger.snapshot()
        return snapshot.model_copy(update={"slack": self._notifier.messages})

    @workflow.signal(name=PROGRESS_SIGNAL)
    def progress(self, event: ProgressEventV1) -> None:
        self._ledger.record_progress(event, workflow.now())
        self._notifier.changed()

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel(self, cancellation: CancellationV1) -> None:
        """Records who cancelled and why; the Temporal cancellation request that follows stops the agent."""
        self._ledger.cancel_requested(cancellation, workflow.now())

    @workflow.update(name=DECIDE_UPDATE)
    async def decide(self, decision: DecisionV1) -> DecisionOutcomeV1:
        return self._apply_decision(decision)

    def _apply_decision(self, decision: DecisionV1) -> DecisionOutcomeV1:
        """A decision the validator accepted (the `decide` update's, or a reply taken as a response)."""
        checkpoint = self._ledger.pending_checkpoint
        if checkpoint is None:  # the validator prevents this; never `assert` in workflow code (it retries forever)
            raise ApplicationError("No checkpoint is pending", type=CHECKPOINT_NOT_PENDING)
        if checkpoint.actions and decision.action is not None and workflow.patched(PER_ACTION_DECISIONS):
            return self._decide_action(checkpoint, decision)
        if checkpoint.quorum > 1 and decision.decision in APPROVING_DECISIONS and workflow.patched(QUORUM_COUNTS_EDITS):
            return self._count_approval(checkpoint, decision)
        if decision.decision == "accept" and checkpoint.quorum > 1:  # before QUORUM_COUNTS_EDITS: accepts only
            approvals = [*checkpoint.approvals, decision.by]
            if len(approvals) < checkpoint.quorum:
                self._ledger.update_checkpoint(checkpoint.model_copy(update={"approvals": approvals}), workflow.now())
                self._notifier.changed()
                return DecisionOutcomeV1(
                    outcome="approval_recorded",
                    approvals=len(approvals),
                    quorum=checkpoint.quorum,
                    message=f"{len(approvals)} of {checkpoint.quorum} approvals",
                )
            checkpoint = checkpoint.model_copy(update={"approvals": approvals})
            self._ledger.update_checkpoint(checkpoint, workflow.now())
        self._decision = decision
        return DecisionOutcomeV1(
            outcome="decided",
            approvals=len(checkpoint.approvals),
            quorum=checkpoint.quorum,
            message=f"{decision.decision} by {decision.by}",
        )

    def _count_approval(self, checkpoint: CheckpointV1, decision: DecisionV1) -> DecisionOutcomeV1:
        """An accept or an edit under a quorum: one approval of the arguments it names (an edit's own, else those
        on the card), deciding only when enough distinct people approved the same arguments."""
        tally = self._ledger.record_approval(checkpoint, decision, workflow.now())
        count = f"{tally.approvals} of {tally.quorum} approvals"
        if tally.decision is None:
            self._notifier.changed()
            withdrawn = len(tally.withdrawn)
            plural = "s" if withdrawn > 1 else ""
            note = f"; {withdrawn} approval{plural} of the old arguments withdrawn" if withdrawn else ""
            return DecisionOutcomeV1(
                outcome="approval_recorded",
                approvals=tally.approvals,
                quorum=tally.quorum,
                message=count + note,
                withdrawn=tally.withdrawn,
            )
        self._decision = tally.decision
        return DecisionOutcomeV1(
            outcome="decided",
            approvals=tally.approvals,
            quorum=tally.quorum,
            message=f"{decision.decision} by {decision.by}: {count}",
        )

    def _decide_action(self, checkpoint: CheckpointV1, decision: DecisionV1) -> DecisionOutcomeV1:
        """One action's decision (or an approval toward its quorum): the agent resumes only once every action of
        the checkpoint has its decision, with all of them."""
        tally = self._ledger.record_action_decision(checkpoint, decision, workflow.now())
        updated = self._ledger.pending_checkpoint or checkpoint
        decided = sum(1 for action in updated.actions if action.decision is not None)
        if decided == len(updated.actions):
            self._decision = tally.decision
        else:
            self._notifier.changed()
        count = f"{tally.approvals} of {tally.quorum} approvals"
        if tally.decision is None:
            return DecisionOutcomeV1(outcome="approval_recorded", approvals=tally.approvals, quorum=tally.quorum,
                                     message=count, withdrawn=tally.withdrawn)
        return DecisionOutcomeV1(
            outcome="decided",
            approvals=tally.approvals,
            quorum=tally.quorum,
            message=f"{decision.decision} by {decision.by}: {decided} of {len(updated.actions)} actions decided",
        )

    @decide.validator
    def _validate_decision(self, decision: DecisionV1) -> None:
        """Rejects without writing history: stale or already-decided checkpoints, anyone the policy excludes, and a
        second approval of the same arguments by one person (an edit without arguments approves those shown)."""
        checkpoint = self._ledger.pending_checkpoint
        if checkpoint is None or checkpoint.id != decision.checkpoint_id or self._decision is not None:
            decided = self._decided(decision.checkpoint_id)
            # The decision and decider go along as details (validator rejections write no history), so the bot can
            # name the decider as a live mention without asking the workflow again.
            details = () if decided is None else decided
            raise ApplicationError(self._why_not_pending(decision.checkpoint_id), *details,
                                   type=CHECKPOINT_NOT_PENDING)
        if checkpoint.actions or decision.action is not None:  # one action at a time, each decided once
            index = decision.action
            chosen = checkpoint.actions[index] if index is not None and 0 <= index < len(checkpoint.actions) else None
            if chosen is not None and chosen.decision is not None:
                raise ApplicationError(already_decided(chosen.decision.decision, chosen.decision.by),
                                       chosen.decision.decision, chosen.decision.by, type=CHECKPOINT_NOT_PENDING)
            under_review = action_under_review(checkpoint, decision.action)
            if isinstance(under_review, str):
                raise ApplicationError(under_review, type=DECISION_NOT_ALLOWED)
            checkpoint = under_review
        edited = None
        if decision.decision == "edit":
            edited = current_args(checkpoint) if decision.edited_args is None else decision.edited_args
        reason = refusal_reason(
            self._request.approval,
            self._request.requester.user_id,
            checkpoint,
            decision.decision,
            decision.by,
            decision.by_groups,
            edited,
        )
        if reason:
            raise ApplicationError(reason, type=DECISION_NOT_ALLOWED)

    @workflow.update(name=REPLY_UPDATE)
    async def reply(self, reply: ThreadReplyV1) -> ThreadReplyOutcomeV1:
        """A reply in the task's thread: the response to a pending checkpoint that allows one, else kept for the
        agent, whose run reads it (`thread_replies`) before its next step. Its update id is the Slack event id."""
        if self._replies.knows(reply.event_id):
            return ThreadReplyOutcomeV1(outcome="duplicate")
        checkpoint = self._ledger.pending_checkpoint
        if checkpoint is not None and self._route(reply) == "respond":
            self._apply_decision(respond_decision(checkpoint, reply))
            return ThreadReplyOutcomeV1(outcome="responded", checkpoint_id=checkpoint.id)
        question = None if checkpoint is None or self._decision is not None else group_question(
            self._request.approval, self._request.requester.user_id, checkpoint, reply)
        if checkpoint is not None and question is not None and workflow.patched(GROUP_REPLY_ANSWERS):
            self._apply_decision(respond_decision(checkpoint, reply, action=question))
            return ThreadReplyOutcomeV1(outcome="responded", checkpoint_id=checkpoint.id)
        self._replies.add(reply)
        return ThreadReplyOutcomeV1(outcome="delivered")

    @reply.validator
    def _validate_reply(self, reply: ThreadReplyV1) -> None:
        """Rejects, writing nothing to history, a reply to a finished task and one from anyone `may_reply` refuses."""
        if self._replies.knows(reply.event_id):
            return
        where = self._route(reply)
        if where == "finished":
            raise ApplicationError("This task has finished: the reply was not passed to it.", type=REPLY_AFTER_FINISH)
        if where == "refused":
            raise ApplicationError(reply_refused(reply.user_id), type=REPLY_NOT_ALLOWED)

    def _route(self, reply: ThreadReplyV1) -> Route:
        return route(self._request.approval, self._request.requester.user_id, self._ledger.phase,
                     self._ledger.pending_checkpoint, self._decision is not None, reply)

    @workflow.query(name=THREAD_REPLIES_QUERY)
    def thread_replies(self) -> ThreadRepliesV1:
        return self._replies.snapshot()

    def _why_not_pending(self, checkpoint_id: str) -> str:
        """In the bot's words (contracts.approval), so a late click reads the same whoever answers it."""
        decided = self._decided(checkpoint_id)
        return NO_LONGER_PENDING if decided is None else already_decided(*decided)

    def _decided(self, checkpoint_id: str) -> tuple[str, str] | None:
        """(decision, decider) of the checkpoint's deciding decision: recorded, or taken and not yet applied."""
        for record in reversed(self._ledger.decisions):
            if record.checkpoint_id == checkpoint_id:
                return record.decision, record.by
        if self._decision is not None and self._decision.checkpoint_id == checkpoint_id:
            return self._decision.decision, self._decision.by
        return None


def _error_info(exc: ActivityError) -> ErrorInfoV1:
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        return ErrorInfoV1(
            type=cause.type or AGENT_FAILED, message=cause.message[:20_000], retryable=not cause.non_retryable
        )
    if isinstance(cause, TemporalTimeoutError):
        kind = cause.type.name.lower() if cause.type else "timeout"
        return ErrorInfoV1(
            type=TIMEOUT,
            message=f"The agent timed out ({kind}) and ran out of retries.",
            retryable=True,
        )
    return ErrorInfoV1(type=type(cause).__name__ if cause else "ActivityError", message=str(cause or exc)[:20_000])
