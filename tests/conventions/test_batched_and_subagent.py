"""The batched HumanInTheLoopMiddleware with a different decision for each action, and an interrupt inside a
subagent, run unchanged under Baton on the real dev server with a scripted model; each test asserts what the
agent's code received (the ToolMessages the model sees next, the arguments the tool ran with, the state after
resume).

Parallel interrupts (two nodes asking at once, and two per-call approvals of one turn) are proved on the real dev
server by tests/hitl/test_parallel_interrupts.py, not repeated here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from temporalio.client import Client

from baton.devserver import DevServer
from baton.gateway import TaskGateway
from contracts import TaskStatusV1
from sandbox.openai_server import FakeOpenAI, ToolCallReply, tool_calls
from tests.conventions.agents import RECEIVED
from tests.conventions.agents_batched_subagent import SPECS
from tests.conventions.conftest import Decide, Start, gateway_running, pending

Finished = Callable[[str], Awaitable[TaskStatusV1]]


@pytest.fixture(scope="module")
async def conventions_gateway(
    temporal_server: DevServer, temporal_client: Client, model: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TaskGateway]:
    """This module's worker, running its two agents (the conftest's fixtures start and decide through it)."""
    async with gateway_running(SPECS, temporal_server, temporal_client, model, tmp_path_factory) as gateway:
        yield gateway


def state_of(status: TaskStatusV1) -> dict[str, Any]:
    assert status.result is not None and status.result.outcome == "success", status.result
    return dict(json.loads(status.result.summary))


async def test_batched_middleware_approves_one_call_edits_another_and_rejects_the_third_each_as_decided(
    fake_model: FakeOpenAI, start: Start, decide: Decide, finished: Finished, conventions_gateway: TaskGateway
) -> None:
    fake_model.script(tool_calls(ToolCallReply("write_file", {"path": "a.txt", "content": "one"}, "call_a"),
                                 ToolCallReply("write_file", {"path": "b.txt", "content": "two"}, "call_b"),
                                 ToolCallReply("delete_rows", {"table": "users", "where": "true"}, "call_d")),
                      "Done.")
    task_id, checkpoint = await start("batched_files", "tidy up")
    assert checkpoint.convention == "hitl_middleware" and len(checkpoint.actions) == 3
    assert [a.allowed_decisions for a in checkpoint.actions] == [["accept", "edit", "respond", "reject"]] * 2 + [
        ["accept", "reject"]]

    await decide(task_id, checkpoint, "reject", action=2, text="Never delete users.")
    await decide(task_id, checkpoint, "edit", action=1, edited_args={"path": "c.txt", "content": "three"})
    assert (await conventions_gateway.status(task_id)).phase == "waiting_for_human", "one action is still undecided"
    assert fake_model.call_count == 1
    await decide(task_id, checkpoint, "accept", action=0)
    await finished(task_id)

    assert RECEIVED[task_id] == [{"write_file": {"path": "a.txt", "content": "one"}},
                                 {"write_file": {"path": "c.txt", "content": "three"}}], "the edit's args ran"
    seen = {m.get("tool_call_id"): str(m.get("content")) for m in fake_model.ok_calls[-1].messages
            if m.get("role") == "tool"}
    assert seen["call_a"] == "wrote 3 bytes to a.txt"
    assert "wrote 5 bytes to c.txt" in seen["call_b"]
    assert "Never delete users." in seen["call_d"] and "delete_rows" in seen["call_d"]


async def test_an_interrupt_inside_a_subagent_is_asked_for_and_the_resume_reaches_the_subagents_node(
    start: Start, decide: Decide, finished: Finished, conventions_gateway: TaskGateway
) -> None:
    task_id, checkpoint = await start("subagent", "the launch note")
    assert checkpoint.convention == "plain" and checkpoint.allowed_decisions == ["accept", "reject"]
    assert "Draft of the launch note" in json.dumps(checkpoint.raw_interrupt)
    await decide(task_id, checkpoint, "accept")
    state = state_of(await finished(task_id))

    assert RECEIVED[task_id] == [True], "the subagent's interrupt() returned the declared approve value"
    assert state["confirmed"] is True and state["report"] == "Draft of the launch note (sent)"
    assert state["steps"] == ["draft the launch note"]


async def test_a_rejected_subagent_question_resumes_with_the_declared_reject_value(
    start: Start, decide: Decide, finished: Finished, conventions_gateway: TaskGateway
) -> None:
    task_id, checkpoint = await start("subagent", "the memo")
    await decide(task_id, checkpoint, "reject")
    status = await pending(conventions_gateway, task_id, after=checkpoint.id)
    assert state_of(status)["report"] == "Draft of the memo (kept)" and RECEIVED[task_id] == [False]
