"""bench.concurrency: N concurrent sales_report tasks on one worker process against the fake model with a fixed
latency per call; the scope checkpoint of every task is approved by the benchmark as soon as it shows up.

    python -m bench.concurrency [--tasks 200] [--latency 0.2] [--checkpointer DSN]

Reports the wall time from the first submission to the last result against the latency-bound ideal (one model
call of `latency` seconds on each task's critical path, all tasks in parallel), the same run with a model that
answers at once (what the tasks cost without waiting on the model), and the worker process's peak RSS.
Target: within 1.5x of the ideal, under 1 GiB.
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
from contracts import DecisionV1, RequesterV1, TaskRequestV1, task_id_for, utc_now
from tests.fakes.openai_server import FakeOpenAI

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
    return {
        "tasks": tasks,
        "latency_s": latency_s,
        "wall_s": round(wall, 2),
        "tasks_per_s": round(tasks / wall, 1),
        "model_calls": fake.call_count,
        "failures": len(failures),
        "worker_peak_rss_mib": round(rss, 1),
        "cpu_s_during_run": cpu,
    }


async def main(tasks: int, latency_s: float, checkpointer: str | None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="baton-bench-concurrency-"))
    async with temporal_and_model(work) as (server, client, fake):
        loaded = await run_once(server, client, fake, work, tasks, latency_s, checkpointer)
        print(f"  with {latency_s} s a call: {loaded}", flush=True)
        instant = await run_once(server, client, fake, work, tasks, 0.0, checkpointer)
        print(f"  with an instant model: {instant}", flush=True)
    ideal = MODEL_CALLS_ON_THE_CRITICAL_PATH * latency_s
    ratio = loaded["wall_s"] / ideal if ideal else float("inf")
    rss_ok = loaded["worker_peak_rss_mib"] < 1024
    results = {
        "benchmark": "concurrency",
        "agent": "sales_report",
        "checkpointer": "postgresql" if checkpointer else "sqlite",
        "ideal_s": ideal,
        "ideal_definition": "model calls on one task's critical path x latency, all tasks in parallel",
        "with_latency": loaded,
        "instant_model": instant,
        "ratio_to_ideal": round(ratio, 2),
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
    print(f"results: {write_results('concurrency_postgres' if checkpointer else 'concurrency', results)}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--checkpointer", help="a postgresql:// DSN (default: one SQLite file)")
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.latency, args.checkpointer))
