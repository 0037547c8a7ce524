"""End to end through the bot's real HTTP endpoint: signed Slack requests in, the real worker and dev server, the
fake Slack recording what people would see."""

from __future__ import annotations

from typing import Any

from baton.gateway import TaskGateway
from bot.runtime import BotRuntime
from sandbox import FakeSlackApi, Message, SlackDelivery
from tests.conftest import WorkerFactory

CHANNEL = "C02OPS"


def labels(message: Message) -> list[str]:
    return [e["text"]["text"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def root_messages(slack: FakeSlackApi) -> list[Message]:
    return [m for m in slack.messages_in(CHANNEL) if m.thread_ts is None and m.user == slack.bot_user_id]


def thread_of(slack: FakeSlackApi, root: Message) -> list[Message]:
    return slack.messages_in(CHANNEL, root.ts)


def card(slack: FakeSlackApi, root: Message) -> Message | None:
    return next((m for m in thread_of(slack, root) if "Approve" in labels(m)), None)


def final(slack: FakeSlackApi, root: Message) -> Message | None:
    return next((m for m in thread_of(slack, root) if "tokens in" in str(m.blocks)), None)


async def start_ops_audit(slack: FakeSlackApi, sender: SlackDelivery, user: str = "U02BOB") -> tuple[Message, Message]:
    answer = await sender.send_slash_command("run ops_audit check the web tier", user, CHANNEL)
    assert answer.status == 200
    root = (await slack.wait_for(lambda: root_messages(slack), timeout=30))[0]
    checkpoint = await slack.wait_for(lambda: card(slack, root), timeout=60)
    return root, checkpoint


def task_id_of(message: Message) -> str:
    import json

    value = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
    return str(json.loads(value)["t"])


async def test_slash_command_runs_ops_audit_to_an_approval_card_and_approve_finishes_it(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        assert "Started `ops_audit-" in slack.ephemerals(user="U02BOB")[0].text
        clicked = await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.accept",
                                                  channel_id=CHANNEL, message_ts=checkpoint.ts)
        assert clicked.status == 200
        done = await slack.wait_for(lambda: final(slack, root), timeout=60)
    assert "Completed" in str(done.blocks)
    decided = slack.message(CHANNEL, checkpoint.ts)
    assert labels(decided) == [] and "Approved by <@U02BOB>" in str(decided.blocks)
    status = slack.message(CHANNEL, root.ts)
    assert "Completed" in str(status.blocks) and labels(status) == []
    assert len(root_messages(slack)) == 1, "one status message, edited in place"
    assert len(slack.calls_to("chat.update", ok=True)) >= 2


async def test_reject_with_a_reason_through_the_modal(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.reject", channel_id=CHANNEL,
                                        message_ts=checkpoint.ts)
        [modal] = await slack.wait_for(lambda: slack.views(user="U02BOB", open_only=True))
        submitted = await sender.send_view_submission(
            user_id="U02BOB", view_id=modal.id, values={"baton_input": {"value": "not during business hours"}})
        assert submitted.status == 200
        await slack.wait_for(lambda: final(slack, root), timeout=60)
    decided = slack.message(CHANNEL, checkpoint.ts)
    assert "Rejected by <@U02BOB>" in str(decided.blocks) and "not during business hours" in str(decided.blocks)


async def test_edit_modal_refuses_invalid_json_then_sends_the_edited_arguments(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.edit", channel_id=CHANNEL,
                                        message_ts=checkpoint.ts)
        [modal] = await slack.wait_for(lambda: slack.views(user="U02BOB", open_only=True))
        prefilled = modal.payload["blocks"][1]["element"]["initial_value"]
        bad = await sender.send_view_submission(user_id="U02BOB", view_id=modal.id,
                                                values={"baton_input": {"value": "{not json"}})
        assert bad.json()["response_action"] == "errors"
        assert slack.views(user="U02BOB", open_only=True), "the modal stays open on invalid JSON"
        history_before = await gateway.status(task_id_of(checkpoint))
        assert history_before.phase == "waiting_for_human"
        await sender.send_view_submission(user_id="U02BOB", view_id=modal.id,
                                          values={"baton_input": {"value": prefilled}})
        await slack.wait_for(lambda: final(slack, root), timeout=60)
    assert "Edited and approved by <@U02BOB>" in str(slack.message(CHANNEL, checkpoint.ts).blocks)


async def test_a_click_from_someone_the_policy_does_not_allow_is_refused_without_touching_the_workflow(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    bot.services.settings = bot.services.settings.model_copy(update={"baton_approvers": ["U01ALICE"]})
    async with agent_worker():
        _root, checkpoint = await start_ops_audit(slack, sender, user="U02BOB")
        task_id = task_id_of(checkpoint)
        handle = gateway.client.get_workflow_handle(task_id)
        await sender.send_block_actions(user_id="U03CAROL", action_id="baton.decide.accept", channel_id=CHANNEL,
                                        message_ts=checkpoint.ts)
        [refusal] = await slack.wait_for(lambda: slack.ephemerals(user="U03CAROL"))
        assert "not an approver" in refusal.text
        history = await handle.fetch_history()
        kinds = {event.WhichOneof("attributes") or "" for event in history.events}
        assert not [k for k in kinds if "update" in k], "no update reached the workflow's history"
        status = await gateway.status(task_id)
        assert status.phase == "waiting_for_human" and status.decisions == []
        assert status.pending_checkpoint is not None and status.pending_checkpoint.approvals == []
        await gateway.cancel(task_id, _cancel())


def _cancel() -> Any:
    from contracts import CancellationV1

    return CancellationV1(by="test", reason="cleanup")
