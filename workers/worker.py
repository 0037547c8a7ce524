"""Builds and runs the Temporal worker that executes AgentWorkflow, ConversationWorkflow and the run_agent
activity."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from langchain_core.language_models import BaseChatModel
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from baton import temporal
from baton.temporal_metrics import TemporalMetrics
from contracts import AgentCatalogV1, AgentInfoV1, names
from workers.activities import AgentActivities
from workers.checkpointer import open_checkpointer
from workers.config import WorkerSettings
from workers.health import serving_worker_ops
from workers.llm import make_chat_model
from workers.metrics import WorkerMetrics
from workers.registry import AgentRegistry
from workers.store import open_store
from workers.versioning import VersioningSettings, deployment_config, make_current
from workers.workflow.agent_workflow import AgentWorkflow
from workers.workflow.catalog_workflow import AgentCatalogWorkflow
from workers.workflow.conversation_workflow import ConversationWorkflow
from workers.workflow.feedback_workflow import TaskFeedbackWorkflow

log = logging.getLogger(__name__)

WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("contracts", "workers.workflow")
)
"""The sandbox imports the contracts and the workflow modules once per process, not once per new workflow (about
5.5 ms of CPU each time, 2 ms with bytecode cached; bench/compare.py). They hold no mutable module state, and
tests/unit/test_import_boundaries.py keeps I/O, clocks and randomness out of workers/workflow/, which the sandbox no
longer checks at run time there."""


def chat_model_factory(settings: WorkerSettings) -> Callable[[], BaseChatModel]:
    """The real model when a key or base URL is configured; otherwise the labelled, scripted demo model."""
    if settings.has_model:
        # One client for the worker: building a ChatOpenAI (and its OpenAI client) per model call cost ~5% of a
        # busy worker's CPU; the model is stateless and safe to share between concurrent runs.
        api_key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        shared = make_chat_model(model=settings.model, api_key=api_key, base_url=settings.openai_base_url)
        return lambda: shared
    from workers.demo_model import DemoChatModel

    return DemoChatModel


async def connect(settings: WorkerSettings, metrics: TemporalMetrics | None = None) -> Client:
    """baton.temporal's connection (the bot's and the CLI's too), recording the SDK's metrics into `metrics`."""
    return await temporal.connect(settings, runtime=metrics.runtime if metrics is not None else None)


@asynccontextmanager
async def running_worker(
    client: Client,
    settings: WorkerSettings,
    registry: AgentRegistry | None = None,
    chat_model: Callable[[], BaseChatModel] | None = None,
    versioning: VersioningSettings | None = None,
) -> AsyncIterator[Worker]:
    """A started worker for as long as the context lasts; leaving it drains in-flight activities first. It is the
    Worker Deployment Version `versioning` names (default: from the environment, workers.versioning)."""
    registry = registry or AgentRegistry.from_references(settings.agents)
    versioning = versioning or VersioningSettings()
    workflows = [AgentWorkflow, AgentCatalogWorkflow, ConversationWorkflow, TaskFeedbackWorkflow]
    wants_store = any(spec.store is not False for spec in registry.specs())
    async with (open_checkpointer(settings.checkpointer) as saver,
                open_store(settings.checkpointer, wants_store) as store):
        activities = AgentActivities(
            client, registry, saver, chat_model or chat_model_factory(settings), settings.progress_interval_s, store,
            heartbeat_interval_s=settings.heartbeat_interval_s,
            signal_every_task=settings.progress_signals == "always",
        )
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=workflows,
            deployment_config=deployment_config(versioning, workflows),
            workflow_runner=WORKFLOW_RUNNER,
            activities=[activities.run_agent],
            max_concurrent_activities=settings.max_concurrent_activities,
            graceful_shutdown_timeout=timedelta(seconds=settings.drain_timeout_s),
            max_heartbeat_throttle_interval=timedelta(seconds=settings.heartbeat_throttle_s),
            default_heartbeat_throttle_interval=timedelta(seconds=settings.heartbeat_throttle_s),
            sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.sticky_queue_timeout_s),
            interceptors=[WorkerMetrics(registry.names())],
        )
        async with worker:
            await make_current(client, versioning)
            await publish_catalog(client, settings.task_queue, registry)
            log.info("Worker on task queue '%s' runs agents: %s", settings.task_queue, ", ".join(registry.names()))
            yield worker


async def publish_catalog(client: Client, task_queue: str, registry: AgentRegistry) -> None:
    """Tell the task queue's catalog which agents this worker runs (started on first use)."""
    catalog = AgentCatalogV1(
        agents=[AgentInfoV1(name=s.name, description=s.description[:500], version=s.version) for s in registry.specs()]
    )
    await client.start_workflow(
        AgentCatalogWorkflow.run,
        catalog,
        id=names.catalog_workflow_id(task_queue),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal=names.REGISTER_SIGNAL,
        start_signal_args=[catalog],
    )


async def run_until(stop: asyncio.Event, settings: WorkerSettings) -> None:
    metrics = TemporalMetrics() if settings.metrics_port else None
    client = await connect(settings, metrics)
    async with serving_worker_ops(client, settings.metrics_port, metrics) as health, \
            running_worker(client, settings) as worker:
        health.worker = worker
        await stop.wait()
        log.info("Stopping: draining in-flight activities (up to %.0f s)", settings.drain_timeout_s)
