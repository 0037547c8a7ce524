"""The agent catalog: which agents the workers on one task queue offer, for `/baton agents` and for refusing unknown
names. It is kept per task queue (`contracts.names.catalog_workflow_id`), not per namespace: deployments sharing a
namespace on different queues run different agents. `AgentInfoV1` is Baton's one type for an agent's name and line."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.common import AgentName, Contract, GrownContract, ShortText


class AgentInfoV1(GrownContract):
    added_fields: ClassVar[tuple[str, ...]] = ("version",)

    schema_version: Literal[1] = 1
    name: AgentName
    description: ShortText = ""
    version: ShortText | None = None
    """The agent's declared version (`AgentSpec.version`); None from workers that predate versions. A grown field:
    a bot that predates it cannot read a catalog that names versions, so bots are upgraded before workers."""


class AgentCatalogV1(Contract):
    schema_version: Literal[1] = 1
    agents: list[AgentInfoV1] = Field(default_factory=list, max_length=200)

    def names(self) -> list[str]:
        return [agent.name for agent in self.agents]

    def version_of(self, name: str) -> str | None:
        """The version the catalog names for agent `name`, or None (unknown agent, or a worker that names none)."""
        return next((agent.version for agent in self.agents if agent.name == name), None)
