"""An interactive LangChain agent delegates to Temporal through baton.tools, never importing Temporal itself."""

from __future__ import annotations

from langchain.agents import create_agent
from langchain_core.messages import ToolMessage

from baton.gateway import TaskGateway
from baton.tools import delegation_tools
from contracts import RequesterV1
from sandbox.openai_server import FakeOpenAI, tool_call
from tests.conftest import WorkerFactory
from tests.support import status_when
from workers.llm import make_chat_model

ALICE = RequesterV1(platform="api", user_id="U_ALICE")


def _tool_answers(result: dict[str, object]) -> list[str]:
    return [str(m.content) for m in result["messages"] if isinstance(m, ToolMessage)]  # type: ignore[attr-defined]


async def test_an_agent_submits_follows_and_cancels_a_task_through_the_tools(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    async with FakeOpenAI() as model_server, agent_worker():
        model = make_chat_model(model="fake", api_key=model_server.api_key, base_url=model_server.base_url)
        turn = iter(range(100))
        tools = delegation_tools(gateway, ALICE, idempotency_key=lambda agent, text: f"turn-{next(turn)}")
        agent = create_agent(model, tools)

        model_server.script(tool_call("temporal_submit", {"agent": "diagnostic", "request": "count to 400"}), "ok")
        submitted = await agent.ainvoke({"messages": [("user", "count to 400 slowly")]})
        answer = _tool_answers(submitted)[0]
        assert answer.startswith("Started task diagnostic-")
        task_id = answer.removeprefix("Started task ").rstrip(".")
        assert (await gateway.status(task_id)).requester.user_id == "U_ALICE"

        model_server.script(tool_call("temporal_status", {"task_id": task_id}), "fine")
        followed = await agent.ainvoke({"messages": [("user", f"how is {task_id}?")]})
        assert f"Task {task_id} (diagnostic) is " in _tool_answers(followed)[0]

        model_server.script(tool_call("temporal_submit", {"agent": "no_such_agent", "request": "x"}), "sorry")
        refused = await agent.ainvoke({"messages": [("user", "use the no_such_agent")]})
        assert "Unknown agent 'no_such_agent'" in _tool_answers(refused)[0]


async def test_the_tools_refuse_to_cancel_someone_elses_task(gateway: TaskGateway, agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        alice_tools = {t.name: t for t in delegation_tools(gateway, ALICE)}
        started = await alice_tools["temporal_submit"].ainvoke(
            {"agent": "diagnostic", "request": "slow", "parameters": {"steps": 300, "step_seconds": 0.1}}
        )
        task_id = started.removeprefix("Started task ").rstrip(".")
        bob_tools = {t.name: t for t in delegation_tools(gateway, RequesterV1(platform="api", user_id="U_BOB"))}
        refused = await bob_tools["temporal_cancel"].ainvoke({"task_id": task_id})
        assert refused.startswith("Only the person who started")
        accepted = await alice_tools["temporal_cancel"].ainvoke({"task_id": task_id, "reason": "done"})
        assert accepted == f"Cancellation requested for {task_id}."
        cancelled = await status_when(gateway, task_id, lambda s: s.phase == "cancelled")
    assert cancelled.cancellation is not None and cancelled.cancellation.by == "U_ALICE"
