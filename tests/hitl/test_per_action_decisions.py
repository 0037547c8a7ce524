"""One decision per action (issue #15 item 1), on the real dev server: LangChain's own `create_agent` with a batched
`HumanInTheLoopMiddleware` proposes two tool calls in one turn; each action is decided on its own, as its own review
config allows, by whoever the policy allows, and the agent resumes only once both are decided. What the model is
sent next (the ToolMessages) proves what the agent received.
"""

from __future__ import annotations

import re
from argparse import Namespace
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import StateGraph

from baton import commands
from baton.errors import DecisionRejected
from baton.gateway import TaskGateway
from contracts import ApprovalPolicyV1, DecisionKind, DecisionV1, TaskRequestV1, TaskResultV1, TaskStatusV1, utc_now
from sandbox.openai_server import FakeOpenAI, tool_calls
from tests.conftest import WorkerFactory
from tests.support import make_request, status_when
from workers.interrupts import checkpoint_from_interrupt, resume_value
from workers.registry import AgentContext, AgentRegistry, AgentSpec

LEAD = "U_LEAD"
done: list[str] = []


@tool
def write_file(path: str) -> str:
    """Write the notes file."""
    done.append(f"write {path}")
    return f"wrote {path}"


@tool
def delete_rows(table: str) -> str:
    """Delete every row of a table."""
    done.append(f"delete {table}")
    return f"deleted {table}"


def build(context: AgentContext) -> StateGraph[Any]:
    middleware = HumanInTheLoopMiddleware(interrupt_on={
        "write_file": True,  # approve, edit, reject, respond
        "delete_rows": {"allowed_decisions": ["approve", "reject"]},
    })
    return create_agent(context.chat_model(), tools=[write_file, delete_rows], middleware=[middleware]).builder


def result(state: dict[str, Any]) -> TaskResultV1:
    return TaskResultV1(outcome="success", summary=str(state["messages"][-1].content))


REGISTRY = AgentRegistry([AgentSpec("batch", "Two gated tools in one turn", build,
                                    lambda r: {"messages": [{"role": "user", "content": r.text}]}, result)])


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as llm:
        llm.script(tool_calls(("write_file", {"path": "/a"}), ("delete_rows", {"table": "orders"})), "Done.")
        yield llm


def chat_model(llm: FakeOpenAI) -> ChatOpenAI:
    return ChatOpenAI(base_url=llm.base_url, api_key=llm.api_key, model="fake-model", max_retries=0,  # type: ignore[arg-type]
                      timeout=5.0)


async def waiting(gateway: TaskGateway, policy: ApprovalPolicyV1 | None = None) -> TaskRequestV1:
    request = make_request("batch", "tidy up", approval=policy or ApprovalPolicyV1(approvers=[LEAD]))
    await gateway.submit(request)
    await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")
    return request


def decision(status: TaskStatusV1, action: int | None, kind: DecisionKind, by: str = LEAD,
             **extra: Any) -> DecisionV1:
    assert status.pending_checkpoint is not None
    return DecisionV1(checkpoint_id=status.pending_checkpoint.id, action=action, decision=kind, by=by, at=utc_now(),
                      **extra)


def tool_results(llm: FakeOpenAI) -> list[str]:
    """The ToolMessages of the model's last call: what the agent made of the decisions."""
    return sorted(str(m.get("content")) for m in llm.calls[-1].messages if m.get("role") == "tool")


async def test_approving_one_action_and_rejecting_the_other_runs_only_the_approved_one_after_both_are_decided(
        gateway: TaskGateway, agent_worker: WorkerFactory, model: FakeOpenAI) -> None:
    done.clear()
    async with agent_worker(registry=REGISTRY, chat_model=lambda: chat_model(model)):
        request = await waiting(gateway)
        status = await gateway.status(request.task_id)
        checkpoint = status.pending_checkpoint
        assert checkpoint is not None
        assert [a.allowed_decisions for a in checkpoint.actions] == [["accept", "edit", "respond", "reject"],
                                                                      ["accept", "reject"]]
        refusals = {
            "decide each one: 1. write_file (pending), 2. delete_rows (pending)": decision(status, None, "accept"),
            "not an approver": decision(status, 0, "accept", by="U_STRANGER"),
            "'edit' is not a decision this checkpoint allows": decision(status, 1, "edit",
                                                                         edited_args={"table": "audit"}),
            "no action 3": decision(status, 2, "accept"),
        }
        for why, refused in refusals.items():
            with pytest.raises(DecisionRejected, match=re.escape(why)):
                await gateway.decide(request.task_id, refused)

        first = await gateway.decide(request.task_id, decision(status, 0, "accept"))
        assert first.outcome == "decided" and "1 of 2 actions decided" in first.message
        with pytest.raises(DecisionRejected, match="already chose accept"):
            await gateway.decide(request.task_id, decision(status, 0, "reject"))
        between = await gateway.status(request.task_id)
        assert between.phase == "waiting_for_human" and model.call_count == 1, "nothing resumes before all decided"
        assert between.pending_checkpoint is not None and between.pending_checkpoint.actions[0].decision is not None

        await gateway.decide(request.task_id, decision(status, 1, "reject", text="keep the orders"))
        final = await gateway.result(request.task_id)

    assert final.summary == "Done." and done == ["write /a"]
    assert tool_results(model) == ["User rejected the tool call for `delete_rows` with reason: keep the orders",
                                   "wrote /a"]
    [record] = (await gateway.status(request.task_id)).decisions
    assert record.text is not None and "1. write_file: accept by U_LEAD" in record.text


async def test_the_cli_refuses_without_action_then_edits_one_action_by_name_and_approves_the_other_by_number(
        gateway: TaskGateway, agent_worker: WorkerFactory, model: FakeOpenAI) -> None:
    done.clear()
    async with agent_worker(registry=REGISTRY, chat_model=lambda: chat_model(model)):
        request = await waiting(gateway)

        def cli(decision: str, action: str | None, args: str | None = None) -> Namespace:
            return Namespace(task=request.task_id, decision=decision, action=action, args=args, text=None,
                             as_user=LEAD)

        with pytest.raises(ValueError, match=r"2 actions; decide each one: 1\. write_file .*2\. delete_rows"):
            await commands.decide(gateway, cli("approve", None))
        with pytest.raises(ValueError, match="no action is named 'drop_table'"):
            await commands.decide(gateway, cli("approve", "drop_table"))
        edited = await commands.decide(gateway, cli("edit", "write_file", '{"path": "/b"}'))
        assert edited.startswith("Approve write_file?: edit by U_LEAD")
        await commands.decide(gateway, cli("approve", "2"))
        await gateway.result(request.task_id)

    assert done == ["write /b", "delete orders"]
    edited_result, deleted = tool_results(model)
    assert deleted == "deleted orders"
    assert 'write_file with arguments {"path": "/b"}' in edited_result and edited_result.endswith("wrote /b")


async def test_a_quorum_counts_for_each_action_on_its_own(
        gateway: TaskGateway, agent_worker: WorkerFactory, model: FakeOpenAI) -> None:
    done.clear()
    async with agent_worker(registry=REGISTRY, chat_model=lambda: chat_model(model)):
        request = await waiting(gateway, ApprovalPolicyV1(approvers=["U_A", "U_B"], quorum=2))
        status = await gateway.status(request.task_id)
        outcomes = [await gateway.decide(request.task_id, decision(status, action, "accept", by=by))
                    for action, by in ((0, "U_A"), (1, "U_A"), (0, "U_B"))]
        assert [(o.outcome, o.approvals) for o in outcomes] == [("approval_recorded", 1), ("approval_recorded", 1),
                                                                ("decided", 2)]
        assert model.call_count == 1, "action 2 still needs its second approval"
        last = await gateway.decide(request.task_id, decision(status, 1, "accept", by="U_B"))
        assert last.outcome == "decided" and "2 of 2 actions decided" in last.message
        await gateway.result(request.task_id)
    assert done == ["write /a", "delete orders"]


def test_an_expiry_leaves_each_undecided_action_the_nearest_decision_its_policy_allows() -> None:
    """Only an expiry resumes with actions undecided: the decided ones keep their decision, the others get the
    policy's default where their review config allows it, else the safest decision it does."""
    checkpoint = checkpoint_from_interrupt("cp", {
        "action_requests": [{"name": "write_file", "args": {"path": "/a"}}, {"name": "ask", "args": {}}],
        "review_configs": [{"action_name": "write_file", "allowed_decisions": ["approve", "reject"]},
                           {"action_name": "ask", "allowed_decisions": ["respond"]}],
    })
    now = utc_now()
    approved = DecisionV1(checkpoint_id="cp", action=0, decision="accept", by=LEAD, at=now)
    expiry = DecisionV1(checkpoint_id="cp", decision="reject", text="expired", by="expiry", at=now)
    assert resume_value(checkpoint, expiry) == {"decisions": [{"type": "reject", "message": "expired"},
                                                              {"type": "respond", "message": "expired"}]}
    partly = checkpoint.model_copy(update={"actions": [checkpoint.actions[0].model_copy(update={"decision": approved}),
                                                       checkpoint.actions[1]]})
    assert resume_value(partly, expiry)["decisions"][0] == {"type": "approve"}
