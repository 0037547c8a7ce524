"""bench.concurrency: N concurrent sales_report tasks on one worker process against the fake model with a fixed
latency per call; the scope checkpoint of every task is approved by the benchmark as soon as it shows up.

    python -m bench.concurrency [--tasks 200] [--latency 0.2] [--checkpointer DSN]

Reports the wall time from the first submission to the last result against the latency-bound ideal (one model
call of `latency` seconds on each task's critical path, all tasks in parallel), the same run with a model that
answers at once (what the tasks cost without waiting on the model), and the worker process's peak RSS.
Target: within 1.5x of the ideal, under 1 GiB.

Two more figures keep that ideal honest. The latency-bound ideal counts no CPU at all, yet every task costs worker
CPU (sandbox activations, payload conversion, LangGraph, checkpoints) and Temporal server CPU (history writes), so
`cpu_floor_s` = all the CPU the run used / the machine's cores is a lower bound on the wall time too. And
`without_temporal` runs the same graphs (the same `AgentRun`, checkpointer and durability, the same fake model,
resumed with the same decision) with `asyncio.gather` in this process: LangGraph's own cost, apart from Temporal's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client

from baton.devserver import DevServer
from baton.errors import BatonError
from baton.gateway import TaskGateway
from bench.support import (
    WorkerProcess,
    cpu_seconds,
    peak_rss_mib,
    print_table,
    temporal_and_model,
    worker_env,
    write_results,
)
from contracts import DecisionV1, RequesterV1, ResumeV1, TaskRequestV1, task_id_for, utc_now
from sandbox.openai_server import FakeOpenAI
from workers.checkpointer import open_checkpointer
from workers.llm import UsageCounter, make_chat_model
from workers.registry import AgentContext, AgentRegistry
from workers.runner import AgentRun

MODEL_CALLS_ON_THE_CRITICAL_PATH = 1
"""sales_report: load -> propose_scope -> confirm_scope (checkpoint) -> aggregate -> narrate (model) -> report."""


def new_request(index: int) -> TaskRequestV1:
    key = f"bench:{uuid.uuid4()}"
    return TaskRequestV1(
        task_id=task_id_for("sales_report", key),
        agent="sales_report",
        text=f"Sales report for Q{index % 4 + 1}",
        requester=RequesterV1(user_id=f"U_BENCH_{index}"),
        idempotency_key=key,
        created_at=utc_now(),
    )


async def approve_as_they_come(gateway: TaskGateway, queue: str, task_ids: set[str]) -> None:
    """One visibility query per pass finds the waiting tasks (no per-task polling that would load the worker)."""
    decided: set[str] = set()

    async def approve(task_id: str) -> None:
        with contextlib.suppress(BatonError):
            status = await gateway.status(task_id)
            if status.pending_checkpoint is not None:
                decision = DecisionV1(
                    checkpoint_id=status.pending_checkpoint.id, decision="accept", by="U_APPROVER", at=utc_now()
                )
                await gateway.decide(task_id, decision)
                return
        decided.discard(task_id)  # not ready after all: try again on the next pass

    query = f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running' AND BatonPhase = 'waiting_for_human'"
    pending: set[asyncio.Task[None]] = set()
    while decided != task_ids:
        async for execution in gateway.client.list_workflows(query):
            if execution.id in task_ids and execution.id not in decided:
                decided.add(execution.id)
                task = asyncio.create_task(approve(execution.id))
                pending.add(task)
                task.add_done_callback(pending.discard)
        await asyncio.sleep(0.05)
    await asyncio.gather(*pending)


async def wait_for_worker(gateway: TaskGateway, timeout_s: float = 60) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            with contextlib.suppress(BatonError):
                await gateway.agents()
                return
            await asyncio.sleep(0.2)


async def run_once(
    server: DevServer,
    client: Client,
    fake: FakeOpenAI,
    work: Path,
    tasks: int,
    latency_s: float,
    checkpointer: str | None,
) -> dict[str, Any]:
    fake.reset()
    fake.respond_with(lambda body: "A short narrative for the benchmark.")
    fake.latency_s = latency_s
    queue = f"bench-concurrency-{uuid.uuid4().hex[:8]}"
    env = worker_env(server, fake, queue, checkpointer or str(work / f"{queue}.sqlite"), BATON_AGENTS="sales_report")
    worker = await WorkerProcess(env, work / f"{queue}.log").start()
    pids = {"worker": worker.pid, "temporal_dev_server": server.process.pid, "benchmark_client": os.getpid()}
    gateway = TaskGateway(client, task_queue=queue)
    try:
        await wait_for_worker(gateway)
        requests = [new_request(i) for i in range(tasks)]
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        began = time.monotonic()
        await asyncio.gather(*(gateway.submit(r, validate_agent=False) for r in requests))
        approver = asyncio.create_task(approve_as_they_come(gateway, queue, {r.task_id for r in requests}))
        results = await asyncio.gather(*(gateway.result(r.task_id) for r in requests), return_exceptions=True)
        wall = time.monotonic() - began
        cpu = {name: round(cpu_seconds(pid) - cpu_before[name], 1) for name, pid in pids.items()}
        await approver
        rss = peak_rss_mib(worker.pid)
    finally:
        await worker.stop()
    failures = [r for r in results if isinstance(r, BaseException) or r.outcome != "success"]
    cpu_total = sum(cpu.values())
    return {
        "tasks": tasks,
        "latency_s": latency_s,
        "wall_s": round(wall, 2),
        "tasks_per_s": round(tasks / wall, 1),
        "model_calls": fake.call_count,
        "failures": len(failures),
        "worker_peak_rss_mib": round(rss, 1),
        "cpu_s_during_run": cpu,
        "cpu_ms_per_task": {name: round(1000 * seconds / tasks, 1) for name, seconds in cpu.items()},
        "cpu_floor_s": round(cpu_total / (os.cpu_count() or 1), 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


async def run_without_temporal(
    fake: FakeOpenAI, work: Path, tasks: int, latency_s: float, checkpointer: str | None
) -> dict[str, Any]:
    """The same sales_report runs, interrupt and resume included, without Temporal (see the module docstring)."""
    fake.reset()
    fake.respond_with(lambda body: "A short narrative for the benchmark.")
    fake.latency_s = latency_s
    spec = AgentRegistry.from_references(["sales_report"]).get("sales_report")

    def chat_model() -> Any:
        return make_chat_model(model="fake-model", api_key=fake.api_key, base_url=fake.base_url)

    async def progress(event: Any) -> None:
        return None

    async with open_checkpointer(checkpointer or str(work / f"direct-{uuid.uuid4().hex[:8]}.sqlite")) as saver:

        async def attempt(request: TaskRequestV1, resume: ResumeV1 | None) -> Any:
            graph = spec.build(AgentContext(request=request, chat_model=chat_model)).compile(checkpointer=saver)
            return await AgentRun(spec, graph, request, progress, callbacks=[UsageCounter()]).run(resume)

        async def one(request: TaskRequestV1) -> bool:
            output = await attempt(request, None)
            if output.checkpoint is None:
                return False
            decision = DecisionV1(checkpoint_id=output.checkpoint.id, decision="accept", by="U_APPROVER", at=utc_now())
            output = await attempt(request, ResumeV1(checkpoint=output.checkpoint, decision=decision))
            return output.kind == "completed"

        requests = [new_request(i) for i in range(tasks)]
        cpu_before, began = time.process_time(), time.monotonic()
        done = await asyncio.gather(*(one(r) for r in requests), return_exceptions=True)
        wall, cpu = time.monotonic() - began, time.process_time() - cpu_before
    return {
        "tasks": tasks,
        "latency_s": latency_s,
        "wall_s": round(wall, 2),
        "model_calls": fake.call_count,
        "failures": sum(1 for ok in done if ok is not True),
        "cpu_s": round(cpu, 1),
        "cpu_ms_per_task": round(1000 * cpu / tasks, 1),
        "note": "one process: the graphs, the checkpointer and the fake model server share its CPU",
    }


async def main(tasks: int, latency_s: float, checkpointer: str | None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="baton-bench-concurrency-"))
    async with temporal_and_model(work) as (server, client, fake):
        loaded = await run_once(server, client, fake, work, tasks, latency_s, checkpointer)
        print(f"  with {latency_s} s a call: {loaded}", flush=True)
        instant = await run_once(server, client, fake, work, tasks, 0.0, checkpointer)
        print(f"  with an instant model: {instant}", flush=True)
        direct = await run_without_temporal(fake, work, tasks, latency_s, checkpointer)
        print(f"  the same graphs without Temporal: {direct}", flush=True)
    ideal = MODEL_CALLS_ON_THE_CRITICAL_PATH * latency_s
    ratio = loaded["wall_s"] / ideal if ideal else float("inf")
    honest_ideal = max(ideal, loaded["cpu_floor_s"])
    rss_ok = loaded["worker_peak_rss_mib"] < 1024
    results = {
        "benchmark": "concurrency",
        "agent": "sales_report",
        "checkpointer": "postgresql" if checkpointer else "sqlite",
        "ideal_s": ideal,
        "ideal_definition": "model calls on one task's critical path x latency, all tasks in parallel",
        "with_latency": loaded,
        "instant_model": instant,
        "without_temporal": direct,
        "ratio_to_ideal": round(ratio, 2),
        "ideal_with_cpu_s": honest_ideal,
        "ideal_with_cpu_definition": "max(latency-bound ideal, CPU the run used / cores): no schedule beats either",
        "ratio_to_ideal_with_cpu": round(loaded["wall_s"] / honest_ideal, 2),
        "latency_cost_s": round(loaded["wall_s"] - instant["wall_s"], 2),
        "targets": {"ratio_to_ideal_at_most": 1.5, "peak_rss_mib_under": 1024},
        "targets_met": {"ratio": ratio <= 1.5, "rss": rss_ok},
        "work_dir": str(work),
    }
    print()
    print_table(
        ["run", "tasks", "model latency", "wall s", "tasks/s", "model calls", "failures", "worker peak RSS MiB"],
        [
            [
                name,
                r["tasks"],
                f"{r['latency_s']} s",
                r["wall_s"],
                r["tasks_per_s"],
                r["model_calls"],
                r["failures"],
                r["worker_peak_rss_mib"],
            ]
            for name, r in (("fake model, latency", loaded), ("fake model, instant", instant))
        ],
    )
    print(
        f"\nlatency-bound ideal {ideal:.2f} s; wall {loaded['wall_s']} s = {ratio:.1f}x the ideal "
        f"(target 1.5x: {'met' if ratio <= 1.5 else 'MISSED'}); the model's latency added "
        f"{results['latency_cost_s']} s over an instant model; peak RSS {loaded['worker_peak_rss_mib']} MiB "
        f"(target < 1024: {'met' if rss_ok else 'MISSED'})"
    )
    print(
        f"CPU a task (worker / Temporal dev server): {loaded['cpu_ms_per_task']['worker']} / "
        f"{loaded['cpu_ms_per_task']['temporal_dev_server']} ms; CPU floor on {os.cpu_count()} cores "
        f"{loaded['cpu_floor_s']} s ({results['ratio_to_ideal_with_cpu']}x of max(ideal, floor)); the same graphs "
        f"without Temporal: {direct['wall_s']} s wall, {direct['cpu_ms_per_task']} ms CPU a task"
    )
    print(f"results: {write_results('concurrency_postgres' if checkpointer else 'concurrency', results)}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--checkpointer", help="a postgresql:// DSN (default: one SQLite file)")
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.latency, args.checkpointer))
