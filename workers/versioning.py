"""Worker Versioning: which Worker Deployment Version this worker is, and how each workflow type moves between builds.

A task can wait days for a person, so a build's workflows must not need that build to stay alive: every workflow type
here is AUTO_UPGRADE, and its next workflow task runs on whichever build is current. What makes that safe is the
patching discipline (every change of workflow commands behind `workflow.patched`, replayed against every released
history in tests/histories). PINNED would keep each build running until its last approval, conversation or catalog
ended: weeks, for workflows that never end.

The policy is the worker's default behaviour rather than `@workflow.defn(versioning_behavior=...)`: a server refuses
a workflow task completed with a declared behaviour by a worker that is not versioned, and these workflows also run
on unversioned workers (tests, replays, `BATON_WORKER_VERSIONING=false` against a server without worker
deployments). `POLICY` still names a behaviour per type, and `deployment_config` refuses a workflow it does not name,
so a new workflow type cannot ship without a decision.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
from collections.abc import Sequence
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio import workflow
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig

from contracts import names

__all__ = ["POLICY", "VersioningSettings", "default_build_id", "deployment_config", "make_current"]

log = logging.getLogger(__name__)

POLICY: dict[str, VersioningBehavior] = {
    names.AGENT_WORKFLOW: VersioningBehavior.AUTO_UPGRADE,  # waits days on approvals, reminders, escalations
    names.CONVERSATION_WORKFLOW: VersioningBehavior.AUTO_UPGRADE,  # a thread lives until 7 idle days pass
    names.FEEDBACK_WORKFLOW: VersioningBehavior.AUTO_UPGRADE,  # one per task, open for late ratings
    names.CATALOG_WORKFLOW: VersioningBehavior.AUTO_UPGRADE,  # one per task queue, never ends
}
"""The versioning behaviour of every workflow type this worker runs, and why."""

DEFAULT_BEHAVIOR = VersioningBehavior.AUTO_UPGRADE


def default_build_id() -> str:
    """The installed package's version: one build id per release, the same on every replica of it."""
    try:
        return importlib.metadata.version("baton")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


class VersioningSettings(BaseSettings):
    """Which Worker Deployment Version this worker is, from the environment."""

    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True, populate_by_name=True)

    enabled: bool = Field(True, validation_alias=AliasChoices("BATON_WORKER_VERSIONING", "enabled"))
    """False: an unversioned worker, for a server without the worker deployment APIs."""
    deployment_name: str = Field(
        "baton", min_length=1, validation_alias=AliasChoices("BATON_DEPLOYMENT_NAME", "deployment_name")
    )
    build_id: str = Field(
        default_factory=default_build_id, min_length=1, validation_alias=AliasChoices("BATON_BUILD_ID", "build_id")
    )
    make_current: Literal["if-none", "always", "never"] = Field(
        "if-none", validation_alias=AliasChoices("BATON_MAKE_CURRENT", "make_current")
    )
    """At start: `if-none` makes this build current when the deployment has no current version yet (a first
    install, a fresh dev server, the tests); `always` makes it current whatever was (`baton dev`); `never` leaves
    the rollout to `baton deploy set-current`."""
    make_current_timeout_s: float = Field(30.0, gt=0)


def deployment_config(settings: VersioningSettings, workflows: Sequence[type]) -> WorkerDeploymentConfig | None:
    """The worker's deployment config (None when versioning is off); a workflow type `POLICY` does not name, or
    names with another behaviour than the default, is refused before the worker polls."""
    for cls in workflows:
        definition = workflow._Definition.must_from_class(cls)
        behavior = POLICY.get(definition.name or "")
        if behavior is None:
            raise ValueError(f"workflow {definition.name} has no versioning behaviour in workers.versioning.POLICY")
        if behavior != DEFAULT_BEHAVIOR:
            raise ValueError(f"workflow {definition.name}: only {DEFAULT_BEHAVIOR.name} is supported by this worker")
    if not settings.enabled:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(settings.deployment_name, settings.build_id),
        use_worker_versioning=True,
        default_versioning_behavior=DEFAULT_BEHAVIOR,
    )


async def make_current(client: Client, settings: VersioningSettings) -> bool:
    """Make this build the deployment's current version as `settings.make_current` says; True when it is current.

    The server accepts a version only once one of its workers has polled, so this retries until then (the worker
    is already polling) or until the timeout, when it logs and returns False: the worker keeps running, and an
    operator can still set the version with `baton deploy set-current`."""
    if not settings.enabled or settings.make_current == "never":
        return False
    if settings.make_current == "if-none":
        try:
            current = await _current_build(client, settings.deployment_name)
        except RPCError as exc:  # a key without deployment rights, say: the worker still runs
            log.warning("Could not read deployment %s: %s", settings.deployment_name, exc.message)
            return False
        if current is not None:
            return current == settings.build_id
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace,
        deployment_name=settings.deployment_name,
        build_id=settings.build_id,
        identity=client.identity,
        ignore_missing_task_queues=True,  # the task queues of an older build are not this build's business in dev
    )
    deadline = asyncio.get_running_loop().time() + settings.make_current_timeout_s
    while True:
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            log.info("Build %s is now the current version of deployment %s", settings.build_id,
                     settings.deployment_name)
            return True
        except RPCError as exc:
            if exc.status == RPCStatusCode.UNIMPLEMENTED or asyncio.get_running_loop().time() > deadline:
                log.warning("Could not make build %s current in deployment %s: %s", settings.build_id,
                            settings.deployment_name, exc.message)
                return False
        await asyncio.sleep(0.05)  # the poller has not registered the version yet


async def _current_build(client: Client, deployment_name: str) -> str | None:
    """The build id of the deployment's current version; None when it has none or does not exist yet."""
    try:
        response = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment_name)
        )
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.UNIMPLEMENTED):
            return None
        raise
    routing = response.worker_deployment_info.routing_config
    return routing.current_deployment_version.build_id or None
