"""Bounds on what an agent and a person put into checkpoints and decisions (MAX_ARGS_BYTES), and the argument schema
an interrupt may carry: an oversized question fails the task at once without bloating the history, and the CLI
refuses an edit that is too large or breaks the schema with one line, before anything reaches the workflow."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import ValidationError
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from baton.devserver import DevServer
from baton.gateway import TaskGateway
from contracts import DecisionV1, TaskRequestV1, TaskResultV1, utc_now
from contracts.checkpoint import MAX_ARGS_BYTES, json_bytes
from tests.conftest import WorkerFactory
from tests.support import make_request, status_when
from workers.interrupts import CheckpointTooLarge, checkpoint_from_interrupt
from workers.registry import AgentContext, AgentRegistry, AgentSpec

SCALE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"service": {"type": "string"}, "replicas": {"type": "integer", "minimum": 1}},
    "required": ["service", "replicas"],
    "additionalProperties": False,
}


class AskState(TypedDict, total=False):
    text: str
    applied: dict[str, Any]


def _result(state: dict[str, Any]) -> TaskResultV1:
    return TaskResultV1(outcome="success", summary=f"applied {json.dumps(state.get('applied'), sort_keys=True)}")


def _one_node(node: Any) -> Any:
    def build(context: AgentContext) -> StateGraph[Any]:
        return StateGraph(AskState).add_node("ask", node).add_edge(START, "ask").add_edge("ask", END)

    return build


def _initial(request: TaskRequestV1) -> dict[str, Any]:
    return {"text": request.text}


async def ask_about_200_kb(state: AskState) -> AskState:
    """An agent that wants a person to review 200 rows of 1 KB each: the data, not a reference to it."""
    rows = [f"{i:04d}" + "x" * 1020 for i in range(200)]
    request = {
        "action_requests": [{"name": "import_rows", "args": {"rows": rows}, "description": "Import these rows"}],
        "review_configs": [{"action_name": "import_rows", "allowed_decisions": ["approve", "reject"]}],
    }
    interrupt(request)
    return {"applied": {"rows": len(rows)}}


async def ask_to_scale(state: AskState) -> AskState:
    """Agent Inbox, with the tool's argument schema on the action request (Baton's extension)."""
    request = {
        "action_request": {"action": "scale", "args": {"service": "web", "replicas": 3}, "args_schema": SCALE_SCHEMA},
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": False, "allow_ignore": True},
        "description": "Scale the web tier",
    }
    response = interrupt([request])[0]
    applied = response["args"]["args"] if response["type"] == "edit" else {"service": "web", "replicas": 3}
    return {"applied": applied}


HUGE_QUESTION = AgentSpec("huge_question", "Asks about 200 KB of arguments", _one_node(ask_about_200_kb), _initial,
                          _result)
SCALER = AgentSpec("inbox_scaler", "Asks to scale a service, with an argument schema", _one_node(ask_to_scale),
                   _initial, _result)


# -- an oversized question fails the task --------------------------------------------------------------------------


async def test_an_interrupt_with_200_kb_of_arguments_fails_the_task_at_once_with_a_readable_error(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(agent="huge_question", max_attempts=5)
    async with agent_worker(registry=AgentRegistry([HUGE_QUESTION])):
        await gateway.submit(request)
        handle = gateway.client.get_workflow_handle(request.task_id)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        description = await handle.describe()
        history = await handle.fetch_history()
    expected = re.compile(r"The agent's question is too large for a checkpoint \(20\d KB of arguments; the limit is "
                          r"64 KB\)\. Have the agent propose a reference to the data")
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "CheckpointTooLarge"
    assert expected.search(str(cause)), str(cause)
    assert description.status == WorkflowExecutionStatus.FAILED

    final = await gateway.status(request.task_id)
    assert final.phase == "failed" and final.pending_checkpoint is None
    assert final.result is not None and final.result.error is not None
    assert final.result.error.type == "CheckpointTooLarge" and not final.result.error.retryable
    assert expected.search(final.result.error.message) and expected.search(final.result.summary)

    started = [e.activity_task_started_event_attributes for e in history.events
               if e.HasField("activity_task_started_event_attributes")]
    assert [s.attempt for s in started] == [1], "non-retryable: one attempt of the five allowed"
    history_bytes = sum(event.ByteSize() for event in history.events)
    assert history_bytes < 24_000, f"the 200 KB stayed out of the history, which holds {history_bytes} bytes"


def test_an_oversized_interrupt_value_or_argument_schema_is_refused_and_named() -> None:
    with pytest.raises(CheckpointTooLarge, match=r"\(98 KB of interrupt value; the limit is 64 KB\)") as plain:
        checkpoint_from_interrupt("i1", "Which of these? " + "y" * 100_000)
    assert plain.value.type == "CheckpointTooLarge" and plain.value.non_retryable

    per_call = {"type": "tool_approval", "tool_call_id": "t1", "name": "scale", "args": {"replicas": 1},
                "description": "Scale"}
    huge_tool = {**SCALE_SCHEMA, "description": "z" * 70_000}
    with pytest.raises(CheckpointTooLarge, match=r"\(69 KB of argument schema; the limit is 64 KB\)"):
        checkpoint_from_interrupt("i2", per_call, response_schema=_decision_schema(huge_tool))


def _decision_schema(tool_schema: dict[str, Any]) -> dict[str, Any]:
    """The shape of LangChain's per-call `response_schema` (pydantic's JSON Schema of its decision union)."""
    return {
        "$defs": {
            "ApproveDecision": {"properties": {"type": {"const": "approve"}}, "required": ["type"]},
            "EditDecision": {"properties": {"type": {"const": "edit"},
                                            "edited_action": {"$ref": "#/$defs/EditedAction"}}},
            "EditedAction": {"properties": {"name": {"const": "scale"}, "args": {"$ref": "#/$defs/scale"}}},
            "scale": tool_schema,
        },
        "discriminator": {"propertyName": "type"},
        "oneOf": [{"$ref": "#/$defs/ApproveDecision"}, {"$ref": "#/$defs/EditDecision"}],
    }


def test_arguments_just_under_the_bound_make_a_checkpoint() -> None:
    args = {"blob": "a" * (MAX_ARGS_BYTES - 200)}
    checkpoint = checkpoint_from_interrupt("i3", [{"action_request": {"action": "store", "args": args},
                                                   "config": {"allow_accept": True}}])
    assert checkpoint.proposed_action is not None and checkpoint.proposed_action.args == args


# -- where the argument schema comes from --------------------------------------------------------------------------


def test_the_argument_schema_comes_from_the_response_schema_review_config_or_inbox_request_if_edit_is_allowed() -> None:
    batched = {
        "action_requests": [{"name": "scale", "args": {"service": "web", "replicas": 3}}],
        "review_configs": [
            {"action_name": "scale", "allowed_decisions": ["approve", "edit"], "args_schema": SCALE_SCHEMA}
        ],
    }
    assert checkpoint_from_interrupt("b", batched).args_schema == SCALE_SCHEMA
    no_edit = {**batched, "review_configs": [{**batched["review_configs"][0], "allowed_decisions": ["approve"]}]}
    assert checkpoint_from_interrupt("b", no_edit).args_schema is None, "nothing to check without edit"
    per_call = {"type": "tool_approval", "tool_call_id": "t1", "name": "scale", "args": {}, "description": "Scale"}
    assert checkpoint_from_interrupt("p", per_call, response_schema=_decision_schema(SCALE_SCHEMA)).args_schema == (
        SCALE_SCHEMA
    )
    inbox = [{"action_request": {"action": "scale", "args": {}, "args_schema": SCALE_SCHEMA},
              "config": {"allow_edit": True}}]
    assert checkpoint_from_interrupt("c", inbox).args_schema == SCALE_SCHEMA
    says_nothing = [{"action_request": {"action": "scale", "args": {}, "args_schema": {"type": "object"}},
                     "config": {"allow_edit": True}}]
    assert checkpoint_from_interrupt("d", says_nothing).args_schema is None
    assert "args_schema" not in checkpoint_from_interrupt("d", says_nothing).model_dump(mode="json"), (
        "left out of the JSON while unused, so processes that predate the field read it"
    )


# -- the decision's bound ------------------------------------------------------------------------------------------


def test_a_decision_with_edited_arguments_over_the_bound_is_refused_by_the_contract() -> None:
    def decision(args: dict[str, Any]) -> DecisionV1:
        return DecisionV1(checkpoint_id="c", decision="edit", edited_args=args, by="U1", at=utc_now())

    fits = {"note": "é" * ((MAX_ARGS_BYTES - 20) // 2)}
    assert json_bytes(fits) <= MAX_ARGS_BYTES and decision(fits).edited_args == fits
    with pytest.raises(ValidationError, match=r"edited arguments too large: 65 KB of JSON; the limit is 64 KB"):
        decision({"note": "é" * (MAX_ARGS_BYTES // 2)})


# -- the CLI -------------------------------------------------------------------------------------------------------


async def _baton(server: DevServer, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "TEMPORAL_ADDRESS": server.address}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "baton.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_cli_refuses_an_edit_over_the_bound_or_against_the_schema_in_one_line_and_sends_a_valid_one(
    temporal_server: DevServer, gateway: TaskGateway, agent_worker: WorkerFactory, tmp_path: Path
) -> None:
    request = make_request(agent="inbox_scaler")
    async with agent_worker(registry=AgentRegistry([SCALER])):
        await gateway.submit(request)
        waiting = await status_when(gateway, request.task_id, lambda s: s.pending_checkpoint is not None)
        assert waiting.pending_checkpoint is not None and waiting.pending_checkpoint.args_schema == SCALE_SCHEMA
        huge = json.dumps({"service": "web", "replicas": 3, "note": "n" * 70_000})
        refusals = {
            huge: r"^baton: --args: The edited arguments are too large \(69 KB of JSON; the limit is 64 KB\)\.\n$",
            '{"service": "web", "replicas": "three"}': r"^baton: --args: replicas: 'three' is not of type 'integer'\n$",
            '{"service": "web", "replicas": 0}': r"^baton: --args: replicas: 0 is less than the minimum of 1\n$",
            '{"service": "web"}': r"^baton: --args: 'replicas' is a required property\n$",
            '["web", 3]': r"^baton: --args must be a JSON object",
        }
        for args, expected in refusals.items():
            code, out, err = await _baton(temporal_server, "decide", request.task_id, "edit", "--args", args)
            assert (code, out) == (2, "") and re.search(expected, err), err
        history = await gateway.client.get_workflow_handle(request.task_id).fetch_history()
        kinds = {event.WhichOneof("attributes") or "" for event in history.events}
        assert not [k for k in kinds if "update" in k], "no refused edit reached the workflow's history"

        code, out, err = await _baton(temporal_server, "decide", request.task_id, "edit", "--args",
                                      '{"service": "web", "replicas": 5}')
        assert code == 0, err
        result = await gateway.result(request.task_id)
    assert result.summary == 'applied {"replicas": 5, "service": "web"}'
