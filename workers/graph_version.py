"""Whether this worker's graph may resume a task's saved LangGraph checkpoint, after the agent's graph changed.

A task can wait at a checkpoint for days while its agent is redeployed. Every checkpoint the runner saves records
the version of the graph that wrote it (`AgentSpec.version`, in the checkpoint's metadata); a checkpoint saved
before versions existed is version 1, unless the task's TaskRequestV2 names the version it was started on. The
worker resumes a checkpoint when both hold:

    the version that wrote it is this graph's version, or one the spec lists in `compatible_versions`
    every node the checkpoint still has to run (its pending tasks) is a node of this graph

Otherwise the task fails, non-retryable (a retry on this worker gets the same answer), with a sentence a person
understands. Nothing is written before the check, so the checkpoint stays as it was: a worker that still runs the
old version can finish the task, and nobody's answer is lost.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.graph.state import CompiledStateGraph
from temporalio.exceptions import ApplicationError

from contracts import DEFAULT_AGENT_VERSION, TaskRequestV1, TaskRequestV2
from contracts.names import AGENT_VERSION_MISMATCH
from workers.registry import AgentSpec

AGENT_VERSION_KEY = "baton_agent_version"
"""The checkpoint metadata key naming the graph version that saved it (LangGraph copies a run's config metadata
into every checkpoint's metadata)."""
_TRIGGER = "branch:to:"
"""LangGraph's channel that starts a node at the next step: a checkpoint holds one for every node it waits to run."""


def version_metadata(spec: AgentSpec) -> dict[str, Any]:
    """The run config's `metadata`, so every checkpoint the run saves names the version that wrote it."""
    return {AGENT_VERSION_KEY: spec.version}


def written_by(saved: CheckpointTuple, request: TaskRequestV1) -> str:
    """The version of the graph that saved `saved`: its own record, else what the request says, else version 1."""
    recorded = (saved.metadata or {}).get(AGENT_VERSION_KEY)
    if isinstance(recorded, str) and recorded:
        return recorded
    if isinstance(request, TaskRequestV2) and request.agent_version:
        return request.agent_version
    return DEFAULT_AGENT_VERSION


def waiting_nodes(saved: CheckpointTuple) -> set[str]:
    """The nodes the checkpoint will run next, read from the checkpoint itself: a graph that lacks one of them sees
    no task at all in it (its state would look finished), so the graph's own view cannot be asked."""
    values = saved.checkpoint["channel_values"]
    nodes = {channel.removeprefix(_TRIGGER) for channel in values if channel.startswith(_TRIGGER)}
    nodes.update(str(send.node) for send in values.get("__pregel_tasks") or [] if hasattr(send, "node"))
    return nodes


async def check_resumable(
    spec: AgentSpec, graph: CompiledStateGraph[Any, Any, Any, Any], config: RunnableConfig, request: TaskRequestV1
) -> None:
    """Raises a non-retryable AgentVersionMismatch when this graph must not resume the task's checkpoint. Reads
    only: a task with no checkpoint yet starts on this worker's version."""
    saver = graph.checkpointer
    saved = await saver.aget_tuple(config) if isinstance(saver, BaseCheckpointSaver) else None
    if saved is None:
        return
    version = written_by(saved, request)
    if version != spec.version and version not in spec.compatible_versions:
        raise ApplicationError(
            f"This task was started on {spec.name} version {version}, which this worker no longer runs (it runs "
            f"version {spec.version}). Its progress is kept: a worker running version {version} can finish it.",
            type=AGENT_VERSION_MISMATCH,
            non_retryable=True,
        )
    missing = sorted(waiting_nodes(saved) - set(graph.nodes))
    if missing:
        steps = ", ".join(f"'{name}'" for name in missing)
        raise ApplicationError(
            f"This task was started on {spec.name} version {version} and waits at {steps}, which {spec.name} "
            f"version {spec.version} on this worker no longer has. Its progress is kept: a worker running a "
            f"version with that step can finish it.",
            type=AGENT_VERSION_MISMATCH,
            non_retryable=True,
        )
