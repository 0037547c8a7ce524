"""`baton deploy status | set-current`: the workers' Worker Deployment, over Temporal's deployment API.

`status` shows the deployment's current and ramping versions, every version the server knows with its state
(current, ramping, draining, drained, inactive), and the build each running workflow of the task queue is on, so the
stragglers on an old build can be seen before its workers stop. `set-current` moves new tasks, and every AUTO_UPGRADE
workflow at its next step, to a build (docs/upgrading.md).
"""

from __future__ import annotations

import importlib.metadata
import os
from argparse import Namespace
from collections import Counter
from dataclasses import dataclass
from datetime import UTC

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.deployment.v1 import WorkerDeploymentInfo
from temporalio.api.enums.v1 import WorkerDeploymentVersionStatus
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode

from baton.errors import BatonError
from baton.gateway import TaskGateway
from baton.translate import translate_rpc_error

__all__ = ["DeployError", "RunningWorkflow", "deployment_name", "set_current", "status"]

VERSION_ATTRIBUTE = "TemporalWorkerDeploymentVersion"
BEHAVIOR_ATTRIBUTE = "TemporalWorkflowVersioningBehavior"
"""Search attributes Temporal keeps on every versioned workflow: `deployment:build`, and `AutoUpgrade` or `Pinned`."""
MAX_LISTED = 200
"""Running workflows shown one per line; past this, the per-build counts still cover them all."""


class DeployError(BatonError):
    """The deployment cannot be shown or changed as asked; str() is one line saying why."""


def deployment_name() -> str:
    """The deployment the workers join: BATON_DEPLOYMENT_NAME, as the worker reads it (workers.versioning)."""
    return os.environ.get("BATON_DEPLOYMENT_NAME") or "baton"


def local_build_id() -> str:
    """The build this installation's workers would be: BATON_BUILD_ID, else the package version."""
    if build := os.environ.get("BATON_BUILD_ID"):
        return build
    try:
        return importlib.metadata.version("baton")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


@dataclass(frozen=True)
class RunningWorkflow:
    workflow_id: str
    workflow_type: str
    build_id: str
    """`deployment:build` of the version that completed its latest workflow task, without `deployment:` when it is
    this deployment ("" before its first one, or on an unversioned worker)."""
    behavior: str


async def describe(client: Client, name: str) -> WorkerDeploymentInfo:
    try:
        response = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=name)
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise DeployError(f"deployment '{name}' does not exist yet: no versioned worker has polled it") from None
        raise translate_rpc_error(exc) from exc
    return response.worker_deployment_info


async def running_workflows(client: Client, task_queue: str, deployment: str) -> list[RunningWorkflow]:
    """Every running workflow of the task queue, with the build it is on, from Temporal's visibility (one listing,
    however many tasks run; it may lag a workflow's latest step by a moment)."""
    query = f'TaskQueue = "{task_queue}" AND ExecutionStatus = "Running"'
    try:
        return [_running(execution, deployment) async for execution in client.list_workflows(query)]
    except RPCError as exc:
        raise translate_rpc_error(exc) from exc


def _running(execution: WorkflowExecution, deployment: str) -> RunningWorkflow:
    attributes = execution.search_attributes
    version = next(iter(attributes.get(VERSION_ATTRIBUTE, [])), "")
    behavior = str(next(iter(attributes.get(BEHAVIOR_ATTRIBUTE, [])), ""))
    return RunningWorkflow(
        workflow_id=execution.id,
        workflow_type=execution.workflow_type,
        build_id=str(version).removeprefix(f"{deployment}:"),
        behavior={"AutoUpgrade": "auto-upgrade", "Pinned": "pinned"}.get(behavior, behavior.lower() or "unversioned"),
    )


async def status(gateway: TaskGateway, args: Namespace) -> str:
    """`baton deploy status`: the deployment's versions, then the build of every running workflow."""
    name = deployment_name()
    info = await describe(gateway.client, name)
    workflows = await running_workflows(gateway.client, gateway.task_queue, name)
    current = info.routing_config.current_deployment_version.build_id
    return "\n".join([*_versions(name, info), "", *_workflows(gateway.task_queue, workflows, current)])


def _versions(name: str, info: WorkerDeploymentInfo) -> list[str]:
    routing = info.routing_config
    current = routing.current_deployment_version.build_id
    ramping = routing.ramping_deployment_version.build_id
    lines = [f"Deployment {name}",
             f"  current  {current or '(none: unversioned workers)'}"
             + (f"  since {_when(routing.current_version_changed_time)}" if current else "")]
    if ramping or routing.ramping_version_percentage:
        lines.append(f"  ramping  {ramping or '(unversioned workers)'} at {routing.ramping_version_percentage:g}%")
    lines.append("  versions")
    for summary in sorted(info.version_summaries, key=lambda s: s.create_time.ToDatetime(), reverse=True):
        state = WorkerDeploymentVersionStatus.Name(summary.status).removeprefix("WORKER_DEPLOYMENT_VERSION_STATUS_")
        lines.append(f"    {summary.deployment_version.build_id:24} {state.lower():10} "
                     f"created {_when(summary.create_time)}")
    return lines


def _workflows(task_queue: str, workflows: list[RunningWorkflow], current: str) -> list[str]:
    if not workflows:
        return [f"No running workflows on task queue {task_queue}."]
    per_build = Counter(w.build_id or "(none)" for w in workflows)
    counts = ", ".join(f"{n} on {build}" for build, n in sorted(per_build.items()))
    stragglers = sum(1 for w in workflows if w.build_id != current)
    lines = [f"Running workflows on task queue {task_queue}: {len(workflows)} ({counts}; "
             f"{stragglers} not on the current build)",
             f"  {'BUILD':24} {'BEHAVIOR':13} {'TYPE':22} ID"]
    for w in sorted(workflows, key=lambda w: (w.build_id, w.workflow_type, w.workflow_id))[:MAX_LISTED]:
        lines.append(f"  {w.build_id or '(none)':24} {w.behavior:13} {w.workflow_type:22} {w.workflow_id}")
    if len(workflows) > MAX_LISTED:
        lines.append(f"  ... and {len(workflows) - MAX_LISTED} more")
    return lines


def _when(stamp: Timestamp) -> str:
    return stamp.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if stamp.seconds else "-"


async def set_current(gateway: TaskGateway, args: Namespace) -> str:
    """`baton deploy set-current [BUILD_ID] [--force]`: new tasks, and every AUTO_UPGRADE workflow at its next
    workflow task, go to BUILD_ID (default: this installation's build)."""
    name, build = deployment_name(), args.build_id or local_build_id()
    client = gateway.client
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace, deployment_name=name, build_id=build, identity=client.identity,
        ignore_missing_task_queues=args.force, allow_no_pollers=args.force,
    )
    try:
        response = await client.workflow_service.set_worker_deployment_current_version(request)
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION,
                          RPCStatusCode.INVALID_ARGUMENT):
            raise DeployError(f"cannot make build '{build}' current in deployment '{name}': {exc.message[:300]}"
                              " (are its workers running? --force skips the check)") from None
        raise translate_rpc_error(exc) from exc
    previous = response.previous_deployment_version.build_id or "(none)"
    if previous == build:
        return f"Build {build} is already the current version of deployment {name}."
    return (f"Build {build} is now the current version of deployment {name} (was {previous}). "
            f"Workflows on {previous} move at their next step; see `baton deploy status` for stragglers.")
