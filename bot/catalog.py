"""The agents people can run from Slack, with one line each for `/baton agents` and for the front agent's prompt.

The running workers publish the agents they offer (TaskGateway.agents); this configured catalog is the fallback
while no worker is up to say: `DEFAULT_AGENTS` mirrors the example agents, and `BATON_AGENT_CATALOG`
("name=description;...") replaces it for other deployments. An unknown agent is refused with the list.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_AGENTS", "AgentInfo", "parse_catalog"]


@dataclass(frozen=True)
class AgentInfo:
    name: str
    description: str


DEFAULT_AGENTS: tuple[AgentInfo, ...] = (
    AgentInfo("ops_audit", "Audits hosts and services, and asks before restarting anything."),
    AgentInfo("sales_report", "Builds a sales report for a period and region, with the figures as artifacts."),
)


def parse_catalog(text: str | None) -> tuple[AgentInfo, ...]:
    if not text:
        return DEFAULT_AGENTS
    agents = []
    for entry in text.split(";"):
        name, _, description = entry.partition("=")
        if name.strip():
            agents.append(AgentInfo(name.strip(), description.strip()))
    return tuple(agents)
