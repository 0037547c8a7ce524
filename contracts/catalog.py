"""The agent catalog: which agents the workers on one task queue offer, for `/baton agents` and for refusing unknown
names. It is kept per task queue (`contracts.names.catalog_workflow_id`), not per namespace: deployments sharing a
namespace on different queues run different agents. `AgentInfoV1` is Baton's one type for an agent's name and line."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.common import AgentName, Contract, ShortText


class AgentInfoV1(Contract):
    schema_version: Literal[1] = 1
    name: AgentName
    description: ShortText = ""


class AgentCatalogV1(Contract):
    schema_version: Literal[1] = 1
    agents: list[AgentInfoV1] = Field(default_factory=list, max_length=200)

    def names(self) -> list[str]:
        return [agent.name for agent in self.agents]
