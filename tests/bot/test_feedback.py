"""Feedback on a task's answer (#13 item 5), end to end: the real dev server, worker and bot, signed clicks on the
feedback buttons of the final message in the fake Slack.

Alice runs the diagnostic agent in C_FEEDBACK (Alice, Carol and the bot are its members); Bob is not in it and is
no approver or admin.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from slack_sdk.models.blocks import Block, ContextActionsBlock
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from baton import commands
from baton.feedback import TaskFeedback
from baton.gateway import TaskGateway
from bot.blocks.feedback import decode_feedback, feedback_block, feedback_value
from bot.listeners.feedback import NOT_RECORDED, RECORDED, RECORDED_LATER
from bot.runtime import BotRuntime
from contracts import names
from contracts.feedback import FeedbackRating, FeedbackV1, TaskFeedbackV1
from sandbox import DEFAULT_USERS, FakeSlackApi, Message, SlackDelivery
from sandbox.block_limits import block_errors
from tests.conftest import WorkerFactory
from tests.support import eventually
from workers.workflow.feedback_workflow import IDLE_CLOSE, TaskFeedbackWorkflow

ALICE, BOB, CAROL = "U01ALICE", "U02BOB", "U03CAROL"
CHANNEL = "C_FEEDBACK"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi(users=DEFAULT_USERS) as fake:
        fake.set_members(CHANNEL, [ALICE, CAROL, fake.bot_user_id])
        yield fake


def feedback_buttons(message: Message) -> dict[str, object] | None:
    return next((e for b in message.blocks if b.get("type") == "context_actions" for e in b.get("elements") or []
                 if e.get("type") == "feedback_buttons"), None)


def final_message(slack: FakeSlackApi) -> Message | None:
    return next((m for m in slack.messages_in(CHANNEL) if (m.metadata or {}).get("event_payload", {}).get("part")
                 == "final"), None)


async def finished_task(slack: FakeSlackApi, sender: SlackDelivery) -> tuple[str, Message]:
    """Alice's diagnostic task, run to its final message: (task id, that message)."""
    answer = await sender.send_slash_command("run diagnostic smoke check", ALICE, CHANNEL)
    assert answer.status == 200
    final = await slack.wait_for(lambda: final_message(slack), timeout=60)
    buttons = feedback_buttons(final)
    assert buttons is not None
    task_id, _ = decode_feedback(buttons["positive_button"]["value"])  # type: ignore[index]
    return task_id, final


def told(slack: FakeSlackApi, user: str, text: str) -> int:
    return sum(1 for e in slack.ephemerals(user=user, channel=CHANNEL) if e.text == text)


def counted(rating: FeedbackRating) -> float:
    return REGISTRY.get_sample_value("baton_feedback_total", {"agent": "diagnostic", "rating": rating}) or 0.0


async def ratings(gateway: TaskGateway, task_id: str, predicate: object) -> TaskFeedbackV1:
    async def probe() -> TaskFeedbackV1 | None:
        feedback = await gateway.feedback.read(task_id)
        return feedback if feedback is not None and predicate(feedback) else None  # type: ignore[operator]

    return await eventually(probe, timeout=10)


def test_the_feedback_block_is_slacks_context_actions_shape_within_its_limits() -> None:
    block = feedback_block("diagnostic-0123456789ab")
    parsed = Block.parse(block)
    assert isinstance(parsed, ContextActionsBlock)
    assert parsed.to_dict() == block, "slack_sdk's own model reads and writes it unchanged"
    assert block_errors([block]) == []
    assert decode_feedback(block["elements"][0]["negative_button"]["value"]) == ("diagnostic-0123456789ab", "negative")


def test_the_fake_slack_refuses_feedback_buttons_past_slacks_limits() -> None:
    block = feedback_block("t-1")
    element = block["elements"][0]
    too_many = {**block, "elements": [element] * 6}
    long_value = {**block, "elements": [{**element, "negative_button": {**element["negative_button"],
                                                                        "value": "x" * 2001}}]}
    no_negative = {**block, "elements": [{k: v for k, v in element.items() if k != "negative_button"}]}
    long_text = {**block, "elements": [{**element, "positive_button": {**element["positive_button"], "text": {
        "type": "plain_text", "text": "y" * 76}}}]}
    assert "no more than 5 items" in block_errors([too_many])[0]
    assert block_errors([long_value]) == [
        "[ERROR] must be a string of 1 to 2000 characters [json-pointer:/blocks/0/elements/0/negative_button/value]"]
    assert "must provide an object" in block_errors([no_negative])[0]
    assert "/positive_button/text/text" in block_errors([long_text])[0]
    assert block_errors([{"type": "context_actions", "elements": [{"type": "button"}]}])


@pytest.mark.parametrize("value", [
    feedback_value("t-1", "positive")[:-2], '{"t":"t-1","r":"meh"}', '{"t":"","r":"positive"}',
    '{"t":"t-1","r":"positive","x":1}', "[" * 3000, 7,
])
def test_a_value_baton_did_not_write_is_not_read_as_feedback(value: object) -> None:
    with pytest.raises(ValueError):
        decode_feedback(value)


async def test_a_final_message_carries_feedback_buttons_and_the_requesters_rating_is_recorded_counted_and_shown(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, gateway: TaskGateway,
        agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        task_id, final = await finished_task(slack, sender)
        assert block_errors(final.blocks) == []
        buttons = feedback_buttons(final)
        assert buttons is not None and buttons["action_id"] == "baton.feedback"
        positive, negative = counted("positive"), counted("negative")

        click = await sender.send_feedback(user_id=ALICE, channel_id=CHANNEL, message_ts=final.ts,
                                           action_ts="1700000000.000100")
        assert click.status == 200
        await slack.wait_for(lambda: told(slack, ALICE, RECORDED) == 1, timeout=10)
        recorded = await ratings(gateway, task_id, lambda f: len(f.ratings) == 1)
        assert [(r.by, r.rating) for r in recorded.ratings] == [(ALICE, "positive")]
        assert recorded.agent == "diagnostic" and recorded.ratings[0].at is not None
        assert counted("positive") == positive + 1

        # The same click delivered again: acknowledged, recorded and counted once.
        again = await sender.send_feedback(user_id=ALICE, channel_id=CHANNEL, message_ts=final.ts,
                                           action_ts="1700000000.000100")
        assert again.status == 200
        await slack.wait_for(lambda: told(slack, ALICE, RECORDED) == 2, timeout=10)
        assert counted("positive") == positive + 1

        # Alice changes her mind, and Carol (a member of the channel) rates it too.
        await sender.send_feedback(user_id=ALICE, channel_id=CHANNEL, message_ts=final.ts, rating="negative")
        await sender.send_feedback(user_id=CAROL, channel_id=CHANNEL, message_ts=final.ts)
        await slack.wait_for(lambda: told(slack, CAROL, RECORDED) == 1, timeout=10)
        changed = await ratings(gateway, task_id, lambda f: len(f.ratings) == 2 and f.count("negative") == 1)
        assert {(r.by, r.rating) for r in changed.ratings} == {(ALICE, "negative"), (CAROL, "positive")}
        assert counted("negative") == negative + 1 and counted("positive") == positive + 2

        shown = await commands.status(gateway, Namespace(task=task_id, json=False))
    assert "Feedback: 1 positive, 1 negative" in shown
    assert f"positive: {CAROL}" in shown and f"negative: {ALICE}" in shown


async def test_a_click_while_no_worker_runs_is_told_recorded_and_applied_once_when_a_worker_starts(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, gateway: TaskGateway,
        agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        task_id, final = await finished_task(slack, sender)
    # Every worker is down: the click is durable by signal-with-start, and Alice is told so, not "busy".
    click = await sender.send_feedback(user_id=ALICE, channel_id=CHANNEL, message_ts=final.ts,
                                       action_ts="1700000000.000200")
    assert click.status == 200
    await slack.wait_for(lambda: told(slack, ALICE, RECORDED_LATER) == 1, timeout=15)
    again = await sender.send_feedback(user_id=ALICE, channel_id=CHANNEL, message_ts=final.ts,
                                       action_ts="1700000000.000200")  # the same click, delivered again
    assert again.status == 200
    await slack.wait_for(lambda: told(slack, ALICE, RECORDED_LATER) == 2, timeout=15)
    waiting = await gateway.feedback.read(task_id)
    assert waiting is not None and waiting.ratings == [], "in the history, not applied: no worker ran it yet"

    async with agent_worker():
        recorded = await ratings(gateway, task_id, lambda f: len(f.ratings) == 1)
        handle = gateway.client.get_workflow_handle(names.feedback_workflow_id(task_id))
        signals = [e for e in (await handle.fetch_history()).events
                   if e.HasField("workflow_execution_signaled_event_attributes")]
    assert [(r.by, r.rating, r.click_id) for r in recorded.ratings] == [(ALICE, "positive", "1700000000.000200")]
    assert len(signals) == 2, "both deliveries are in the history; the workflow applied the click once"


async def test_a_click_from_someone_who_may_not_see_the_task_is_refused_privately_and_not_recorded(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, gateway: TaskGateway,
        agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        task_id, final = await finished_task(slack, sender)
        before = counted("positive")
        click = await sender.send_feedback(user_id=BOB, channel_id=CHANNEL, message_ts=final.ts)
        assert click.status == 200
        await slack.wait_for(lambda: told(slack, BOB, NOT_RECORDED) == 1, timeout=10)
        assert await gateway.feedback.read(task_id) is None, "nothing reached Temporal"
        assert counted("positive") == before
        shown = await commands.status(gateway, Namespace(task=task_id, json=False))
    assert "Feedback" not in shown
    assert not [e for e in slack.ephemerals(user=BOB) if task_id in e.text], "Bob learns nothing of the task"


async def test_a_rating_after_the_feedback_workflow_closed_for_idleness_keeps_the_earlier_ones(
        time_skipping_env: WorkflowEnvironment, task_queue: str) -> None:
    client = time_skipping_env.client
    feedback = TaskFeedback(client, task_queue)

    def click(by: str, rating: FeedbackRating, click_id: str) -> FeedbackV1:
        return FeedbackV1(by=by, rating=rating, click_id=click_id)

    async with Worker(client, task_queue=task_queue, workflows=[TaskFeedbackWorkflow]):
        assert (await feedback.rate("t-1", "diagnostic", click(ALICE, "positive", "a"))).outcome == "recorded"
        assert (await feedback.rate("t-1", "diagnostic", click(ALICE, "positive", "b"))).outcome == "unchanged"
        assert (await feedback.rate("t-1", "diagnostic", click(ALICE, "negative", "b"))).outcome == "duplicate"
        await time_skipping_env.sleep(IDLE_CLOSE + timedelta(days=1))
        handle = client.get_workflow_handle(names.feedback_workflow_id("t-1"), result_type=TaskFeedbackV1)
        closed = await handle.result()
        assert [(r.by, r.rating) for r in closed.ratings] == [(ALICE, "positive")]
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

        assert (await feedback.rate("t-1", "diagnostic", click(CAROL, "negative", "c"))).outcome == "recorded"
        now = await feedback.read("t-1")
        # The new run waits 30 days for a click; left running with no worker, its idle timer's workflow task would
        # stop the session's time-skipping server from skipping time for every test after this one.
        await client.get_workflow_handle(names.feedback_workflow_id("t-1")).terminate(reason="the test is over")
    assert now is not None and [(r.by, r.rating) for r in now.ratings] == [(ALICE, "positive"), (CAROL, "negative")]
