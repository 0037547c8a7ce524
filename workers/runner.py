"""Runs one agent's LangGraph graph for one activity attempt, from wherever its durable checkpoint left off.

The thread id is the task id, so every attempt of every `run_agent` activity of a task shares one LangGraph
thread. What an attempt does depends on the thread's saved state, never on the attempt number:

    no checkpoint yet                  -> start from the request's initial state
    stopped inside a step (a crash)    -> continue with `astream(None)`: completed nodes are not run again
    waiting at an interrupt + decision -> resume it with `Command(resume=...)` (the adapter's value)
    waiting at an interrupt, no answer -> report the same checkpoint again (a retried attempt after a crash)
    finished (no task left)            -> read the result from the final state

"Finished" is LangGraph's own record: the latest checkpoint has no task to run, which is where its loop stops
after the graph reaches END. An empty `next` is not enough: a crash after a node's writes are saved and before
the next checkpoint leaves `next=()` too (the task has writes, so it is no longer "next"), with that task still
in `tasks`; `astream(None)` applies the saved writes and goes on without running the node again.

An agent whose state declares the `human_messages` channel (workers.human_messages) also hears replies from its
task's Slack thread: the run stops at every step boundary (a static breakpoint before each node), adds the replies
the channel does not hold yet, and goes on; the input that starts, resumes or continues the graph carries them too
(`Command(update=...)`). Other agents run in one stream, as they always did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from contracts import ProgressEventV1, ResumeV1, RunAgentOutputV1, TaskRequestV1
from contracts.thread_reply import ThreadReplyV1
from workers.actions import group_checkpoint, group_resume
from workers.graph_version import check_resumable, version_metadata
from workers.human_messages import HUMAN_MESSAGES, new_messages
from workers.interrupts import checkpoint_from_interrupt, resume_value
from workers.plain_answers import PlainAnswers
from workers.plan import plan_of
from workers.registry import AgentSpec

ProgressSink = Callable[[ProgressEventV1], Awaitable[None]]
ReplySource = Callable[[], Awaitable[Sequence[ThreadReplyV1]]]
"""The replies the task's workflow holds for the agent (all of them; the runner adds the new ones)."""


class AgentRun:
    def __init__(
        self,
        spec: AgentSpec,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        request: TaskRequestV1,
        report: ProgressSink,
        callbacks: list[BaseCallbackHandler] | None = None,
        attempt: int = 1,
        replies: ReplySource | None = None,
    ) -> None:
        self._spec = spec
        self._graph = graph
        self._request = request
        self._report = report
        self._attempt = attempt
        self._config: RunnableConfig = {
            "configurable": {"thread_id": request.task_id},
            "metadata": version_metadata(spec),
            "callbacks": callbacks or [],
            "recursion_limit": 200,
        }
        self._step = 0
        self._plan = plan_of(spec, graph)
        self._current: str | None = None
        """The node running now (LangGraph's task stream), so a failure names the step it happened in."""
        self._replies = replies if replies is not None and HUMAN_MESSAGES in graph.channels else None

    async def run(self, resume: ResumeV1 | None) -> RunAgentOutputV1:
        await check_resumable(self._spec, self._graph, self._config, self._request)  # another graph version's?
        state = await self._graph.aget_state(self._config)
        self._step = _saved_step(state)
        graph_input = self._input_for(state, resume)
        if graph_input is _REPORT_AGAIN:
            return self._outcome(state)
        while graph_input is not _NOTHING_TO_RUN:
            try:
                await self._stream(await self._with_replies(graph_input, state))
            except Exception:
                if self._current is not None:
                    await self._emit(self._current, f"Failed in {self._current.replace('_', ' ')}")
                raise
            state = await self._graph.aget_state(self._config)
            # Stopped at a step boundary to hear people (a static breakpoint), or done: an interrupt, or no task left.
            graph_input = None if self._replies and state.tasks and not state.interrupts else _NOTHING_TO_RUN
        return self._outcome(state)

    async def _with_replies(self, graph_input: Any, state: StateSnapshot) -> Any:
        """`graph_input` carrying the replies the agent's `human_messages` channel does not hold yet."""
        if self._replies is None:
            return graph_input
        fresh = new_messages(await self._replies(), state.values.get(HUMAN_MESSAGES) or [])
        if not fresh:
            return graph_input
        if isinstance(graph_input, dict):
            return {**graph_input, HUMAN_MESSAGES: fresh}
        if isinstance(graph_input, Command):
            return Command(resume=graph_input.resume, update={HUMAN_MESSAGES: fresh})
        return Command(update={HUMAN_MESSAGES: fresh})

    def _input_for(self, state: StateSnapshot, resume: ResumeV1 | None) -> Any:
        if state.interrupts:
            if resume is None:
                return _REPORT_AGAIN
            if resume.checkpoint.interrupt_ids:  # several interrupts asked at once: every answer, by interrupt id
                answers = group_resume(resume.checkpoint, resume.decision,
                                       lambda iid, question, d: resume_value(question, d, self._plain_for(state, iid)))
                values = {iid: value for iid, value in answers.items() if iid in {i.id for i in state.interrupts}}
            else:
                values = {
                    i.id: resume_value(resume.checkpoint, resume.decision, self._plain_for(state, i.id))
                    for i in state.interrupts
                    if i.id == resume.checkpoint.id
                }
            if not values:
                return _REPORT_AGAIN  # a decision for an interrupt the graph has moved past: ask about the new one
            return Command(resume=values)
        if state.tasks:
            return None  # a step a previous attempt started and did not close (it crashed): continue from it
        if state.created_at is not None:
            return _NOTHING_TO_RUN  # finished: a crash after the final checkpoint, before the activity returned
        return self._spec.initial_state(self._request)

    async def _stream(self, graph_input: Any) -> None:
        # durability="sync": a node's checkpoint is on disk before the next node starts. LangGraph's default
        # ("async") writes it while the next node runs, so a crash there re-ran the finished node on retry.
        stream = self._graph.astream(graph_input, self._config, stream_mode=["updates", "custom", "tasks"],
                                     durability="sync",
                                     interrupt_before="*" if self._replies else None)
        async for mode, chunk in stream:
            if mode == "updates":
                for node in chunk:
                    if node.startswith("__"):
                        continue
                    self._step += 1
                    await self._emit(node, f"Finished {node.replace('_', ' ')}", finished=True)
            elif mode == "tasks":
                if isinstance(chunk, dict) and "input" in chunk and not str(chunk.get("name", "")).startswith("__"):
                    self._current = str(chunk["name"])  # a task starts (its end carries a result or an error)
            elif isinstance(chunk, dict) and "progress" in chunk:
                await self._emit(chunk.get("node"), str(chunk["progress"]))

    async def _emit(self, node: str | None, message: str, *, finished: bool = False) -> None:
        total = self._spec.total_steps(self._request) if callable(self._spec.total_steps) else self._spec.total_steps
        await self._report(
            ProgressEventV1(
                step=self._step,
                total=max(total, self._step) if total else None,
                node=node,
                message=message[:500],
                attempt=self._attempt,
                at=datetime.now(UTC),
                node_finished=finished,
                plan=self._plan,
            )
        )

    def _outcome(self, state: StateSnapshot) -> RunAgentOutputV1:
        if state.interrupts:
            # What the agent asked, unstamped: the workflow alone sets who may decide and when it expires. The
            # response schema (per-call HITL) names the decisions LangGraph will accept and the tool's argument
            # schema. Raises CheckpointTooLarge (non-retryable) for a question no payload should carry. Several
            # interrupts at once become one group, each question answered on its own (workers.actions).
            questions = [
                checkpoint_from_interrupt(i.id, i.value, response_schema=getattr(i, "response_schema", None),
                                          plain=self._plain_for(state, i.id))
                for i in state.interrupts
            ]
            return RunAgentOutputV1(kind="interrupted", checkpoint=group_checkpoint(questions))
        return RunAgentOutputV1(kind="completed", result=self._spec.result_from_state(dict(state.values)))


    def _plain_for(self, state: StateSnapshot, interrupt_id: str) -> PlainAnswers | None:
        """The spec's declaration for the node that raised the interrupt (its top-level node, for a subgraph's)."""
        node = next((t.name for t in state.tasks if any(i.id == interrupt_id for i in t.interrupts)), None)
        return self._spec.plain_answers.get(node) if node is not None else None


def _saved_step(state: StateSnapshot) -> int:
    metadata = state.metadata or {}
    step = metadata.get("step", 0)
    return max(0, int(step)) if isinstance(step, int) else 0


_REPORT_AGAIN = object()
_NOTHING_TO_RUN = object()
