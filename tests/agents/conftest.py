"""Fixtures for the agent tests: a fresh fake OpenAI server per test and real ChatOpenAI clients pointed at it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver

from contracts import CheckpointV1, DecisionKind, DecisionV1, RequesterV1, TaskRequestV1, TaskResultV1, utc_now
from sandbox.openai_server import FakeOpenAI
from workers.interrupts import checkpoint_from_interrupt, resume_command
from workers.llm import UsageCounter
from workers.registry import AgentContext, AgentSpec


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
def chat_model(fake_openai: FakeOpenAI) -> Callable[..., ChatOpenAI]:
    """A factory of real ChatOpenAI clients talking to the fake server (no retries: Temporal retries)."""

    def make(**overrides: object) -> ChatOpenAI:
        kwargs: dict[str, object] = {
            "base_url": fake_openai.base_url,
            "api_key": fake_openai.api_key,
            "model": "fake-model",
            "max_retries": 0,
            "timeout": 5.0,
        }
        kwargs.update(overrides)
        return ChatOpenAI(**kwargs)  # type: ignore[arg-type]

    return make


class GraphDriver:
    """Runs an agent's real graph the way the runner does (compiled with a checkpointer, one thread id per task),
    turning each interrupt into a CheckpointV1 and each decision into the adapter's resume command."""

    def __init__(
        self,
        spec: AgentSpec,
        model_factory: Callable[[], BaseChatModel],
        text: str,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.request = TaskRequestV1(
            task_id=f"test-{uuid.uuid4().hex[:12]}",
            agent=spec.name,
            text=text,
            parameters=parameters or {},
            requester=RequesterV1(user_id="U_REQ"),
            idempotency_key=uuid.uuid4().hex,
            created_at=utc_now(),
        )
        self.graph = spec.build(AgentContext(request=self.request, chat_model=model_factory)).compile(
            checkpointer=InMemorySaver()
        )
        self.config: dict[str, Any] = {"configurable": {"thread_id": self.request.task_id}}
        self.checkpoints: list[CheckpointV1] = []
        self.progress: list[str] = []
        self.usage = UsageCounter()
        self.config["callbacks"] = [self.usage]
        self.stream_modes: list[str] = ["custom", "updates"]
        """Add "messages" to make ChatOpenAI stream, as it does when the runner streams tokens."""

    async def _run(self, graph_input: Any) -> CheckpointV1 | None:
        async for mode, chunk in self.graph.astream(graph_input, self.config, stream_mode=self.stream_modes):
            if mode == "custom" and isinstance(chunk, dict) and "progress" in chunk:
                self.progress.append(chunk["progress"])
        snapshot = await self.graph.aget_state(self.config)
        if not snapshot.interrupts:
            return None
        pending = snapshot.interrupts[0]
        checkpoint = checkpoint_from_interrupt(pending.id, pending.value)
        self.checkpoints.append(checkpoint)
        return checkpoint

    async def start(self) -> CheckpointV1 | None:
        return await self._run(self.spec.initial_state(self.request))

    async def decide(self, kind: DecisionKind, **extra: Any) -> CheckpointV1 | None:
        checkpoint = self.checkpoints[-1]
        decision = DecisionV1(checkpoint_id=checkpoint.id, decision=kind, by="U_APPROVER", at=utc_now(), **extra)
        return await self._run(resume_command(checkpoint, decision))

    async def state(self) -> dict[str, Any]:
        return dict((await self.graph.aget_state(self.config)).values)

    async def result(self) -> TaskResultV1:
        snapshot = await self.graph.aget_state(self.config)
        assert not snapshot.next, f"graph has not finished: next={snapshot.next}"
        return self.spec.result_from_state(dict(snapshot.values))


@pytest.fixture
def drive() -> Callable[..., GraphDriver]:
    return GraphDriver
