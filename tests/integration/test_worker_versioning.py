"""Worker Versioning on the real dev server: a task waiting for a person moves to the next build once that build is
current, after the build it started on has stopped, and `baton deploy` shows and sets which build runs what.

Each test uses its own deployment name, so making a build current here never moves another test's workflows.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack

import pytest
from temporalio import workflow
from temporalio.api.deployment.v1 import WorkerDeploymentVersion
from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentVersionRequest
from temporalio.client import Client
from temporalio.service import RPCError

from baton import cli
from baton.devserver import DevServer
from baton.gateway import TaskGateway
from contracts import DecisionV1, utc_now
from tests.support import eventually, make_request, status_when
from workers.config import WorkerSettings
from workers.demo_model import DemoChatModel
from workers.versioning import VersioningSettings, deployment_config
from workers.worker import running_worker


async def baton(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The real `baton` command line (its own event loop and connection, as in a terminal)."""
    code = await asyncio.to_thread(cli.main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def polls_both_task_types(client: Client, deployment: str, build_id: str, task_queue: str) -> bool:
    """The server has seen the build's workflow and activity pollers on the queue: set-current accepts it now."""
    try:
        version = WorkerDeploymentVersion(deployment_name=deployment, build_id=build_id)
        described = await client.workflow_service.describe_worker_deployment_version(
            DescribeWorkerDeploymentVersionRequest(namespace=client.namespace, deployment_version=version))
    except RPCError:
        return False  # not registered yet
    infos = described.worker_deployment_version_info.task_queue_infos
    return len({info.type for info in infos if info.name == task_queue}) == 2


def build_of(shown: str, workflow_id: str) -> str:
    """The BUILD column of `baton deploy status` for one workflow."""
    line = next(line for line in shown.splitlines() if line.rstrip().endswith(workflow_id))
    return line.split()[0]


async def test_a_task_waiting_on_build_a_finishes_on_build_b_once_b_is_current_and_a_has_stopped(
    temporal_server: DevServer, temporal_client: Client, worker_settings: WorkerSettings, gateway: TaskGateway,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    deployment = f"baton-test-{uuid.uuid4().hex[:8]}"
    for variable, value in {"TEMPORAL_ADDRESS": temporal_server.address, "BATON_TASK_QUEUE": gateway.task_queue,
                            "BATON_DEPLOYMENT_NAME": deployment}.items():
        monkeypatch.setenv(variable, value)
    build_a = VersioningSettings(deployment_name=deployment, build_id="A")  # the first build: current by itself
    build_b = VersioningSettings(deployment_name=deployment, build_id="B", make_current="never")
    request = make_request("ops_audit", "Audit prod")

    async with AsyncExitStack() as on_b:
        async with AsyncExitStack() as on_a:
            await on_a.enter_async_context(running_worker(temporal_client, worker_settings, chat_model=DemoChatModel,
                                                          versioning=build_a))
            await gateway.submit(request)
            waiting = await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")
            code, shown, _ = await baton(capsys, "deploy", "status")
            assert code == 0
            assert "current  A" in shown
            assert build_of(shown, request.task_id) == "A"

            await on_b.enter_async_context(running_worker(temporal_client, worker_settings, chat_model=DemoChatModel,
                                                          versioning=build_b))
            await eventually(lambda: polls_both_task_types(temporal_client, deployment, "B", gateway.task_queue))
            code, said, err = await baton(capsys, "deploy", "set-current", "B")
            assert code == 0, err
            assert "now the current version" in said and "(was A)" in said
            code, shown, _ = await baton(capsys, "deploy", "status")
            assert "current  B" in shown
            assert build_of(shown, request.task_id) == "A"  # it moves at its next workflow task, not before
            assert "not on the current build" in shown
        # Build A's worker has stopped; the task still waits, and the decision runs it on B.
        assert waiting.pending_checkpoint is not None
        outcome = await gateway.decide(request.task_id, DecisionV1(
            checkpoint_id=waiting.pending_checkpoint.id, decision="accept", by="U_APPROVER", at=utc_now()))
        assert outcome.outcome == "decided"
        result = await gateway.result(request.task_id)
        description = await temporal_client.get_workflow_handle(request.task_id).describe()

    assert result.outcome == "success"
    versioning = description.raw_description.workflow_execution_info.versioning_info
    assert versioning.deployment_version.build_id == "B"


async def test_set_current_refuses_a_build_no_worker_runs_in_one_line(
    temporal_server: DevServer, temporal_client: Client, worker_settings: WorkerSettings, gateway: TaskGateway,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    deployment = f"baton-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_server.address)
    monkeypatch.setenv("BATON_DEPLOYMENT_NAME", deployment)
    code, _, err = await baton(capsys, "deploy", "status")
    assert code == 1
    assert err == f"baton: deployment '{deployment}' does not exist yet: no versioned worker has polled it\n"
    async with running_worker(temporal_client, worker_settings, chat_model=DemoChatModel,
                              versioning=VersioningSettings(deployment_name=deployment, build_id="A")):
        code, _, err = await baton(capsys, "deploy", "set-current", "never-deployed")
    assert code == 1
    assert err.startswith(f"baton: cannot make build 'never-deployed' current in deployment '{deployment}'")
    assert err.count("\n") == 1


@workflow.defn(name="UndecidedWorkflow")
class UndecidedWorkflow:
    @workflow.run
    async def run(self) -> None:
        return None


def test_a_workflow_type_with_no_versioning_behaviour_in_the_policy_is_refused_before_the_worker_polls() -> None:
    with pytest.raises(ValueError, match="UndecidedWorkflow has no versioning behaviour"):
        deployment_config(VersioningSettings(build_id="A"), [UndecidedWorkflow])
