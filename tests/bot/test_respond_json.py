"""The Respond modal lets a person send a plain question's answer as JSON, and reads that choice back."""

from __future__ import annotations

import json
from typing import Any

from baton.gateway import TaskGateway
from bot.blocks import ButtonRef, respond_modal, submitted_json
from bot.blocks.ids import JSON_ACTION, JSON_BLOCK
from bot.runtime import BotRuntime
from contracts import CheckpointV1
from sandbox import FakeSlackApi, Message, SlackDelivery
from tests.conftest import WorkerFactory
from tests.conventions.agents import RECEIVED, SPECS
from tests.support import status_when
from workers.registry import AgentRegistry

REF = ButtonRef("task-1", "cp-1", "C1", "1.0")
CHANNEL = "C02OPS"
FREE_QUESTION = next(spec for spec in SPECS if spec.name == "free_question")


def card_task(message: Message) -> str:
    value = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
    return str(json.loads(value)["t"])


def ticked(*values: str) -> dict[str, Any]:
    options = [{"value": v, "text": {"type": "plain_text", "text": v}} for v in values]
    return {"state": {"values": {JSON_BLOCK: {JSON_ACTION: {"type": "checkboxes", "selected_options": options}}}}}


def test_the_respond_modal_offers_json_only_for_a_plain_question() -> None:
    plain = CheckpointV1(id="cp-1", title="Which region?", allowed_decisions=["respond"], convention="plain")
    hitl = plain.model_copy(update={"convention": "hitl_middleware"})
    blocks = respond_modal(REF, plain)["blocks"]
    [choice] = [b for b in blocks if b.get("block_id") == JSON_BLOCK]
    assert choice["optional"] is True and choice["element"]["type"] == "checkboxes"
    assert not [b for b in respond_modal(REF, hitl)["blocks"] if b.get("block_id") == JSON_BLOCK]


def test_submitted_json_reads_the_tick_and_never_raises_on_other_shapes() -> None:
    assert submitted_json(ticked("json")) is True
    assert submitted_json(ticked()) is False
    for shape in ({}, {"state": None}, {"state": {"values": {JSON_BLOCK: {JSON_ACTION: {"selected_options": 3}}}}}):
        assert submitted_json(shape) is False


async def test_a_respond_modal_ticked_as_json_gives_an_undeclared_question_the_parsed_value(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker(registry=AgentRegistry([FREE_QUESTION])):
        await sender.send_slash_command("run free_question the quarterly report", "U02BOB", CHANNEL)
        card = await slack.wait_for(lambda: next((m for m in slack.messages_in(CHANNEL) if "Respond" in str(m.blocks)
                                                  and m.thread_ts is not None), None), timeout=60)
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.respond", channel_id=CHANNEL,
                                        message_ts=card.ts)
        [modal] = await slack.wait_for(lambda: slack.views(user="U02BOB", open_only=True))
        bad = await sender.send_view_submission(user_id="U02BOB", view_id=modal.id, values={
            "baton_input": {"value": "EMEA"}, **ticked("json")["state"]["values"]})
        assert bad.json()["response_action"] == "errors" and "not valid JSON" in str(bad.json())
        await sender.send_view_submission(user_id="U02BOB", view_id=modal.id, values={
            "baton_input": {"value": '{"region": "EMEA"}'}, **ticked("json")["state"]["values"]})
        status = await status_when(gateway, card_task(card), lambda s: s.result is not None, timeout=60)
    assert status.result is not None and RECEIVED[status.task_id] == [{"region": "EMEA"}]
