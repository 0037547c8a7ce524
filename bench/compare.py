"""bench.compare: one graph (4 nodes, 3 model calls, bench/compare_graph.py) run side by side, four ways.

    plain      LangGraph alone, no Temporal, no checkpointer
    article    the seed article's way: a hand-written Temporal workflow whose one activity runs the whole graph
    plugin     Temporal's LangGraph plugin (temporalio-langgraph, `pip install -e '.[bench]'`): each node an activity
    baton      Baton: TaskGateway -> AgentWorkflow -> run_agent, on `baton worker --processes 1`; baton-2: 2 processes
    baton-default-sandbox   Baton on Temporal's default workflow sandbox, which re-imports contracts and the workflow
               modules for every new workflow (what workers.worker.WORKFLOW_RUNNER avoids)

    python -m bench.compare [--tasks 200] [--repeats 3] [--latency 0.2] [--ways plain,article,plugin,baton,...]

One Temporal dev server binary (in memory) and one fake model server (listen backlog 1,024) for all. Repeats are
interleaved (every way once, then again), each run on fresh worker processes. A task's CPU is the worker processes'
and the Temporal server's during the run; history events and bytes are the median of a sample of workflows. Then:
the model calls repeated when the worker is SIGKILLed during the second model call and a fresh one finishes; the
single-task latency (submit to result, the model answering at once); LangGraph's durability modes
(bench/compare_durability.py). The machine is shared: `machine` in the results says with what.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from baton.devserver import dev_server
from bench.compare_measure import BurstyFakeOpenAI, machine
from bench.compare_runs import Bench
from bench.support import REPO_ROOT, print_table, write_results

WAYS = ("plain", "article", "plugin", "baton", "baton-2", "baton-default-sandbox")
CRASH_WAYS = ("plain", "article", "plugin", "baton")
LATENCY_SAMPLES = 15


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "wall_s": spread([r["wall_s"] for r in runs]),
        "cpu_ms_a_task": spread([r["worker_cpu_ms"] + r["server_cpu_ms"] for r in runs]),
        "worker_cpu_ms_a_task": spread([r["worker_cpu_ms"] for r in runs]),
        "server_cpu_ms_a_task": spread([r["server_cpu_ms"] for r in runs]),
        "history_events": statistics.median(r["history_events"] for r in runs),
        "history_bytes": statistics.median(r["history_bytes"] for r in runs),
        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs), 1),
        "model_calls_a_task": statistics.median(r["model_calls_a_task"] for r in runs),
    }


async def durability_modes(bench: Bench, tasks: int) -> list[dict[str, Any]]:
    bench.fake.reset()
    bench.fake.respond_with(lambda body: "ok")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.compare_durability", "--tasks", str(tasks), cwd=REPO_ROOT,
        env=bench.env("durability"), stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    rows: list[dict[str, Any]] = json.loads(out.decode().strip().splitlines()[-1])
    return rows


async def run_phases(
    bench: Bench, tasks: int, repeats: int, latency: float, ways: list[str], phases: set[str]
) -> dict[str, Any]:
    """Every phase asked for, on one dev server and fake model; the results as compare.json holds them."""
    shared = machine({bench.server.process.pid})
    runs: dict[str, list[dict[str, Any]]] = {way: [] for way in ways}
    crash: dict[str, Any] = {}
    single: dict[str, Any] = {}
    durability: list[dict[str, Any]] = []
    if "throughput" in phases:
        for repeat in range(repeats):
            for way in ways:
                runs[way].append(await bench.throughput(way, tasks, latency))
                print(f"  repeat {repeat + 1} {way}: {json.dumps(runs[way][-1])}", flush=True)
    if "crash" in phases:
        for way in (w for w in ways if w in CRASH_WAYS):
            crash[way] = await bench.crash(way, latency)
            print(f"  crash {way}: {crash[way]}", flush=True)
    if "latency" in phases:
        for way in (w for w in ways if w != "baton-2"):
            single[way] = await bench.latency(way, LATENCY_SAMPLES)
            print(f"  single task {way}: {single[way]}", flush=True)
    if "durability" in phases:
        durability = await durability_modes(bench, tasks)
    return {
        "benchmark": "compare",
        "graph": "4 nodes, 3 model calls (bench/compare_graph.py)",
        "tasks": tasks, "repeats": repeats, "model_latency_s": latency, "ways": ways,
        "machine": {**shared, "note": "shared with the other helpers' test runs and benchmarks; compare ways within "
                                      "one run, not across runs"},
        "summary": {way: summarise(r) for way, r in runs.items() if r}, "runs": runs,
        "crash": {"when": "SIGKILL of every worker process as the 2nd model call arrives; a fresh worker finishes",
                  **crash},
        "single_task_latency": {"model": "answers at once", "samples": LATENCY_SAMPLES, **single},
        "durability": durability,
        "work_dir": str(bench.work),
    }


async def main(tasks: int, repeats: int, latency: float, ways: list[str], phases: set[str]) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="baton-bench-compare-"))
    async with dev_server(headless=True, log_path=work / "dev-server.log") as server, BurstyFakeOpenAI() as fake:
        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        results = await run_phases(Bench(server, client, fake, work), tasks, repeats, latency, ways, phases)
    print_report(results)
    print(f"results: {write_results('compare', results)}")
    return results


def print_report(results: dict[str, Any]) -> None:
    summary, crash, single = results["summary"], results["crash"], results["single_task_latency"]
    print(f"\n{results['tasks']} concurrent tasks, model {results['model_latency_s']} s a call, "
          f"{results['repeats']} interleaved repeats (median, min-max); machine: {results['machine']['cores']} cores, "
          f"load {', '.join(f'{x:.1f}' for x in results['machine']['load_average'])} at start, shared with:")
    for line in results["machine"]["busy_processes_at_start"]:
        print(f"    {line}")
    print()
    print("| way | wall s | CPU ms a task (worker + server) | history events / KB a task | peak RSS MiB | "
          "single task p50 ms | repeated calls after SIGKILL |")
    print("|---|---|---|---|---|---|---|")
    for way in results["ways"]:
        s = summary.get(way)
        wall = f"{s['wall_s']['median']:.1f} ({s['wall_s']['min']:.1f}-{s['wall_s']['max']:.1f})" if s else "-"
        cpu = (f"{s['cpu_ms_a_task']['median']:.0f} ({s['worker_cpu_ms_a_task']['median']:.0f} + "
               f"{s['server_cpu_ms_a_task']['median']:.0f})") if s else "-"
        history = f"{s['history_events']:.0f} / {s['history_bytes'] / 1024:.1f}" if s else "-"
        latency = f"{single[way]['p50_ms']:.0f}" if way in single else "-"
        repeated = str(crash[way]["repeated_calls"]) if way in crash else "-"
        print(f"| {way} | {wall} | {cpu} | {history} | {s['peak_rss_mib'] if s else '-'} | {latency} | {repeated} |")
    if results["durability"]:
        print()
        print_table(["durability", "saver", "CPU ms a task", "checkpoints a task", "keeps one-repeat guarantee"],
                    [[r["mode"], r["saver"], r["cpu_ms_a_task"], r["checkpoints_a_task"], r["guarantee"]]
                     for r in results["durability"]])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2, help="the fake model's delay a call, seconds")
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--phases", default="throughput,crash,latency,durability")
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.repeats, args.latency, args.ways.split(","), set(args.phases.split(","))))
