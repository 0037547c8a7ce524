"""The notify activity against the fake Slack: one status message edited in place, cards and final message, 429s
waited out, retried deliveries that never post twice, and no delivery at all while only a stand-in status exists.
The task's status comes from a fixed source here (the end-to-end tests read it from a real workflow)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.testing import ActivityEnvironment

from baton.errors import TaskBusy
from baton.gateway import StatusWithoutWorker
from bot.blocks import TaskLinks
from bot.notifier import SlackNotifier
from contracts import (
    ArtifactV1,
    DecisionRecordV1,
    NotifyInputV1,
    NotifyResultV1,
    RequesterV1,
    TaskResultV1,
    TaskStatusV1,
)
from sandbox import FakeSlackApi
from tests.bot.factories import T0, make_checkpoint, make_status

CHANNEL = "C02OPS"


class StatusBoard:
    """Stands in for the workflow's `status` query: the test sets what the task currently shows."""

    def __init__(self, status: TaskStatusV1) -> None:
        self.current = status
        self.worker_away = False

    async def live_status(self, task_id: str) -> TaskStatusV1:
        if self.worker_away:
            raise TaskBusy(task_id)
        return self.current


def slack_status(slack: FakeSlackApi, thread_ts: str | None, **overrides: object) -> TaskStatusV1:
    requester = RequesterV1(platform="slack", team_id=slack.team_id, user_id="U02BOB", channel_id=CHANNEL,
                            thread_ts=thread_ts)
    return make_status(requester=requester, **overrides)


def buttons(message: object) -> list[str]:
    return [e["text"]["text"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]  # type: ignore[attr-defined]


async def deliver(notifier: SlackNotifier, note: NotifyInputV1, attempt: int = 1) -> NotifyResultV1:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt, workflow_id=note.task_id, activity_id="7")
    return await env.run(notifier.notify, note)


async def test_status_message_is_posted_once_and_edited_in_place(slack: FakeSlackApi, slack_client) -> None:
    root = slack.post_user_message(CHANNEL, "U02BOB", "audit the web tier")
    board = StatusBoard(slack_status(slack, root.ts))
    notifier = SlackNotifier(slack_client, board, TaskLinks("http://ui"))
    first = await deliver(notifier, NotifyInputV1(task_id=board.current.task_id))
    assert first.messages.status_ts is not None
    board.current = board.current.model_copy(update={"progress": board.current.progress.model_copy(
        update={"step": 4, "percent": 80.0, "message": "checking certificates"})})
    second = await deliver(notifier, NotifyInputV1(task_id=board.current.task_id, messages=first.messages))
    assert second.messages.status_ts == first.messages.status_ts
    [status] = slack.messages_in(CHANNEL, root.ts)
    assert "checking certificates" in str(status.blocks) and "80%" in str(status.blocks)
    assert len(slack.calls_to("chat.postMessage")) == 1 and len(slack.calls_to("chat.update")) == 1


async def test_checkpoint_card_then_decided_card_then_final_message(slack: FakeSlackApi, slack_client) -> None:
    root = slack.post_user_message(CHANNEL, "U02BOB", "audit")
    checkpoint = make_checkpoint()
    board = StatusBoard(slack_status(slack, root.ts, phase="waiting_for_human", pending_checkpoint=checkpoint))
    notifier = SlackNotifier(slack_client, board, TaskLinks())
    result = await deliver(notifier, NotifyInputV1(task_id=board.current.task_id))
    card_ts = result.messages.checkpoint_ts[checkpoint.id]
    assert buttons(slack.message(CHANNEL, card_ts)) == ["Approve", "Edit", "Reject", "Respond"]

    record = DecisionRecordV1(checkpoint_id=checkpoint.id, checkpoint_title=checkpoint.title, decision="accept",
                              by="U01ALICE", at=T0)
    board.current = board.current.model_copy(update={
        "phase": "completed", "pending_checkpoint": None, "decisions": [record], "finished_at": T0,
        "result": TaskResultV1(outcome="success", summary="Restarted web-1.",
                               artifacts=[ArtifactV1(name="log", content="x\n" * 5000)]),
    })
    done = await deliver(notifier, NotifyInputV1(task_id=board.current.task_id, messages=result.messages))
    card = slack.message(CHANNEL, card_ts)
    assert buttons(card) == [] and "Approved by <@U01ALICE>" in str(card.blocks)
    final = slack.message(CHANNEL, done.messages.final_ts or "")
    assert "Restarted web-1." in str(final.blocks) and final.thread_ts == root.ts
    assert buttons(slack.message(CHANNEL, done.messages.status_ts or "")) == []
    assert len(slack.calls_to("files.completeUploadExternal")) == 1


async def test_slash_command_task_starts_its_own_thread(slack: FakeSlackApi, slack_client) -> None:
    board = StatusBoard(slack_status(slack, None, phase="waiting_for_human", pending_checkpoint=make_checkpoint()))
    result = await deliver(SlackNotifier(slack_client, board, TaskLinks()), NotifyInputV1(task_id="t"))
    status = slack.message(CHANNEL, result.messages.status_ts or "")
    assert status.thread_ts is None
    assert slack.message(CHANNEL, result.messages.checkpoint_ts["cp-1"]).thread_ts == status.ts


async def test_two_429s_on_chat_update_are_waited_out_and_the_update_lands(slack: FakeSlackApi, slack_client) -> None:
    board = StatusBoard(slack_status(slack, None))
    notifier = SlackNotifier(slack_client, board, TaskLinks())
    first = await deliver(notifier, NotifyInputV1(task_id="t"))
    slack.fail_next("chat.update", retry_after=1, times=2)
    board.current = board.current.model_copy(update={"phase": "completed", "finished_at": T0 + timedelta(minutes=1)})
    second = await deliver(notifier, NotifyInputV1(task_id="t", messages=first.messages))
    updates = slack.calls_to("chat.update")
    assert [c.status for c in updates] == [429, 429, 200]
    assert "Completed" in str(slack.message(CHANNEL, second.messages.status_ts or "").blocks)


async def test_a_retried_delivery_finds_its_earlier_post_instead_of_posting_again(
        slack: FakeSlackApi, slack_client) -> None:
    root = slack.post_user_message(CHANNEL, "U02BOB", "audit")
    board = StatusBoard(slack_status(slack, root.ts))
    await deliver(SlackNotifier(slack_client, board, TaskLinks()), NotifyInputV1(task_id="t"))
    # A new process (no memory) retries the same delivery whose result never reached the workflow.
    again = await deliver(SlackNotifier(slack_client, board, TaskLinks()), NotifyInputV1(task_id="t"), attempt=2)
    assert len(slack.messages_in(CHANNEL, root.ts)) == 1
    assert again.messages.status_ts == slack.messages_in(CHANNEL, root.ts)[0].ts


async def test_reminder_mentions_the_approvers_in_the_thread_once(slack: FakeSlackApi, slack_client) -> None:
    root = slack.post_user_message(CHANNEL, "U02BOB", "audit")
    board = StatusBoard(slack_status(slack, root.ts, phase="waiting_for_human",
                                     pending_checkpoint=make_checkpoint(state="reminded")))
    notifier = SlackNotifier(slack_client, board, TaskLinks())
    note = NotifyInputV1(task_id="t", kind="reminder", checkpoint_id="cp-1", mention=["U01ALICE", "U03CAROL"])
    result = await deliver(notifier, note)
    await deliver(notifier, note.model_copy(update={"messages": result.messages}), attempt=2)
    pings = [m for m in slack.messages_in(CHANNEL, root.ts) if "<@U01ALICE> <@U03CAROL>" in m.text]
    assert len(pings) == 1 and "Restart web-1?" in pings[0].text


async def test_agent_text_with_channel_ping_is_delivered_harmlessly(slack: FakeSlackApi, slack_client) -> None:
    board = StatusBoard(slack_status(slack, None, phase="completed", finished_at=T0,
                                     result=TaskResultV1(outcome="success", summary="<!channel> all done")))
    result = await deliver(SlackNotifier(slack_client, board, TaskLinks()), NotifyInputV1(task_id="t"))
    final = slack.message(CHANNEL, result.messages.final_ts or "")
    assert "<!channel>" not in final.text and "<!channel>" not in str(final.blocks)
    assert "&lt;!channel&gt; all done" in str(final.blocks)


async def card_then_outage(slack: FakeSlackApi, slack_client: AsyncWebClient
                           ) -> tuple[StatusBoard, SlackNotifier, NotifyResultV1]:
    """A card with its buttons posted, then a board whose worker no longer answers."""
    root = slack.post_user_message(CHANNEL, "U02BOB", "audit")
    board = StatusBoard(slack_status(slack, root.ts, phase="waiting_for_human", pending_checkpoint=make_checkpoint()))
    notifier = SlackNotifier(slack_client, board, TaskLinks())
    posted = await deliver(notifier, NotifyInputV1(task_id=board.current.task_id))
    return board, notifier, posted


async def test_while_no_worker_answers_the_delivery_fails_retryably_and_the_card_keeps_its_buttons(
        slack: FakeSlackApi, slack_client) -> None:
    board, notifier, posted = await card_then_outage(slack, slack_client)
    board.worker_away = True
    calls = len(slack.calls)
    with pytest.raises(ApplicationError) as raised:
        await deliver(notifier, NotifyInputV1(task_id=board.current.task_id, messages=posted.messages), attempt=2)
    assert raised.value.type == "TaskBusy" and not raised.value.non_retryable, "Temporal must try again"
    assert raised.value.category == ApplicationErrorCategory.BENIGN, "an expected wait, logged without a traceback"
    assert len(slack.calls) == calls, "nothing was posted or edited"
    card = slack.message(CHANNEL, posted.messages.checkpoint_ts["cp-1"])
    assert buttons(card) == ["Approve", "Edit", "Reject", "Respond"]


async def test_a_stand_in_status_is_never_rendered_even_when_a_source_hands_one_over(
        slack: FakeSlackApi, slack_client) -> None:
    board, notifier, posted = await card_then_outage(slack, slack_client)
    stand_in = board.current.model_copy(update={"pending_checkpoint": None})
    board.current = StatusWithoutWorker.model_validate(stand_in.model_dump())
    with pytest.raises(ApplicationError) as raised:
        await deliver(notifier, NotifyInputV1(task_id=board.current.task_id, messages=posted.messages), attempt=2)
    assert raised.value.type == "TaskBusy" and not raised.value.non_retryable
    assert buttons(slack.message(CHANNEL, posted.messages.checkpoint_ts["cp-1"])) == ["Approve", "Edit", "Reject",
                                                                                     "Respond"]


async def test_once_the_worker_answers_again_the_retried_delivery_edits_the_same_card(
        slack: FakeSlackApi, slack_client) -> None:
    board, notifier, posted = await card_then_outage(slack, slack_client)
    board.worker_away = True
    note = NotifyInputV1(task_id=board.current.task_id, messages=posted.messages)
    with pytest.raises(ApplicationError):
        await deliver(notifier, note, attempt=2)
    board.worker_away = False
    board.current = board.current.model_copy(update={"progress": board.current.progress.model_copy(
        update={"message": "still looking at web-1"})})
    again = await deliver(notifier, note, attempt=3)
    assert again.messages == posted.messages, "edited in place, nothing posted twice"
    assert "still looking at web-1" in str(slack.message(CHANNEL, again.messages.status_ts or "").blocks)
    assert buttons(slack.message(CHANNEL, again.messages.checkpoint_ts["cp-1"])) == ["Approve", "Edit", "Reject",
                                                                                    "Respond"]
