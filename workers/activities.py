"""The `run_agent` activity: one attempt at running an agent's graph, with heartbeats, progress and cancellation.

Clients (Temporal, for progress signals), the checkpointer, the store and the chat model factory come in through the
constructor, so tests hand in real ones pointed at local servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from baton.graph_tracing import graph_callbacks
from baton.redaction import scrub
from contracts import RunAgentInputV1, RunAgentOutputV1, names
from workers.errors import AgentError, to_application_error
from workers.llm import UsageCounter
from workers.progress import ProgressReporter
from workers.registry import AgentContext, AgentRegistry, AgentSpec
from workers.reply_source import WorkflowReplies
from workers.runner import AgentRun
from workers.store import AgentStore, store_namespace

log = logging.getLogger(__name__)


class AgentActivities:
    def __init__(
        self,
        client: Client,
        registry: AgentRegistry,
        checkpointer: BaseCheckpointSaver[Any],
        chat_model: Callable[[], BaseChatModel],
        progress_interval_s: float = 1.0,
        store: BaseStore | None = None,
        heartbeat_interval_s: float = 5.0,
        signal_every_task: bool = False,
    ) -> None:
        self._client = client
        self._registry = registry
        self._checkpointer = checkpointer
        self._chat_model = chat_model
        self._progress_interval_s = progress_interval_s
        self._store = store
        self._heartbeat_interval_s = heartbeat_interval_s
        self._signal_every_task = signal_every_task

    @activity.defn(name=names.RUN_AGENT_ACTIVITY)
    async def run_agent(self, agent_input: RunAgentInputV1) -> RunAgentOutputV1:
        info = activity.info()
        request = agent_input.request
        workflow = self._client.get_workflow_handle(info.workflow_id or request.task_id)
        # Signals where a Slack thread shows the task (or for every task, if so set); every heartbeat carries it.
        signal = self._signal_every_task or request.requester.in_slack
        reporter = ProgressReporter(workflow, self._progress_interval_s, signal=signal)
        usage = UsageCounter()
        finished = False
        try:
            spec = self._registry.get(request.agent)
            context = AgentContext(request=request, chat_model=self._chat_model, attempt=info.attempt)
            graph = spec.build(context).compile(checkpointer=self._checkpointer, store=self._store_for(spec))
            run = AgentRun(spec, graph, request, reporter, callbacks=[usage, *graph_callbacks()],
                           attempt=info.attempt, replies=WorkflowReplies(workflow))
            async with _heartbeating(reporter, self._heartbeat_interval_s, info.heartbeat_timeout):
                output = await run.run(agent_input.resume)
            finished = True
        except asyncio.CancelledError:
            log.info("Agent run for %s cancelled (attempt %d)", request.task_id, info.attempt)
            raise
        except Exception as exc:
            log.warning("Agent run for %s failed (attempt %d): %s", request.task_id, info.attempt, exc)
            failure = to_application_error(exc)
            raise scrubbed(failure) from scrubbed_chain(exc if failure is not exc else exc.__cause__)
        finally:
            if not finished:
                await reporter.close()
        # The last step rides on the result the workflow reads anyway, not on a signal of its own just before it.
        return output.model_copy(update={"usage": usage.usage, "last_progress": await reporter.finish()})


    def _store_for(self, spec: AgentSpec) -> BaseStore | None:
        """The agent's own view of the store (workers.store), when its spec asks for one."""
        namespace = store_namespace(spec.name, spec.store)
        if namespace is None:
            return None
        if self._store is None:
            raise AgentError(f"The agent '{spec.name}' needs a store and this worker opened none.")
        return AgentStore(self._store, namespace)


def scrubbed(error: ApplicationError) -> ApplicationError:
    """`error` with its message and details scrubbed of secrets, before Temporal stores it in the history (and the
    workflow copies it into the task's result, which the bot posts to Slack)."""
    clean = ApplicationError(
        scrub(error.message),
        *(_scrub_value(detail) for detail in error.details),
        type=error.type,
        non_retryable=error.non_retryable,
        next_retry_delay=error.next_retry_delay,
        category=error.category,
    )
    return clean.with_traceback(error.__traceback__)


def scrubbed_chain(exc: BaseException | None, depth: int = 0) -> ApplicationError | None:
    """Scrubbed stand-ins for `exc` and its causes. Temporal stores every `__cause__` of a failure, message by
    message, and the worker logs them: the raw chain would carry whatever a library put in its error text (a DSN,
    a header). Each stand-in keeps the type name (as Temporal records it) and the original traceback."""
    if exc is None or depth > 20:
        return None
    if isinstance(exc, ApplicationError):
        stand_in = scrubbed(exc)
    else:
        stand_in = ApplicationError(scrub(str(exc)), type=type(exc).__name__).with_traceback(exc.__traceback__)
    stand_in.__cause__ = scrubbed_chain(exc.__cause__, depth + 1)
    return stand_in


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list | tuple):
        return type(value)(_scrub_value(item) for item in value)
    if isinstance(value, dict):
        return {key: _scrub_value(item) for key, item in value.items()}
    return value


@contextlib.asynccontextmanager
async def _heartbeating(
    reporter: ProgressReporter, interval_s: float, heartbeat_timeout: timedelta | None
) -> AsyncIterator[None]:
    """Heartbeat on a timer from the event loop, so one slow LLM call cannot trip the heartbeat timeout; the
    heartbeat is also how this activity learns that its workflow cancelled it. A beat is due `interval_s` (a third
    of the heartbeat timeout at most) after the last one, a progress event's included: each heartbeat that reaches
    Temporal is an RPC the server pays for, and a busy agent's progress keeps it alive already."""
    interval = max(0.1, min(interval_s, (heartbeat_timeout.total_seconds() if heartbeat_timeout else 30.0) / 3))

    async def beat() -> None:
        while True:
            due = reporter.last_beat + interval - time.monotonic()
            if due > 0:
                await asyncio.sleep(due)
            else:
                reporter.heartbeat()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
