"""Agents written to each human-in-the-loop convention run unchanged under Baton: on the real Temporal dev server,
with a scripted model, each test asserts what the agent's code received (the arguments its tool ran with, the
value `interrupt()` returned, the ToolMessage the model sees next, the state after resume), and that a decision
the agent's policy does not offer is refused before anything is written."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from baton import commands
from baton.cli import build_parser
from baton.errors import DecisionRejected
from baton.gateway import TaskGateway
from contracts import DecisionV1, TaskStatusV1, utc_now
from sandbox.openai_server import FakeOpenAI, tool_call
from tests.conventions.agents import RECEIVED
from tests.conventions.conftest import Decide, Start
from workers.plain_answers import UNDECLARED_NOTE

Finished = Callable[[str], Awaitable[TaskStatusV1]]


def state_of(status: TaskStatusV1) -> dict[str, Any]:
    assert status.result is not None and status.result.outcome == "success", status.result
    return dict(json.loads(status.result.summary))


def tool_messages(model: FakeOpenAI) -> list[str]:
    """The ToolMessages the model saw in its latest call."""
    return [str(m.get("content")) for m in model.ok_calls[-1].messages if m.get("role") == "tool"]


async def refused(decide: Decide, *args: Any, **extra: Any) -> None:
    with pytest.raises(DecisionRejected, match="not a decision this checkpoint allows"):
        await decide(*args, **extra)


# -- HumanInTheLoopMiddleware, per call ------------------------------------------------------------------------


async def test_per_call_policy_of_approve_or_reject_refuses_edit_and_the_model_sees_the_rejection(
    fake_model: FakeOpenAI, start: Start, decide: Decide, finished: Finished, conventions_gateway: TaskGateway
) -> None:
    fake_model.script(tool_call("delete_rows", {"table": "users", "where": "id = 1"}, id="call_del"), "Left alone.")
    task_id, checkpoint = await start("per_call_files", "clean up users")
    assert checkpoint.convention == "hitl_middleware"
    assert checkpoint.allowed_decisions == ["accept", "reject"]
    await refused(decide, task_id, checkpoint, "edit", edited_args={"table": "users", "where": "true"})
    assert (await conventions_gateway.status(task_id)).decisions == []

    await decide(task_id, checkpoint, "reject", text="Never delete users.")
    assert state_of(await finished(task_id)) == {}
    assert RECEIVED[task_id] == []  # the tool never ran
    assert any("Never delete users." in message for message in tool_messages(fake_model))


async def test_per_call_edit_runs_the_tool_with_the_edited_arguments(
    fake_model: FakeOpenAI, start: Start, decide: Decide, finished: Finished
) -> None:
    fake_model.script(tool_call("write_file", {"path": "a.txt", "content": "x"}, id="call_w"), "Written.")
    task_id, checkpoint = await start("per_call_files", "write a file")
    assert checkpoint.allowed_decisions == ["accept", "edit", "respond", "reject"]
    assert checkpoint.args_schema is not None and set(checkpoint.args_schema["properties"]) == {"path", "content"}

    await decide(task_id, checkpoint, "edit", edited_args={"path": "b.txt", "content": "yes"})
    await finished(task_id)
    assert RECEIVED[task_id] == [{"write_file": {"path": "b.txt", "content": "yes"}}]
    assert any("3 bytes to b.txt" in message for message in tool_messages(fake_model))


async def test_an_edit_the_tool_schema_rejects_fails_the_task_at_once_naming_the_field(
    fake_model: FakeOpenAI, start: Start, decide: Decide, finished: Finished
) -> None:
    fake_model.script(tool_call("write_file", {"path": "a.txt", "content": "x"}, id="call_bad"), "Written.")
    task_id, checkpoint = await start("per_call_files", "write a file")
    await decide(task_id, checkpoint, "edit", edited_args={"path": "b.txt"})

    status = await finished(task_id)
    assert status.result is not None and status.result.error is not None
    assert status.result.error.type == "AgentFailed" and not status.result.error.retryable
    assert "The agent refused the answer" in status.result.error.message
    assert "content" in status.result.error.message
    assert status.attempt == 1  # not retried five times
    assert RECEIVED[task_id] == []


# -- Agent Inbox -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "extra", "received", "outcome"), [
    ("accept", {}, {"type": "accept", "args": None}, "deployed web x2"),
    ("edit", {"edited_args": {"service": "api", "replicas": 3}},
     {"type": "edit", "args": {"action": "deploy", "args": {"service": "api", "replicas": 3}}}, "deployed api x3"),
    ("respond", {"text": "Wait for the freeze to end."},
     {"type": "response", "args": "Wait for the freeze to end."}, "asked: Wait for the freeze to end."),
    ("ignore", {}, {"type": "ignore", "args": None}, "ignored"),
])
async def test_agent_inbox_each_response_type_reaches_the_agent_as_the_inbox_sends_it(
    start: Start, decide: Decide, finished: Finished, kind: str, extra: dict[str, Any], received: Any, outcome: str
) -> None:
    task_id, checkpoint = await start("inbox_deploy", "deploy")
    assert checkpoint.allowed_decisions == ["accept", "edit", "respond", "ignore"]
    await decide(task_id, checkpoint, kind, **extra)
    assert state_of(await finished(task_id))["outcome"] == outcome
    assert RECEIVED[task_id] == [received]


async def test_agent_inbox_config_flags_limit_the_decisions(start: Start, decide: Decide) -> None:
    task_id, checkpoint = await start("inbox_deploy", "deploy no-edit")
    assert checkpoint.allowed_decisions == ["accept", "respond", "ignore"]
    await refused(decide, task_id, checkpoint, "edit", edited_args={"service": "api", "replicas": 3})
    await refused(decide, task_id, checkpoint, "reject")
    await decide(task_id, checkpoint, "accept")


# -- plain interrupts ------------------------------------------------------------------------------------------


async def test_declared_review_and_edit_keeps_the_draft_on_approve_and_takes_the_edit(
    start: Start, decide: Decide, finished: Finished
) -> None:
    approved_id, checkpoint = await start("review_edit", "q3 numbers")
    assert checkpoint.allowed_decisions == ["accept", "edit"]
    assert checkpoint.proposed_action is not None
    assert checkpoint.proposed_action.args == {"summary": "Draft: q3 numbers"}  # the Edit form starts from the draft
    assert checkpoint.args_schema is not None and "summary" in checkpoint.args_schema["properties"]
    await decide(approved_id, checkpoint, "accept")
    assert state_of(await finished(approved_id))["summary"] == "Draft: q3 numbers"
    assert RECEIVED[approved_id] == [{"summary": "Draft: q3 numbers"}]

    edited_id, checkpoint = await start("review_edit", "q4 numbers")
    await decide(edited_id, checkpoint, "edit", edited_args={"summary": "Q4 was flat."})
    assert state_of(await finished(edited_id))["summary"] == "Q4 was flat."


async def test_declared_approve_or_reject_resumes_with_false_on_reject_and_offers_no_text(
    start: Start, decide: Decide, finished: Finished
) -> None:
    task_id, checkpoint = await start("transfer", "pay ACME")
    assert checkpoint.allowed_decisions == ["accept", "reject"]
    await refused(decide, task_id, checkpoint, "respond", text="No, do not transfer.")
    await decide(task_id, checkpoint, "reject")
    assert state_of(await finished(task_id))["approved"] is False
    assert RECEIVED[task_id] == [False]


async def test_undeclared_plain_interrupt_offers_respond_alone_and_passes_the_answer_as_typed(
    start: Start, decide: Decide, finished: Finished
) -> None:
    text_id, checkpoint = await start("free_question", "report")
    assert checkpoint.allowed_decisions == ["respond"]
    assert UNDECLARED_NOTE in checkpoint.description
    await refused(decide, text_id, checkpoint, "accept")
    await decide(text_id, checkpoint, "respond", text="No, do not transfer.")
    await finished(text_id)
    assert RECEIVED[text_id] == ["No, do not transfer."]

    json_id, checkpoint = await start("free_question", "report")
    await decide(json_id, checkpoint, "respond", text='{"region": "EMEA", "months": [1, 2]}', text_is_json=True)
    assert state_of(await finished(json_id))["answer"] == {"region": "EMEA", "months": [1, 2]}


async def test_interrupt_inside_a_tool_gets_the_dict_its_spec_declares(
    fake_model: FakeOpenAI, start: Start, decide: Decide, finished: Finished
) -> None:
    fake_model.script(tool_call("book_hotel", {"hotel_name": "Grand"}, id="call_hotel"), "Booked for you.")
    task_id, checkpoint = await start("hotel", "book me a hotel")
    assert checkpoint.convention == "plain"
    assert checkpoint.allowed_decisions == ["accept", "edit", "reject"]
    assert checkpoint.proposed_action is not None
    assert checkpoint.proposed_action.args == {}  # Approve's {"type": "accept"} is no edit to start from
    await decide(task_id, checkpoint, "edit", edited_args={"type": "edit", "args": {"hotel_name": "Savoy"}})
    await finished(task_id)
    assert RECEIVED[task_id] == [{"type": "edit", "args": {"hotel_name": "Savoy"}}]
    assert tool_messages(fake_model) == ["Booked a stay at Savoy."]


async def test_baton_decide_json_sends_the_parsed_answer_and_refuses_text_that_is_not_json(
    start: Start, finished: Finished, conventions_gateway: TaskGateway
) -> None:
    task_id, _ = await start("free_question", "report")
    bad = build_parser().parse_args(["decide", task_id, "respond", "--text", "EMEA", "--json"])
    with pytest.raises(ValueError, match="--json: --text is not JSON"):
        await commands.decide(conventions_gateway, bad)
    good = build_parser().parse_args(["decide", task_id, "respond", "--text", '["EMEA", "APAC"]', "--json"])
    await commands.decide(conventions_gateway, good)
    assert state_of(await finished(task_id))["answer"] == ["EMEA", "APAC"]


async def test_an_answer_marked_json_that_is_not_json_is_refused_before_anything_is_written(
    start: Start, conventions_gateway: TaskGateway
) -> None:
    task_id, checkpoint = await start("free_question", "report")
    forged = DecisionV1.model_construct(checkpoint_id=checkpoint.id, decision="respond", text="EMEA", text_is_json=True,
                                        by="U_APPROVER", by_groups=[], at=utc_now(), schema_version=1)
    with pytest.raises(DecisionRejected, match="Failed decoding arguments"):  # DecisionV1's own validator
        await conventions_gateway.decide(task_id, forged)
    status = await conventions_gateway.status(task_id)
    assert status.decisions == [] and status.pending_checkpoint is not None
    history = await conventions_gateway.client.get_workflow_handle(task_id).fetch_history()
    assert not [e for e in history.events if "update" in (e.WhichOneof("attributes") or "")]
