"""The agent registry: which agents this worker runs, by name, and the interface an agent implements.

An agent is an `AgentSpec`: a factory for an *uncompiled* LangGraph `StateGraph` (the runner compiles it with the
durable checkpointer), how to build the graph's input from a request, and how to read a result from its final state.
Agents never see Temporal.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import StateGraph

from contracts import DEFAULT_AGENT_VERSION, TaskRequestV1, TaskResultV1
from workers.errors import UnknownAgent
from workers.plain_answers import PlainAnswers

BUILTIN_AGENTS: Mapping[str, str] = {
    "diagnostic": "workers.agents.diagnostic:SPEC",
    "ops_audit": "workers.agents.ops_audit:SPEC",
    "sales_report": "workers.agents.sales_report:SPEC",
}


def _no_model() -> BaseChatModel:
    raise RuntimeError("This worker has no chat model configured (set OPENAI_API_KEY or OPENAI_BASE_URL).")


@dataclass(frozen=True)
class AgentContext:
    """What an agent's graph factory may use: the request, a chat model factory, and the activity attempt."""

    request: TaskRequestV1
    chat_model: Callable[[], BaseChatModel] = _no_model
    attempt: int = 1


@dataclass(frozen=True)
class AgentSpec:
    name: str
    description: str
    build: Callable[[AgentContext], StateGraph[Any]]
    initial_state: Callable[[TaskRequestV1], dict[str, Any]]
    result_from_state: Callable[[dict[str, Any]], TaskResultV1]
    total_steps: int | Callable[[TaskRequestV1], int] | None = None
    """Nodes on the happy path (or a function of the request), so progress can show a percentage."""
    tags: tuple[str, ...] = field(default_factory=tuple)
    version: str = DEFAULT_AGENT_VERSION
    """The graph's version, written into every checkpoint it saves: change it whenever a change to the graph would
    strand a task waiting at a checkpoint of the old one (a node renamed or removed, the state reshaped). The worker
    refuses to resume a checkpoint of a version it does not run (workers.graph_version, docs/agent-authors.md)."""
    compatible_versions: tuple[str, ...] = ()
    """Older versions whose checkpoints this graph resumes (a node added, a prompt changed): the author's promise,
    still checked against the graph's nodes."""
    step_labels: Mapping[str, str] | None = None
    """The plan a person sees, node -> label, in order (workers.plan); None: every node of the graph, named after
    itself."""
    plain_answers: Mapping[str, PlainAnswers] = field(default_factory=dict)
    """node -> how its plain `interrupt()` is answered (workers.plain_answers); undeclared: Respond, as typed."""
    store: bool | str = False
    """LangGraph's long-term store for this agent (workers.store): True for a namespace of its own (its name), or a
    namespace name that agents sharing it declare alike; False: compiled without a store."""


class AgentRegistry:
    def __init__(self, specs: Iterable[AgentSpec] = ()) -> None:
        self._specs: dict[str, AgentSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: AgentSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"Agent '{spec.name}' is registered twice")
        self._specs[spec.name] = spec

    def get(self, name: str) -> AgentSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownAgent(name, list(self._specs)) from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> list[AgentSpec]:
        return [self._specs[name] for name in self.names()]

    @classmethod
    def from_references(cls, references: Iterable[str]) -> AgentRegistry:
        """Agents named in the worker's configuration: a built-in name, or `package.module:ATTRIBUTE`."""
        return cls(load_spec(reference) for reference in references)


def load_spec(reference: str) -> AgentSpec:
    target = BUILTIN_AGENTS.get(reference, reference)
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise ValueError(f"Agent reference '{reference}' is neither a built-in agent nor 'module:ATTRIBUTE'")
    spec = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(spec, AgentSpec):
        raise TypeError(f"{target} is not an AgentSpec")
    return spec
