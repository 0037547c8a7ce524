"""TaskFeedbackWorkflow: people's ratings of one task's answer, beside the task (id `feedback-<task id>`).

    bot --update `feedback` (update-with-start; update id from the person and Slack's action_ts)--> handler:
        a click id seen lately -> duplicate; else the person's rating is set (their earlier one replaced)
    bot --signal `feedback_later` (signal-with-start, when no worker took the update in time)--> the same handling,
        applied when a worker next runs the workflow (a click past MAX_RATINGS is dropped: a signal cannot refuse)
    the run loop, once the handlers ran: memo `feedback` rewritten, so `describe()` reads the ratings with no worker
        and after the run closed
    query `task_feedback`: the ratings
    no click for IDLE_CLOSE: the run completes with the ratings; a later click starts a new run of the same id,
        which the gateway seeds with what the closed run's memo holds
    every CLICKS_PER_RUN clicks, or when Temporal suggests it: continue as new, carrying ratings and recent click ids

Why its own workflow: a task has usually ended when its final message is rated, and an ended workflow takes no
signal or update; a separate workflow also leaves AgentWorkflow and its recorded histories untouched. No I/O and no
clocks here: the time of a rating is `workflow.now()`.

Why the handlers write no memo themselves (since MEMO_AFTER_HANDLERS): the same click can reach one workflow task
twice, as the signal and as the update the server still held, and a replay may hand the two to the handlers in the
other order than the live run did. Handlers that issue no command make either order replay the same commands; the
loop's one memo write comes after both.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.feedback import (
        MAX_RATINGS,
        MAX_RECENT_CLICKS,
        FeedbackOutcomeV1,
        FeedbackStartV1,
        FeedbackV1,
        TaskFeedbackV1,
    )
    from contracts.names import (
        FEEDBACK_MEMO,
        FEEDBACK_QUERY,
        FEEDBACK_SIGNAL,
        FEEDBACK_UPDATE,
        FEEDBACK_WORKFLOW,
    )

IDLE_CLOSE = timedelta(days=30)
"""A run with no click for this long completes: a task's final message is rated in the days after it, not forever."""
CLICKS_PER_RUN = 500
MEMO_AFTER_HANDLERS = "feedback-memo-after-handlers"
"""Patch: the memo is written by the run loop, not inside the update handler (runs begun before it keep theirs)."""


@workflow.defn(name=FEEDBACK_WORKFLOW)
class TaskFeedbackWorkflow:
    @workflow.init
    def __init__(self, start: FeedbackStartV1) -> None:
        self._task_id = start.feedback.task_id
        self._agent = start.feedback.agent
        self._ratings: dict[str, FeedbackV1] = {rating.by: rating for rating in start.feedback.ratings}
        self._recent = list(start.recent_click_ids)
        self._clicks = 0
        self._seen = 0
        """Clicks when the run last began waiting: a click since then restarts the idle clock."""
        self._unwritten = False
        """A rating changed since the memo was last written."""
        self._memo_in_loop = workflow.patched(MEMO_AFTER_HANDLERS)

    @workflow.run
    async def run(self, start: FeedbackStartV1) -> TaskFeedbackV1:
        while True:
            self._write_memo()
            self._seen = self._clicks
            try:
                await workflow.wait_condition(lambda: self._clicks != self._seen or self._time_to_continue(),
                                              timeout=IDLE_CLOSE)
            except TimeoutError:
                await workflow.wait_condition(workflow.all_handlers_finished)
                self._write_memo()
                return self.feedback()
            if self._time_to_continue():
                await workflow.wait_condition(workflow.all_handlers_finished)
                carried = FeedbackStartV1(feedback=self.feedback(), recent_click_ids=self._recent[-MAX_RECENT_CLICKS:])
                workflow.continue_as_new(carried, memo={FEEDBACK_MEMO: carried.feedback})

    def _time_to_continue(self) -> bool:
        return self._clicks >= CLICKS_PER_RUN or workflow.info().is_continue_as_new_suggested()

    @workflow.update(name=FEEDBACK_UPDATE)
    def rate(self, click: FeedbackV1) -> FeedbackOutcomeV1:
        return self._apply(click)

    @workflow.signal(name=FEEDBACK_SIGNAL)
    def rate_later(self, click: FeedbackV1) -> None:
        """A click the bot recorded by signal because no worker took its update in time: applied like the update
        (the update may still arrive too, and is then a duplicate by click id), or dropped when the update's
        validator would have refused it."""
        if click.click_id in self._recent or self._has_room_for(click):
            self._apply(click)

    def _apply(self, click: FeedbackV1) -> FeedbackOutcomeV1:
        if click.click_id in self._recent:
            return FeedbackOutcomeV1(outcome="duplicate", rating=click.rating)
        self._recent = [*self._recent[-(MAX_RECENT_CLICKS - 1):], click.click_id]
        self._clicks += 1
        earlier = self._ratings.get(click.by)
        if earlier is not None and earlier.rating == click.rating:
            return FeedbackOutcomeV1(outcome="unchanged", rating=click.rating)
        self._ratings[click.by] = click.model_copy(update={"at": workflow.now()})
        self._unwritten = True
        if not self._memo_in_loop:
            self._write_memo()
        return FeedbackOutcomeV1(outcome="recorded" if earlier is None else "changed", rating=click.rating)

    def _write_memo(self) -> None:
        if self._unwritten:
            self._unwritten = False
            workflow.upsert_memo({FEEDBACK_MEMO: self.feedback()})

    @rate.validator
    def _room_for(self, click: FeedbackV1) -> None:
        """A new person past MAX_RATINGS is refused (nothing written); people already counted may change theirs."""
        if not self._has_room_for(click):
            raise ValueError("This task has all the ratings it can hold.")

    def _has_room_for(self, click: FeedbackV1) -> bool:
        return click.by in self._ratings or len(self._ratings) < MAX_RATINGS

    @workflow.query(name=FEEDBACK_QUERY)
    def feedback(self) -> TaskFeedbackV1:
        return TaskFeedbackV1(task_id=self._task_id, agent=self._agent, ratings=list(self._ratings.values()))
