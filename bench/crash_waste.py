"""bench.crash_waste: model calls repeated after a worker crash at each node of ops_audit.

Baton: a real worker process (`python -m workers`, SQLite checkpointer or `--checkpointer postgresql://...`) is
SIGKILLed at the end of node k, before LangGraph saves that node's checkpoint (the worst moment); a second worker
process finishes the task, whose checkpoint is approved by the benchmark.
Baseline (the article's approach): the same graph and model, re-run from scratch on a fresh thread id after the
crash (the human approval asked again and given again).

    python -m bench.crash_waste [--checkpointer DSN]

Target: at most 1 repeated model call at any crash point.
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

from langgraph.checkpoint.memory import InMemorySaver
from temporalio.client import Client

from baton.devserver import DevServer
from baton.errors import BatonError
from baton.gateway import TaskGateway
from bench import crash_agent
from bench.support import (
    WorkerProcess,
    model_replies,
    print_table,
    temporal_and_model,
    worker_env,
    write_results,
)
from contracts import (
    DecisionV1,
    ExecutionOptionsV1,
    RequesterV1,
    TaskRequestV1,
    task_id_for,
    utc_now,
)
from sandbox.openai_server import FakeOpenAI
from workers.interrupts import checkpoint_from_interrupt, resume_command
from workers.llm import make_chat_model
from workers.registry import AgentContext

CALLS_WITHOUT_A_CRASH = 2


def new_request() -> TaskRequestV1:
    key = f"bench:{uuid.uuid4()}"
    return TaskRequestV1(
        task_id=task_id_for("ops_audit", key),
        agent="ops_audit",
        text="Audit prod and fix what is urgent",
        requester=RequesterV1(user_id="U_BENCH"),
        execution=ExecutionOptionsV1(heartbeat_timeout_s=2, initial_retry_interval_s=0.2, max_attempts=5),
        idempotency_key=key,
        created_at=utc_now(),
    )


async def approve_every_checkpoint(gateway: TaskGateway, task_id: str) -> None:
    while True:
        with contextlib.suppress(BatonError):
            status = await gateway.status(task_id)
            if status.is_terminal:
                return
            checkpoint = status.pending_checkpoint
            if checkpoint is not None:
                decision = DecisionV1(checkpoint_id=checkpoint.id, decision="accept", by="U_BENCH", at=utc_now())
                await gateway.decide(task_id, decision)
        await asyncio.sleep(0.1)


async def wait_for_file(path: Path, timeout_s: float = 120) -> None:
    """The worker process creates the marker as it reaches the crash point (another process: no event to share)."""
    async with asyncio.timeout(timeout_s):
        while not os.path.exists(path):  # noqa: ASYNC110, ASYNC240 - polling a file another process writes
            await asyncio.sleep(0.02)


async def baton_run(
    server: DevServer, client: Client, fake: FakeOpenAI, work: Path, checkpointer: str | None, crash_at: str | None
) -> dict[str, Any]:
    fake.reset()
    fake.respond_with(model_replies)
    queue = f"bench-crash-{uuid.uuid4().hex[:8]}"
    marker = work / f"{queue}.crashed"
    env = worker_env(
        server,
        fake,
        queue,
        checkpointer or str(work / f"{queue}.sqlite"),
        BATON_AGENTS="bench.crash_agent:SPEC",
        BATON_HEARTBEAT_THROTTLE_S="0.5", BATON_HEARTBEAT_INTERVAL_S="0.5",
        BATON_PROGRESS_INTERVAL_S="0.2",
        BENCH_CRASH_AT=crash_at or "",
        BENCH_CRASH_MARKER=str(marker),
    )
    gateway = TaskGateway(client, task_queue=queue)
    request = new_request()
    workers = [await WorkerProcess(env, work / f"{queue}-1.log").start()]
    began = time.monotonic()
    await gateway.submit(request, validate_agent=False)
    approver = asyncio.create_task(approve_every_checkpoint(gateway, request.task_id))
    try:
        if crash_at:
            await wait_for_file(marker)
            await workers[0].kill()
            workers.append(await WorkerProcess(env, work / f"{queue}-2.log").start())
        async with asyncio.timeout(180):
            result = await gateway.result(request.task_id)
    finally:
        approver.cancel()
        for worker in workers:
            await worker.stop()
    final = await gateway.status(request.task_id)
    return {
        "model_calls": fake.call_count,
        "repeated_calls": fake.call_count - CALLS_WITHOUT_A_CRASH,
        "approvals_asked": len(final.decisions),
        "outcome": result.outcome,
        "seconds": round(time.monotonic() - began, 1),
    }


async def baseline_run(fake: FakeOpenAI, work: Path, crash_at: str | None) -> dict[str, Any]:
    """The graph re-run from scratch after a crash: a fresh thread id per attempt, nothing resumed."""
    fake.reset()
    fake.respond_with(model_replies)
    os.environ["BENCH_CRASH_AT"] = crash_at or ""
    os.environ["BENCH_CRASH_MARKER"] = str(work / f"baseline-{uuid.uuid4().hex[:8]}.crashed")
    request = new_request()
    context = AgentContext(
        request=request,
        chat_model=lambda: make_chat_model(model="fake-model", api_key=fake.api_key, base_url=fake.base_url),
    )
    attempts = approvals_asked = 0
    while True:
        attempts += 1
        graph = crash_agent.make_graph(context, crash=crash_agent.raise_crash).compile(checkpointer=InMemorySaver())
        config: dict[str, Any] = {"configurable": {"thread_id": uuid.uuid4().hex}}
        graph_input: Any = crash_agent.SPEC.initial_state(request)
        try:
            while True:
                await graph.ainvoke(graph_input, config)  # type: ignore[arg-type]
                state = await graph.aget_state(config)  # type: ignore[arg-type]
                if not state.interrupts:
                    break
                pending = state.interrupts[0]
                approvals_asked += 1
                checkpoint = checkpoint_from_interrupt(pending.id, pending.value)
                decision = DecisionV1(checkpoint_id=checkpoint.id, decision="accept", by="U_BENCH", at=utc_now())
                graph_input = resume_command(checkpoint, decision)
            break
        except crash_agent.SimulatedCrash:
            continue
    return {
        "model_calls": fake.call_count,
        "repeated_calls": fake.call_count - CALLS_WITHOUT_A_CRASH,
        "approvals_asked": approvals_asked,
        "attempts": attempts,
    }


async def main(checkpointer: str | None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="baton-bench-crash-"))
    rows: list[dict[str, Any]] = []
    async with temporal_and_model(work) as (server, client, fake):
        for crash_at in (None, *crash_agent.NODES):
            baton = await baton_run(server, client, fake, work, checkpointer, crash_at)
            baseline = await baseline_run(fake, work, crash_at)
            rows.append({"crash_at": crash_at or "(no crash)", "baton": baton, "baseline": baseline})
            print(f"  crash at {crash_at or '(none)'}: baton {baton}, baseline {baseline}", flush=True)
    worst = max(row["baton"]["repeated_calls"] for row in rows)
    results = {
        "benchmark": "crash_waste",
        "agent": "ops_audit",
        "checkpointer": "postgresql" if checkpointer else "sqlite",
        "crash_point": "end of the node's body, before its checkpoint is saved (worst case)",
        "calls_without_a_crash": CALLS_WITHOUT_A_CRASH,
        "rows": rows,
        "worst_repeated_calls_baton": worst,
        "worst_repeated_calls_baseline": max(row["baseline"]["repeated_calls"] for row in rows),
        "target": "at most 1 repeated call at any crash point",
        "target_met": worst <= 1,
        "work_dir": str(work),
    }
    print()
    print_table(
        [
            "crash at (node k of 6)",
            "Baton calls",
            "Baton repeated",
            "Baton approvals asked",
            "baseline calls",
            "baseline repeated",
            "baseline approvals asked",
            "Baton s",
        ],
        [
            [
                r["crash_at"],
                r["baton"]["model_calls"],
                r["baton"]["repeated_calls"],
                r["baton"]["approvals_asked"],
                r["baseline"]["model_calls"],
                r["baseline"]["repeated_calls"],
                r["baseline"]["approvals_asked"],
                r["baton"]["seconds"],
            ]
            for r in rows
        ],
    )
    print(
        f"\nworst repeated calls: Baton {worst}, baseline {results['worst_repeated_calls_baseline']}; "
        f"target (<= 1) {'met' if worst <= 1 else 'MISSED'}"
    )
    print(f"results: {write_results('crash_waste_postgres' if checkpointer else 'crash_waste', results)}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpointer", help="a postgresql:// DSN (default: a SQLite file per run)")
    args = parser.parse_args()
    asyncio.run(main(args.checkpointer))
