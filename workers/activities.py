"""The `run_agent` activity: one attempt at running an agent's graph, with heartbeats, progress and cancellation.

Clients (Temporal, for progress signals), the checkpointer and the chat model factory come in through the
constructor, so tests hand in real ones pointed at local servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from temporalio import activity
from temporalio.client import Client

from contracts import RunAgentInputV1, RunAgentOutputV1, names
from workers.errors import to_application_error
from workers.llm import UsageCounter
from workers.progress import ProgressReporter
from workers.registry import AgentContext, AgentRegistry
from workers.runner import AgentRun

log = logging.getLogger(__name__)


class AgentActivities:
    def __init__(
        self,
        client: Client,
        registry: AgentRegistry,
        checkpointer: BaseCheckpointSaver[Any],
        chat_model: Callable[[], BaseChatModel],
        progress_interval_s: float = 1.0,
    ) -> None:
        self._client = client
        self._registry = registry
        self._checkpointer = checkpointer
        self._chat_model = chat_model
        self._progress_interval_s = progress_interval_s

    @activity.defn(name=names.RUN_AGENT_ACTIVITY)
    async def run_agent(self, agent_input: RunAgentInputV1) -> RunAgentOutputV1:
        info = activity.info()
        request = agent_input.request
        reporter = ProgressReporter(
            self._client.get_workflow_handle(info.workflow_id or request.task_id), self._progress_interval_s
        )
        usage = UsageCounter()
        try:
            spec = self._registry.get(request.agent)
            context = AgentContext(request=request, chat_model=self._chat_model, attempt=info.attempt)
            graph = spec.build(context).compile(checkpointer=self._checkpointer)
            run = AgentRun(spec, graph, request, reporter, callbacks=[usage], attempt=info.attempt)
            async with _heartbeating(info.heartbeat_timeout.total_seconds() if info.heartbeat_timeout else None):
                output = await run.run(agent_input.resume)
        except asyncio.CancelledError:
            log.info("Agent run for %s cancelled (attempt %d)", request.task_id, info.attempt)
            raise
        except Exception as exc:
            log.warning("Agent run for %s failed (attempt %d): %s", request.task_id, info.attempt, exc)
            raise to_application_error(exc) from exc
        finally:
            await reporter.close()
        return output.model_copy(update={"usage": usage.usage})


@contextlib.asynccontextmanager
async def _heartbeating(heartbeat_timeout_s: float | None) -> AsyncIterator[None]:
    """Heartbeat on a timer from the event loop, so one slow LLM call cannot trip the heartbeat timeout; the
    heartbeat is also how this activity learns that its workflow cancelled it."""
    interval = max(0.1, min(1.0, (heartbeat_timeout_s or 30.0) / 3))  # local and cheap; the worker throttles RPCs

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(interval)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
