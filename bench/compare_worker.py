"""The processes bench.compare starts for the ways that are not Baton's own worker.

    python -m bench.compare_worker plain --tasks N [--sequential]   run N graphs here (no Temporal), print JSON
    python -m bench.compare_worker article | plugin                 a Temporal worker on BENCH_TASK_QUEUE
    python -m bench.compare_worker baton-default-sandbox             Baton's worker, Temporal's default sandbox

Every worker runs until SIGTERM, then drains. The model is the fake one named by OPENAI_BASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import statistics
import time
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.compare_graph import make_graph, plugin_graph
from bench.compare_workflows import RUN_GRAPH_ACTIVITY, ArticleWorkflow, PluginWorkflow

MAX_ACTIVITIES = 200
"""Baton's default (BATON_MAX_ACTIVITIES), for every way alike."""


async def run_plain(tasks: int, sequential: bool) -> dict[str, Any]:
    """LangGraph alone: no checkpointer, no Temporal; what a crash costs is everything."""
    graph = make_graph().compile()

    async def one(index: int) -> float:
        began = time.perf_counter()
        await graph.ainvoke({"text": f"task {index}"})
        return time.perf_counter() - began

    began, cpu = time.perf_counter(), time.process_time()
    if sequential:
        latencies = [await one(i) for i in range(tasks)]
    else:
        latencies = list(await asyncio.gather(*(one(i) for i in range(tasks))))
    return {"wall_s": time.perf_counter() - began, "cpu_s": time.process_time() - cpu,
            "p50_s": statistics.median(latencies),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


_ARTICLE_GRAPH = make_graph().compile()


@activity.defn(name=RUN_GRAPH_ACTIVITY)
async def run_compare_graph(text: str) -> str:
    """The seed article's activity: the whole graph in one attempt, heartbeating so a crash is noticed."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(1)

    beating = asyncio.create_task(beat())
    try:
        state = await _ARTICLE_GRAPH.ainvoke({"text": text})
    finally:
        beating.cancel()
    return str(state["report"])


async def run_worker(way: str) -> None:
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"], data_converter=pydantic_data_converter)
    queue = os.environ["BENCH_TASK_QUEUE"]
    if way == "article":
        worker = Worker(client, task_queue=queue, workflows=[ArticleWorkflow], activities=[run_compare_graph],
                        max_concurrent_activities=MAX_ACTIVITIES)
    else:
        from temporalio.langgraph import LangGraphPlugin

        worker = Worker(client, task_queue=queue, workflows=[PluginWorkflow], max_concurrent_activities=MAX_ACTIVITIES,
                        plugins=[LangGraphPlugin(graphs={"compare": plugin_graph()})])
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with worker:
        await stop.wait()


def run_baton_with_the_default_sandbox() -> None:
    """Baton's worker as it was before the sandbox passed contracts and workers.workflow through."""
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    import workers.__main__
    import workers.worker

    workers.worker.WORKFLOW_RUNNER = SandboxedWorkflowRunner()
    workers.__main__.main()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("way", choices=["plain", "article", "plugin", "baton-default-sandbox"])
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--sequential", action="store_true")
    args = parser.parse_args()
    if args.way == "plain":
        print(json.dumps(asyncio.run(run_plain(args.tasks, args.sequential))), flush=True)
    elif args.way == "baton-default-sandbox":
        run_baton_with_the_default_sandbox()
    else:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_worker(args.way))


if __name__ == "__main__":
    main()
