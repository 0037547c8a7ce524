"""The Edit modal checks edited arguments against the tool's argument schema before it closes.

The agent is LangChain's own: `create_agent` with `HumanInTheLoopMiddleware(interrupt_mode="per_call")`, whose
interrupt's `response_schema` carries the tool's argument schema. It runs in the real worker on the dev server,
its model is the real ChatOpenAI on the fake OpenAI server, and the modal is submitted through the real bot with
signed requests; the fake Slack records what a person sees.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import StateGraph

from baton.gateway import TaskGateway
from bot.listeners import views
from bot.runtime import BotRuntime
from contracts import CancellationV1, TaskRequestV1, TaskResultV1
from sandbox import FakeSlackApi, Message, SlackDelivery
from sandbox.openai_server import FakeOpenAI, tool_call
from tests.conftest import WorkerFactory
from workers.registry import AgentContext, AgentRegistry, AgentSpec

CHANNEL = "C02OPS"
scaled: list[tuple[str, int]] = []


@tool
def scale_service(service: str, replicas: int) -> str:
    """Set the number of replicas of a service."""
    scaled.append((service, replicas))
    return f"scaled {service} to {replicas}"


def build_scaler(context: AgentContext) -> StateGraph[Any]:
    middleware = HumanInTheLoopMiddleware(interrupt_on={"scale_service": True}, interrupt_mode="per_call")
    agent = create_agent(context.chat_model(), tools=[scale_service], middleware=[middleware])
    return agent.builder  # uncompiled: the runner compiles it with the durable checkpointer


def scaler_input(request: TaskRequestV1) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": request.text}]}


def scaler_result(state: dict[str, Any]) -> TaskResultV1:
    return TaskResultV1(outcome="success", summary=str(state["messages"][-1].content))


SCALER = AgentSpec("scaler", "Scales services, with a person's approval", build_scaler, scaler_input, scaler_result)


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as llm:
        llm.script(tool_call("scale_service", {"service": "web", "replicas": 3}), "Scaled web.")
        yield llm


def chat_model(llm: FakeOpenAI) -> BaseChatModel:
    return ChatOpenAI(base_url=llm.base_url, api_key=llm.api_key, model="fake-model", max_retries=0,  # type: ignore[arg-type]
                      timeout=5.0)


def labels(message: Message) -> list[str]:
    return [e["text"]["text"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def task_id_of(message: Message) -> str:
    value = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
    return str(json.loads(value)["t"])


async def open_edit_modal(slack: FakeSlackApi, sender: SlackDelivery) -> tuple[Message, Any]:
    answer = await sender.send_slash_command("run scaler scale web to three replicas", "U02BOB", CHANNEL)
    assert answer.status == 200
    roots = await slack.wait_for(lambda: [m for m in slack.messages_in(CHANNEL)
                                          if m.thread_ts is None and m.user == slack.bot_user_id], timeout=30)
    card = await slack.wait_for(
        lambda: next((m for m in slack.messages_in(CHANNEL, roots[0].ts) if "Approve" in labels(m)), None), timeout=60)
    await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.edit", channel_id=CHANNEL,
                                    message_ts=card.ts)
    [modal] = await slack.wait_for(lambda: slack.views(user="U02BOB", open_only=True))
    return card, modal


async def test_an_edit_that_breaks_the_tools_schema_keeps_the_modal_open_naming_the_field_and_a_valid_one_runs(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway, model: FakeOpenAI) -> None:
    scaled.clear()
    async with agent_worker(registry=AgentRegistry([SCALER]), chat_model=lambda: chat_model(model)):
        card, modal = await open_edit_modal(slack, sender)
        field = modal.payload["blocks"][1]
        assert json.loads(field["element"]["initial_value"]) == {"service": "web", "replicas": 3}
        assert "(service: string, replicas: integer)" in field["hint"]["text"], "the modal says what is expected"

        refused = {
            '{"service": "web", "replicas": "three"}': "replicas: 'three' is not of type 'integer'",
            '{"replicas": 5}': "'service' is a required property",
            '{"service": "web", "replicas": 5, "note": "' + "n" * 70_000 + '"}': "Keep it under 3000 characters.",
        }
        for text, error in refused.items():
            bad = await sender.send_view_submission(user_id="U02BOB", view_id=modal.id,
                                                    values={"baton_input": {"value": text}})
            assert bad.status == 200
            assert bad.json() == {"response_action": "errors", "errors": {"baton_input": error}}
        assert slack.views(user="U02BOB", open_only=True), "the modal stays open until the arguments fit"
        history = await gateway.client.get_workflow_handle(task_id_of(card)).fetch_history()
        kinds = {event.WhichOneof("attributes") or "" for event in history.events}
        assert not [k for k in kinds if "update" in k], "no refused edit reached the workflow"

        good = await sender.send_view_submission(user_id="U02BOB", view_id=modal.id,
                                                 values={"baton_input": {"value": '{"service": "web", "replicas": 5}'}})
        assert good.status == 200 and good.body == ""
        result = await gateway.result(task_id_of(card))
    assert scaled == [("web", 5)], "the tool ran once, with the edited arguments"
    assert result.summary == "Scaled web."
    assert not slack.views(user="U02BOB", open_only=True)
    decided = await slack.wait_for(lambda: "Edited and approved" in str(slack.message(CHANNEL, card.ts).blocks))
    assert decided


async def test_when_the_workflow_cannot_answer_before_the_ack_the_edit_is_checked_after_it_and_refused_privately(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway, model: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "EDIT_CHECK_BUDGET_S", 0)  # as if the status query took longer than Slack waits
    async with agent_worker(registry=AgentRegistry([SCALER]), chat_model=lambda: chat_model(model)):
        card, modal = await open_edit_modal(slack, sender)
        five = '{"service": "web", "replicas": "five"}'
        answer = await sender.send_view_submission(user_id="U02BOB", view_id=modal.id,
                                                   values={"baton_input": {"value": five}})
        assert answer.status == 200 and answer.body == "", "acked in time, without the check"
        told = await slack.wait_for(lambda: [e for e in slack.ephemerals(user="U02BOB") if "not applied" in e.text])
        status = await gateway.status(task_id_of(card))
        await gateway.cancel(task_id_of(card), CancellationV1(by="test", reason="cleanup"))
    assert told[0].text == "Your edit was not applied: replicas: 'five' is not of type 'integer'"
    assert status.phase == "waiting_for_human" and status.decisions == []
