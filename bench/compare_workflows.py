"""The two hand-built Temporal workflows bench.compare measures against Baton (sandbox-safe: no I/O here).

ArticleWorkflow is the seed article's way: one activity runs the whole graph, so a crash re-runs it from the start.
PluginWorkflow runs the same graph on Temporal's LangGraph plugin: the graph in the workflow, each node an activity.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from temporalio.langgraph import graph

RUN_GRAPH_ACTIVITY = "run_compare_graph"
RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)


@workflow.defn(name="CompareArticleWorkflow")
class ArticleWorkflow:
    @workflow.run
    async def run(self, text: str) -> str:
        result: str = await workflow.execute_activity(
            RUN_GRAPH_ACTIVITY,
            text,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=RETRY,
        )
        return result


@workflow.defn(name="ComparePluginWorkflow")
class PluginWorkflow:
    @workflow.run
    async def run(self, text: str) -> str:
        state: dict[str, Any] = await graph("compare").compile().ainvoke({"text": text})
        return str(state["report"])
