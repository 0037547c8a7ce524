"""A checkpoint with several actions is one card listing each action with its own buttons (issue #15 item 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from baton.gateway import TaskGateway
from bot.blocks import ButtonRef, checkpoint_card, decided_card
from bot.blocks.ids import decision_from_action_id
from bot.runtime import BotRuntime
from contracts import DecisionRecordV1, DecisionV1
from sandbox import FakeSlackApi, SlackDelivery
from sandbox.openai_server import FakeOpenAI, tool_calls
from tests.conftest import WorkerFactory
from tests.hitl import test_parallel_interrupts as questions
from tests.hitl import test_per_action_decisions as batch
from workers.interrupts import checkpoint_from_interrupt

CHANNEL = "C02OPS"
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
HOSTILE = "<!channel> <@U09EVIL> <https://evil.example|bank.com>"
BATCH = {
    "action_requests": [
        {"name": "write_file", "args": {"path": "/srv/notes.txt", "body": HOSTILE}, "description": "Write " + HOSTILE},
        {"name": "delete_rows", "args": {"table": "orders"}},
    ],
    "review_configs": [
        {"action_name": "write_file", "allowed_decisions": ["approve", "edit", "reject", "respond"]},
        {"action_name": "delete_rows", "allowed_decisions": ["approve", "reject"]},
    ],
}


def action_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == "actions"]


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks)


def test_a_card_with_two_actions_gives_each_its_own_buttons_as_its_review_config_allows() -> None:
    checkpoint = checkpoint_from_interrupt("cp-1", BATCH)
    rendered = checkpoint_card("t-1", checkpoint)
    [first, second] = action_blocks(rendered.blocks)
    kinds = [[decision_from_action_id(e["action_id"]) for e in block["elements"]] for block in (first, second)]
    assert kinds == [["accept", "edit", "respond", "reject"], ["accept", "reject"]]
    refs = {ButtonRef.decode(e["value"]).checkpoint_id for e in first["elements"]}
    assert refs == {"cp-1#0"}
    assert {ButtonRef.decode(e["value"]).checkpoint_id for e in second["elements"]} == {"cp-1#1"}
    text = texts(rendered.blocks)
    assert "Action 1 of 2" in text and "Action 2 of 2" in text and "delete_rows" in text
    for forbidden in ("<!channel>", "<@U09EVIL>", "<https://evil.example|bank.com>"):
        assert forbidden not in text, "the agent's arguments and description are escaped"


def test_a_decided_action_loses_its_buttons_and_names_who_decided_while_the_other_keeps_them() -> None:
    checkpoint = checkpoint_from_interrupt("cp-1", BATCH)
    rejected = DecisionV1(checkpoint_id="cp-1", action=1, decision="reject", text="keep " + HOSTILE, by="U01ALICE",
                          at=T0)
    actions = [checkpoint.actions[0], checkpoint.actions[1].model_copy(update={"decision": rejected})]
    checkpoint = checkpoint.model_copy(update={"actions": actions})
    blocks = checkpoint_card("t-1", checkpoint).blocks
    [only] = action_blocks(blocks)
    assert ButtonRef.decode(only["elements"][0]["value"]).checkpoint_id == "cp-1#0"
    text = texts(blocks)
    assert "Rejected by <@U01ALICE>" in text and "<@U09EVIL>" not in text

    record = DecisionRecordV1(checkpoint_id="cp-1", decision="reject", by="U01ALICE", at=T0,
                              text="1. write_file: accept by U02BOB\n2. delete_rows: reject by U01ALICE")
    closed = decided_card(checkpoint, record).blocks
    assert action_blocks(closed) == [] and "Action 2 of 2" in texts(closed) and "*Decisions:*" in texts(closed)


async def test_clicking_approve_on_each_actions_own_buttons_in_slack_decides_them_one_at_a_time(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    """Through the real bot: each click decides the action whose buttons it was on; the agent runs once both are."""
    batch.done.clear()
    async with FakeOpenAI() as llm, agent_worker(registry=batch.REGISTRY, chat_model=lambda: batch.chat_model(llm)):
        llm.script(tool_calls(("write_file", {"path": "/a"}), ("delete_rows", {"table": "orders"})), "Done.")
        await sender.send_slash_command("run batch tidy up", "U02BOB", CHANNEL)
        card = await slack.wait_for(lambda: next((m for m in slack.messages_in(CHANNEL)
                                                  if len(action_blocks(m.blocks)) == 2), None), timeout=60)
        second = action_blocks(card.blocks)[1]
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.accept", channel_id=CHANNEL,
                                        message_ts=card.ts, block_id=second["block_id"],
                                        value=second["elements"][0]["value"])
        await slack.wait_for(lambda: "Approved by <@U02BOB>" in texts(slack.message(CHANNEL, card.ts).blocks)
                             and len(action_blocks(slack.message(CHANNEL, card.ts).blocks)) == 1, timeout=30)
        assert batch.done == [] and llm.call_count == 1, "nothing runs before every action is decided"
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.accept", channel_id=CHANNEL,
                                        message_ts=card.ts)
        task_id = ButtonRef.decode(second["elements"][0]["value"]).task_id
        assert (await gateway.result(task_id)).summary == "Done."
    assert batch.done == ["write /a", "delete orders"]


async def test_two_questions_asked_at_once_get_a_card_each_and_are_answered_in_any_order_from_slack(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker(registry=questions.REGISTRY):
        await sender.send_slash_command("run two_questions plan the report", "U02BOB", CHANNEL)

        def cards() -> list[Any]:
            found = [m for m in slack.messages_in(CHANNEL)
                     if "Question " in texts(m.blocks) and action_blocks(m.blocks)]
            return found if len(found) == 2 else []

        first, second = sorted(await slack.wait_for(cards, timeout=60), key=lambda m: texts(m.blocks))
        assert "Question 1 of 2" in texts(first.blocks) and "Question 2 of 2" in texts(second.blocks)
        task_id = ButtonRef.decode(action_blocks(first.blocks)[0]["elements"][0]["value"]).task_id
        for card in (second, first):  # the second question first
            answer = "EUR 5k" if questions.BUDGET in texts(card.blocks) else "EMEA"
            await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.respond", channel_id=CHANNEL,
                                            message_ts=card.ts)
            [modal] = await slack.wait_for(lambda: slack.views(user="U02BOB", open_only=True))
            await sender.send_view_submission(user_id="U02BOB", view_id=modal.id,
                                              values={"baton_input": {"value": answer}})
            await slack.wait_for(lambda c=card: not action_blocks(slack.message(CHANNEL, c.ts).blocks), timeout=30)
        result = await gateway.result(task_id)
    assert result.summary == "['budget=EUR 5k', 'region=EMEA'] after 1 report run"
    assert "Answered by <@U02BOB>" in texts(slack.message(CHANNEL, first.ts).blocks)
