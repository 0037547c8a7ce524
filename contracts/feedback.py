"""People's ratings of a finished task's answer (Slack's feedback buttons on its final message), one per person.

A task has usually ended when it is rated, and an ended workflow takes no signal or update, so the ratings live in
a small workflow of their own per task (`TaskFeedbackWorkflow`, id `names.feedback_workflow_id(task_id)`): the bot
sends a `FeedbackV1` with the `feedback` update (update-with-start), the workflow answers with a
`FeedbackOutcomeV1`, and `TaskFeedbackV1` is what it holds (its `feedback` query, and its memo, readable without a
worker and after it closed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from contracts.common import AgentName, Contract, TaskId, UserId

__all__ = ["MAX_RECENT_CLICKS", "FeedbackOutcomeV1", "FeedbackRating", "FeedbackStartV1", "FeedbackV1",
           "TaskFeedbackV1"]

FeedbackRating = Literal["positive", "negative"]
MAX_RECENT_CLICKS = 200
"""Click ids a feedback workflow remembers (and carries across continue-as-new) to recognise a redelivered click."""
MAX_RATINGS = 1000
"""People who may rate one task: more than any channel that could see it rates, and it bounds the memo."""
ClickId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class FeedbackV1(Contract):
    """One person's rating of a task, as the `feedback` update's input and as the workflow keeps it."""

    schema_version: Literal[1] = 1
    by: UserId
    rating: FeedbackRating
    click_id: ClickId
    """What makes this click itself: a redelivery of the same click carries the same id and is recorded once."""
    at: datetime | None = None
    """When the workflow recorded it (the workflow stamps it; the bot leaves it empty)."""


class FeedbackOutcomeV1(Contract):
    """What the `feedback` update did with a click."""

    schema_version: Literal[1] = 1
    outcome: Literal["recorded", "changed", "unchanged", "duplicate"]
    """`recorded`: the person's first rating; `changed`: it replaced their other rating; `unchanged`: they gave the
    same rating again; `duplicate`: this very click was recorded already (a redelivery)."""
    rating: FeedbackRating


class TaskFeedbackV1(Contract):
    """A task's ratings, the latest one per person, in the order people first rated."""

    schema_version: Literal[1] = 1
    task_id: TaskId
    agent: AgentName
    ratings: list[FeedbackV1] = Field(default_factory=list, max_length=MAX_RATINGS)

    def count(self, rating: FeedbackRating) -> int:
        return sum(1 for r in self.ratings if r.rating == rating)

    def people(self, rating: FeedbackRating) -> list[str]:
        return [r.by for r in self.ratings if r.rating == rating]


class FeedbackStartV1(Contract):
    """The input of a feedback workflow's run: the task, and what an earlier run of the same id left (its ratings
    and the clicks it saw lately), so a click after a run closed, or a continue-as-new, forgets nothing."""

    schema_version: Literal[1] = 1
    feedback: TaskFeedbackV1
    recent_click_ids: list[ClickId] = Field(default_factory=list, max_length=MAX_RECENT_CLICKS)
