"""The agent catalog: which agents the running workers offer, for `/baton agents` and for refusing unknown names."""

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
