"""The agents people can run from Slack, for `/baton agents`, for refusing an unknown name and for the front agent.

The workers on the bot's task queue say which agents they offer (`TaskGateway.agents()`, which keeps the one cache
of that catalog, so a slow or failed lookup never stalls a request nor shrinks the list). Until a worker has
answered once, the bot shows a configured list instead: `DEFAULT_AGENTS`, Baton's built-in agents, or
`BATON_AGENT_CATALOG` ("name=description;...") for a deployment that runs others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from baton.errors import BatonError
from baton.gateway import TaskGateway
from contracts import AgentInfoV1

__all__ = ["DEFAULT_AGENTS", "Offered", "OfferedAgents", "parse_catalog"]

log = logging.getLogger(__name__)

DEFAULT_AGENTS: tuple[AgentInfoV1, ...] = (
    AgentInfoV1(name="diagnostic", description="Smoke check: runs N scripted steps with progress; can sleep, fail, "
                                               "fail once, or ask a question."),
    AgentInfoV1(name="ops_audit", description="Audits the sample infrastructure inventory and applies a remediation "
                                              "once a person approves it."),
    AgentInfoV1(name="sales_report", description="Analyses the sample sales data for a scope a person confirms, and "
                                                 "writes a report with tables."),
)
"""The built-in agents as their workers describe them (a test keeps the two equal: the bot cannot import them)."""


def parse_catalog(text: str | None) -> tuple[AgentInfoV1, ...]:
    """BATON_AGENT_CATALOG, "name=description;...", or the built-in agents when it is not set."""
    if not text:
        return DEFAULT_AGENTS
    agents = []
    for entry in text.split(";"):
        name, _, description = entry.partition("=")
        if name.strip():
            agents.append(AgentInfoV1(name=name.strip(), description=description.strip()))
    return tuple(agents)


@dataclass(frozen=True)
class Offered:
    agents: tuple[AgentInfoV1, ...]
    live: bool
    """True when a worker said so (now or earlier); False for the configured list."""

    def names(self) -> set[str]:
        return {a.name for a in self.agents}


class OfferedAgents:
    """The workers' catalog, or the configured list while no worker has ever answered. Keeps no cache of its own:
    the gateway's is the one."""

    def __init__(self, gateway: TaskGateway, configured: Sequence[AgentInfoV1]) -> None:
        self._gateway = gateway
        self._configured = tuple(configured)

    async def get(self) -> Offered:
        try:
            catalog = await self._gateway.agents()
        except BatonError as exc:
            log.info("No worker has published its agents yet (%s); offering the configured ones", exc)
            return Offered(self._configured, live=False)
        if not catalog.agents:
            return Offered(self._configured, live=False)
        return Offered(tuple(catalog.agents), live=True)
