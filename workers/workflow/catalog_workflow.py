"""AgentCatalogWorkflow: one long-lived workflow per task queue that knows which agents the workers on it offer.

Its id is `contracts.names.catalog_workflow_id(task_queue)`: deployments sharing a namespace on different queues run
different agents. Every worker signals-with-start it at start-up with its agents; callers query `agents`. A query
needs a live worker on the queue, so a failed query also tells an operator that no worker is running. It continues
as new now and then so its history stays small however often workers restart.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import AgentCatalogV1, AgentInfoV1
    from contracts.names import AGENTS_QUERY, CATALOG_WORKFLOW, REGISTER_SIGNAL

SIGNALS_BEFORE_CONTINUE_AS_NEW = 500


@workflow.defn(name=CATALOG_WORKFLOW)
class AgentCatalogWorkflow:
    @workflow.init
    def __init__(self, catalog: AgentCatalogV1) -> None:
        self._agents: dict[str, AgentInfoV1] = {agent.name: agent for agent in catalog.agents}
        self._signals = 0

    @workflow.run
    async def run(self, catalog: AgentCatalogV1) -> None:
        await workflow.wait_condition(
            lambda: self._signals >= SIGNALS_BEFORE_CONTINUE_AS_NEW and workflow.all_handlers_finished()
        )
        workflow.continue_as_new(self.agents())

    @workflow.signal(name=REGISTER_SIGNAL)
    def register(self, catalog: AgentCatalogV1) -> None:
        self._signals += 1
        for agent in catalog.agents:
            self._agents[agent.name] = agent

    @workflow.query(name=AGENTS_QUERY)
    def agents(self) -> AgentCatalogV1:
        return AgentCatalogV1(agents=[self._agents[name] for name in sorted(self._agents)])
