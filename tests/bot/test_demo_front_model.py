"""The demo front model: without OPENAI_API_KEY or OPENAI_BASE_URL, mentions and DMs in plain words still become
the right tool call (submit, status, cancel) through the real LangGraph front agent, and every reply is labelled."""

from __future__ import annotations

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import StructuredTool
from pydantic import SecretStr
from temporalio.client import Client

from baton.gateway import TaskGateway
from bot.demo_front_model import DEMO_LABEL, DemoFrontModel, ToolCall, route
from bot.runtime import BotRuntime, chat_model_factory
from bot.settings import BotSettings, SettingsError, load_settings
from contracts import slack_idempotency_key, task_id_for
from sandbox import FakeSlackApi, Message, SlackDelivery
from tests.bot.test_slack_flows import CHANNEL, card
from tests.conftest import WorkerFactory
from tests.support import status_when

AGENTS = ["ops_audit", "sales_report", "diagnostic"]
TASK = "ops_audit-0123456789ab"


@pytest.mark.parametrize(("text", "agent"), [
    ("please audit the web fleet", "ops_audit"),
    ("check the disks, open ports and TLS certificates on our servers", "ops_audit"),
    ("can you look at the infrastructure?", "ops_audit"),
    ("an audit report of the fleet", "ops_audit"),
    ("sales report for EMEA", "sales_report"),
    ("revenue by region for Q3", "sales_report"),
    ("how did last quarter go for each region?", "sales_report"),
])
def test_plain_words_pick_the_agent_and_keep_the_persons_words_as_the_request(text: str, agent: str) -> None:
    assert route(text, AGENTS) == ToolCall("temporal_submit", {"agent": agent, "request": text})


def test_an_agent_named_in_the_words_is_started_with_the_rest_as_its_request() -> None:
    assert route("run diagnostic hello", AGENTS) == ToolCall("temporal_submit",
                                                             {"agent": "diagnostic", "request": "hello"})
    assert route("diagnostic: steps=2", AGENTS) == ToolCall("temporal_submit",
                                                            {"agent": "diagnostic", "request": "steps=2"})


def test_only_agents_in_the_catalog_are_started() -> None:
    assert route("audit the fleet", ["sales_report"]) is None
    assert route("run diagnostic hello", ["ops_audit"]) is None


@pytest.mark.parametrize(("text", "call"), [
    (f"how is {TASK} going?", ToolCall("temporal_status", {"task_id": TASK})),
    (f"status of {TASK}", ToolCall("temporal_status", {"task_id": TASK})),
    ("is `my-task.1` done?", ToolCall("temporal_status", {"task_id": "my-task.1"})),
    ("what's the status of my audit?", ToolCall("temporal_status", {"task_id": ""})),
    (f"cancel {TASK}", ToolCall("temporal_cancel", {"task_id": TASK, "reason": ""})),
    (f"please cancel the sales report {TASK.replace('ops_audit', 'sales_report')}",
     ToolCall("temporal_cancel", {"task_id": "sales_report-0123456789ab", "reason": ""})),
])
def test_status_and_cancel_questions_name_the_task_and_start_nothing(text: str, call: ToolCall) -> None:
    assert route(text, AGENTS) == call


@pytest.mark.parametrize("text", ["hello there", "help", "", "cancel it", "what can you do?"])
def test_anything_else_gets_help(text: str) -> None:
    assert route(text, AGENTS) is None


def _prompt() -> SystemMessage:
    return SystemMessage("You are Baton. Agents:\n- ops_audit: Audits hosts.\n- sales_report: Sales.")


def _tools(calls: list[tuple[str, dict[str, str]]]) -> list[StructuredTool]:
    """Stand-ins with the delegation tools' names and signatures (the real ones are exercised end to end below)."""

    async def temporal_submit(agent: str, request: str) -> str:
        """Start a task."""
        calls.append(("temporal_submit", {"agent": agent, "request": request}))
        return f"Started `{agent}-0123456789ab` ({agent}). Progress will appear in this thread."

    async def temporal_status(task_id: str = "") -> str:
        """A task's status."""
        calls.append(("temporal_status", {"task_id": task_id}))
        return f"ops_audit: Waiting for a decision ({task_id})"

    async def temporal_cancel(task_id: str, reason: str = "") -> str:
        """Cancel a task."""
        calls.append(("temporal_cancel", {"task_id": task_id, "reason": reason}))
        return f"Cancelling `{task_id}`."

    return [StructuredTool.from_function(coroutine=f) for f in (temporal_submit, temporal_status, temporal_cancel)]


async def test_in_a_langgraph_agent_it_calls_one_tool_then_answers_in_one_labelled_sentence() -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    agent = create_agent(DemoFrontModel(), _tools(calls), system_prompt=_prompt().content)
    result = await agent.ainvoke({"messages": [HumanMessage("please audit the web fleet")]})
    answer = result["messages"][-1]
    assert calls == [("temporal_submit", {"agent": "ops_audit", "request": "please audit the web fleet"})]
    assert isinstance(answer, AIMessage) and answer.content == (
        f"{DEMO_LABEL} Started `ops_audit-0123456789ab` (ops_audit); its progress and approvals will appear in "
        "this thread.")
    result = await agent.ainvoke({"messages": [HumanMessage(f"how is {TASK} going?")]})
    assert calls[-1] == ("temporal_status", {"task_id": TASK})
    assert result["messages"][-1].content == f"{DEMO_LABEL} ops_audit: Waiting for a decision ({TASK})"


async def test_without_a_fitting_tool_it_answers_with_labelled_help_naming_the_catalog() -> None:
    model = DemoFrontModel().bind_tools(_tools([]))
    reply = await model.ainvoke([_prompt(), HumanMessage("hello there")])
    assert isinstance(reply, AIMessage) and not reply.tool_calls
    assert isinstance(reply.content, str) and reply.content.startswith(DEMO_LABEL)
    assert "`ops_audit`, `sales_report`" in reply.content and "/baton help" in reply.content
    unbound = await DemoFrontModel().ainvoke([_prompt(), HumanMessage("audit the fleet")])
    assert not unbound.tool_calls, "no tool call for a tool it was not given"
    after = await model.ainvoke([_prompt(), HumanMessage("x"), ToolMessage("No such task.", tool_call_id="1")])
    assert after.content == f"{DEMO_LABEL} No such task."


def test_the_front_agent_is_the_model_when_configured_else_the_demo_model_and_grammar_on_request() -> None:
    base = {"slack_bot_token": "xoxb-1", "slack_signing_secret": "s", "openai_api_key": None,
            "openai_base_url": None, "baton_model": None}
    demo = load_settings(**base)
    assert demo.front_agent == "demo" and chat_model_factory(demo) is DemoFrontModel
    keyed = load_settings(**{**base, "openai_api_key": SecretStr("sk-test")})
    assert keyed.front_agent == "model" and keyed.model_name == "gpt-4o-mini"
    local = load_settings(**{**base, "openai_base_url": "http://127.0.0.1:11434/v1", "baton_model": "llama3"})
    assert local.front_agent == "model" and local.model_name == "llama3"
    grammar = load_settings(**{**base, "openai_api_key": SecretStr("sk-test"), "baton_front_agent": "Grammar"})
    assert grammar.front_agent == "grammar" and chat_model_factory(grammar) is None
    with pytest.raises(SettingsError, match="BATON_FRONT_AGENT"):
        load_settings(**{**base, "baton_front_agent": "model"})
    with pytest.raises(SettingsError, match="BATON_FRONT_AGENT"):
        load_settings(**{**base, "baton_front_agent": "gpt"})


def _replies(slack: FakeSlackApi, thread_ts: str, bot_user: str) -> list[Message]:
    return [m for m in slack.messages_in(CHANNEL, thread_ts) if m.user == bot_user and DEMO_LABEL in m.text]


async def test_a_plain_words_mention_starts_ops_audit_in_its_thread_and_every_reply_is_labelled(
        slack: FakeSlackApi, bot_settings: BotSettings, bot: BotRuntime, sender: SlackDelivery,
        agent_worker: WorkerFactory, gateway: TaskGateway, temporal_client: Client) -> None:
    assert bot_settings.front_agent == "demo"
    async with agent_worker():
        _, event = await sender.say("U02BOB", CHANNEL, "<@U0BATONBOT> please audit the web fleet")
        thread = slack.message(CHANNEL, event["ts"])
        task_id = task_id_for("ops_audit", slack_idempotency_key(slack.team_id, CHANNEL, event["ts"]))
        [started] = await slack.wait_for(lambda: _replies(slack, event["ts"], slack.bot_user_id))
        assert started.text.startswith(f"{DEMO_LABEL} Started `{task_id}` (ops_audit)")
        await slack.wait_for(lambda: card(slack, thread), timeout=60)
        status = await gateway.status(task_id)
        assert status.request_text == "please audit the web fleet" and status.requester.user_id == "U02BOB"
        assert status.requester.thread_ts == event["ts"]

        await sender.say("U02BOB", CHANNEL, f"<@U0BATONBOT> how is {task_id} going?", thread_ts=event["ts"])
        asked = await slack.wait_for(lambda: len(_replies(slack, event["ts"], slack.bot_user_id)) == 2
                                     and _replies(slack, event["ts"], slack.bot_user_id)[1])
        assert "Waiting for a decision" in asked.text and task_id in asked.text
        await sender.say("U02BOB", CHANNEL, f"<@U0BATONBOT> cancel {task_id}", thread_ts=event["ts"])
        cancelled = await slack.wait_for(lambda: len(_replies(slack, event["ts"], slack.bot_user_id)) == 3
                                         and _replies(slack, event["ts"], slack.bot_user_id)[2])
        assert cancelled.text == f"{DEMO_LABEL} Cancelling `{task_id}`."
        await status_when(gateway, task_id, lambda s: s.phase == "cancelled")
    executions = [e async for e in temporal_client.list_workflows(f"WorkflowId = '{task_id}'")]
    assert len(executions) == 1, "the status question and the cancel started nothing"

