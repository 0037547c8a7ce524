"""`baton audit` and the "Decisions:" of `baton status`, run as the operator runs them: the console script as a
subprocess against the test's dev server and task queue, after the real worker took tasks through checkpoints (a
quorum of two with an edit by one person and an accept by another, and a checkpoint left to expire with the
policy's default); with BATON_PAYLOAD_KEYS the rows are decrypted; a running task whose worker is gone still has
its decisions read."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from baton.audit import args_diff
from baton.codec import ENCODING, new_key
from baton.devserver import DevServer
from baton.gateway import TaskGateway
from baton.temporal import connect
from contracts import (
    ApprovalPolicyV1,
    DecisionKind,
    NotifyInputV1,
    NotifyResultV1,
    RequesterV1,
    SlackMessagesV1,
    TaskRequestV1,
    current_args,
    utc_now,
)
from contracts.checkpoint import DecisionV1
from tests.conftest import WorkerFactory
from tests.hitl import two_gates
from tests.support import eventually, make_request, status_when
from workers.agents import ops_audit
from workers.config import WorkerSettings
from workers.demo_model import DemoChatModel
from workers.registry import AgentRegistry
from workers.worker import running_worker

BATON = Path(sys.executable).parent / "baton"
REGISTRY = AgentRegistry([ops_audit.SPEC, two_gates.SPEC])
TEAM, CHANNEL = "T0AUDIT", "C0AUDIT"


async def baton(server: DevServer, task_queue: str, *args: str, keys: str | None = None) -> tuple[int, str, str]:
    """The `baton` console script, pointed at this test's server and queue."""
    env = {k: v for k, v in os.environ.items() if k != "BATON_PAYLOAD_KEYS"}
    env |= {"TEMPORAL_ADDRESS": server.address, "BATON_TASK_QUEUE": task_queue, **({"BATON_PAYLOAD_KEYS": keys}
                                                                                     if keys else {})}
    process = await asyncio.create_subprocess_exec(
        str(BATON), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


def from_slack(request: TaskRequestV1, notify_queue: str) -> TaskRequestV1:
    requester = RequesterV1(platform="slack", team_id=TEAM, channel_id=CHANNEL, user_id="U_REQ",
                            thread_ts="1700000000.000100", notify_task_queue=notify_queue)
    return request.model_copy(update={"requester": requester})


@activity.defn(name="notify")
async def notify(note: NotifyInputV1) -> NotifyResultV1:
    """The bot's side of the thread, answered without Slack (the audit reads Temporal, not Slack)."""
    return NotifyResultV1(messages=SlackMessagesV1(status_ts="1700000000.000100"))


async def decide(gateway: TaskGateway, task_id: str, kind: DecisionKind, by: str, **extra: Any) -> dict[str, Any]:
    """As the bot decides: on the pending checkpoint, naming the arguments the person was shown; returns them."""
    status = await status_when(gateway, task_id, lambda s: s.pending_checkpoint is not None)
    checkpoint = status.pending_checkpoint
    assert checkpoint is not None
    shown = current_args(checkpoint)
    await gateway.decide(task_id, DecisionV1(checkpoint_id=checkpoint.id, decision=kind, by=by, at=utc_now(),
                                             **extra), approving=shown)
    return shown


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


async def test_audit_prints_a_quorum_edit_and_accept_and_an_expiry_default_as_a_table_and_json_lines(
    temporal_server: DevServer, task_queue: str, notify_task_queue: str, gateway: TaskGateway,
    agent_worker: WorkerFactory,
) -> None:
    quorum = ApprovalPolicyV1(approvers=["U_ALICE", "U_BOB"], quorum=2, requester_may_approve=False)
    edited = from_slack(make_request("ops_audit", "Audit prod", approval=quorum), notify_task_queue)
    expiring = from_slack(make_request("ops_audit", "Audit staging", approval=ApprovalPolicyV1(
        approvers=["U_ALICE"], expires_after_s=2, on_expiry="reject")), notify_task_queue)
    async with (
        agent_worker(registry=REGISTRY, chat_model=DemoChatModel),
        Worker(gateway.client, task_queue=notify_task_queue, activities=[notify]),
    ):
        await gateway.submit(edited)
        await gateway.submit(expiring)
        proposal = await decide(gateway, edited.task_id, "accept", by="U_BOB")
        assert len(proposal["steps"]) >= 2, proposal
        changed = {**proposal, "steps": proposal["steps"][:-1]}
        await decide(gateway, edited.task_id, "edit", by="U_ALICE", edited_args=changed)  # withdraws U_BOB's
        await decide(gateway, edited.task_id, "accept", by="U_BOB")
        assert "as edited" in (await gateway.result(edited.task_id)).summary
        await gateway.result(expiring.task_id)

    code, table, err = await baton(temporal_server, task_queue, "audit", edited.task_id)
    assert code == 0, err
    header, row = table.splitlines()
    assert header.split()[:4] == ["AT", "(UTC)", "TASK", "AGENT"]
    for expected in (edited.task_id, "ops_audit", "Approve apply_remediation?", " edit ", " U_BOB ",
                     "2/2 U_ALICE(edit) U_BOB; withdrawn: U_BOB", f"{TEAM}/{CHANNEL}",
                     f"steps[{len(changed['steps'])}]: removed", "approvers=U_ALICE,U_BOB quorum=2",
                     "requester-may-not-approve", "expires=1d on_expiry=reject"):
        assert expected in row, (expected, table)

    async def both_listed() -> list[dict[str, Any]] | None:  # visibility catches up with closed tasks shortly
        code, out, err = await baton(temporal_server, task_queue, "audit", "--since", "1h", "--json")
        assert code == 0, err
        records = json_lines(out)
        return records if {r["task_id"] for r in records} == {edited.task_id, expiring.task_id} else None

    records = await eventually(both_listed)
    assert len(records) == 2 and records[0]["at"] <= records[1]["at"]
    by_task = {r["task_id"]: r for r in records}
    edit, expiry = by_task[edited.task_id], by_task[expiring.task_id]
    assert (edit["decision"], edit["by"], edit["expired"], edit["action"]) == ("edit", "U_BOB", False,
                                                                               "apply_remediation")
    assert edit["requester"] == {"platform": "slack", "team_id": TEAM, "user_id": "U_REQ", "channel_id": CHANNEL,
                                 "thread_ts": "1700000000.000100"}
    assert edit["policy"]["quorum"] == 2 and edit["policy"]["requester_may_approve"] is False
    assert edit["quorum"]["required"] == 2 and edit["quorum"]["approvals"] == 2
    assert [(a["by"], a["decision"]) for a in edit["quorum"]["approved_by"]] == [("U_ALICE", "edit"),
                                                                                ("U_BOB", "accept")]
    assert [(a["by"], a["withdrawn_by"]) for a in edit["quorum"]["withdrawn"]] == [("U_BOB", "U_ALICE")]
    assert edit["args_diff"] == args_diff(proposal, changed) and len(edit["args_diff"]) == 1
    assert (expiry["decision"], expiry["by"], expiry["expired"], expiry["args_diff"]) == ("reject", "expiry", True,
                                                                                          None)
    assert expiry["policy"]["expires_after_s"] == 2 and expiry["policy"]["on_expiry"] == "reject"
    assert expiry["quorum"] == {"required": 1, "approvals": 0, "approved_by": [], "withdrawn": []}
    assert "expired" in (expiry["text"] or "")

    code, out, err = await baton(temporal_server, task_queue, "status", edited.task_id)
    assert code == 0, err
    decisions = out.split("Decisions:\n", 1)[1].splitlines()
    assert "Approve apply_remediation?: edit by U_BOB; 2 of 2 approvals (U_ALICE (edit), U_BOB); withdrawn: U_BOB" in (
        decisions[0])
    assert decisions[1].strip().startswith(f"edited: steps[{len(changed['steps'])}]: removed")

    code, out, err = await baton(temporal_server, task_queue, "audit", "--since", "7x")
    assert (code, out, len(err.splitlines())) == (2, "", 1) and "--since '7x'" in err
    code, out, err = await baton(temporal_server, task_queue, "audit", "ops_audit-000000000000")
    assert (code, out, err.strip()) == (2, "", "baton: No task with id ops_audit-000000000000.")
    code, out, err = await baton(temporal_server, task_queue, "audit", "--since", "1s", "--json")
    assert (code, out, err) == (0, "", ""), "nothing decided in the last second: no lines at all"


@asynccontextmanager
async def worker_with_keys(settings: WorkerSettings) -> AsyncIterator[TaskGateway]:
    client = await connect(settings)
    async with running_worker(client, settings, registry=REGISTRY, chat_model=DemoChatModel):
        yield TaskGateway(client, task_queue=settings.task_queue, query_timeout_s=2)


async def test_with_payload_keys_the_audit_decrypts_the_history_and_without_them_says_which_setting_is_missing(
    temporal_server: DevServer, task_queue: str, worker_settings: WorkerSettings, temporal_client: Client
) -> None:
    keys = new_key("audit")
    settings = worker_settings.model_copy(update={"baton_payload_keys": SecretStr(keys)})
    request = make_request("ops_audit", "Audit the payroll hosts", user_id="U_REQ")
    async with worker_with_keys(settings) as gateway:
        await gateway.submit(request)
        status = await status_when(gateway, request.task_id, lambda s: s.pending_checkpoint is not None)
        assert status.pending_checkpoint is not None
        proposal = current_args(status.pending_checkpoint)
        changed = {**proposal, "steps": proposal["steps"][1:]}
        await decide(gateway, request.task_id, "edit", by="U_ALICE", edited_args=changed)
        await gateway.result(request.task_id)
    history = await temporal_client.get_workflow_handle(request.task_id).fetch_history()
    inputs = [p for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
              for p in e.activity_task_scheduled_event_attributes.input.payloads]
    assert len(inputs) == 2 and {p.metadata["encoding"] for p in inputs} == {ENCODING}, "Temporal keeps them encrypted"

    code, out, err = await baton(temporal_server, task_queue, "audit", request.task_id, "--json", keys=keys)
    assert code == 0, err
    [record] = json_lines(out)
    assert (record["decision"], record["by"]) == ("edit", "U_ALICE")
    assert record["args_diff"] == {"steps[0]": {"from": proposal["steps"][0]}}
    code, out, err = await baton(temporal_server, task_queue, "audit", "--since", "1h", "--json", keys=keys)
    assert code == 0 and [r["task_id"] for r in json_lines(out)] == [request.task_id], err

    code, out, err = await baton(temporal_server, task_queue, "audit", request.task_id)
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and "BATON_PAYLOAD_KEYS" in err, err


async def test_a_running_task_whose_worker_is_gone_still_shows_its_decisions(
    temporal_server: DevServer, task_queue: str, gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request("two_gates", "paint the release", user_id="U_REQ")
    async with agent_worker(registry=REGISTRY):
        await gateway.submit(request)
        await decide(gateway, request.task_id, "respond", by="U_ALICE", text="blue")
        await status_when(gateway, request.task_id, lambda s: s.pending_checkpoint is not None and s.decisions)
    try:
        code, out, err = await baton(temporal_server, task_queue, "audit", request.task_id)
        assert code == 0, err
        [row] = out.splitlines()[1:]
        assert "Which colour should the release be?" in row and " respond " in row and " U_ALICE " in row

        code, out, err = await baton(temporal_server, task_queue, "status", request.task_id)
        assert code == 0, err
        assert "No worker is running right now" in out, "the status is the stand-in built without a worker"
        assert "Which colour should the release be?: respond by U_ALICE" in out and "text: blue" in out
    finally:
        await gateway.client.get_workflow_handle(request.task_id).terminate("test over")
