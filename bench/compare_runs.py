"""How bench.compare runs each way: start its worker processes, run N tasks, crash one, time one at a time."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from temporalio.client import Client

from baton.devserver import DevServer
from baton.gateway import TaskGateway
from bench.compare_graph import MODEL_CALLS
from bench.compare_measure import (
    history_size,
    pollers,
    process_tree,
    tree_cpu_s,
    tree_peak_rss_mib,
)
from bench.compare_workflows import ArticleWorkflow, PluginWorkflow
from bench.support import REPO_ROOT
from contracts import ExecutionOptionsV1, RequesterV1, TaskRequestV1, task_id_for, utc_now
from sandbox.openai_server import FakeOpenAI

HISTORY_SAMPLE = 5
Submit = Callable[[int], Coroutine[Any, Any, str]]


class Bench:
    """One dev server, one fake model, a scratch directory: what every run of every way shares."""

    def __init__(self, server: DevServer, client: Client, fake: FakeOpenAI, work: Path) -> None:
        self.server, self.client, self.fake, self.work = server, client, fake, work

    def env(self, queue: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "TEMPORAL_ADDRESS": self.server.address,
            "BENCH_TASK_QUEUE": queue,
            "BATON_TASK_QUEUE": queue,
            "BATON_CHECKPOINTER": str(self.work / f"{queue}.sqlite"),
            "BATON_AGENTS": "bench.compare_graph:SPEC",
            "OPENAI_BASE_URL": self.fake.base_url,
            "OPENAI_API_KEY": self.fake.api_key,
            "BATON_MODEL": "fake-model",
            "BATON_DRAIN_TIMEOUT_S": "2",
        }

    async def start(self, way: str, queue: str) -> asyncio.subprocess.Process:
        """The way's worker process(es), polling `queue` before this returns."""
        if way in ("baton", "baton-2"):
            args = ["-m", "baton.cli", "worker", "--processes", "2" if way == "baton-2" else "1"]
        else:
            args = ["-m", "bench.compare_worker", way]
        with open(self.work / f"{queue}.log", "ab") as log:  # noqa: ASYNC230 - once per process
            process = await asyncio.create_subprocess_exec(sys.executable, *args, cwd=REPO_ROOT, env=self.env(queue),
                                                           stdout=log, stderr=log)
        want = 2 if way == "baton-2" else 1
        async with asyncio.timeout(120):
            while await pollers(self.client, queue) < want:
                if process.returncode is not None:
                    raise RuntimeError(f"{way} worker exited {process.returncode}: see {self.work / queue}.log")
                await asyncio.sleep(0.2)
        return process

    def submitter(self, way: str, queue: str) -> Submit:
        """Start one task, wait for its result, return its workflow id."""
        if way.startswith("baton"):
            gateway = TaskGateway(self.client, task_queue=queue)

            async def baton(index: int) -> str:
                key = f"bench:{uuid.uuid4()}"
                request = TaskRequestV1(
                    task_id=task_id_for("compare", key), agent="compare", text=f"task {index}",
                    requester=RequesterV1(user_id="U_BENCH"), idempotency_key=key, created_at=utc_now(),
                    execution=ExecutionOptionsV1(heartbeat_timeout_s=10, initial_retry_interval_s=0.2),
                )
                await gateway.submit(request, validate_agent=False)
                result = await gateway.result(request.task_id)
                if result.outcome != "success":
                    raise RuntimeError(f"{request.task_id}: {result.outcome} {result.error}")
                return request.task_id

            return baton
        run = ArticleWorkflow.run if way == "article" else PluginWorkflow.run

        async def hand_written(index: int) -> str:
            workflow_id = f"compare-{way}-{uuid.uuid4().hex[:12]}"
            await self.client.execute_workflow(run, f"task {index}", id=workflow_id, task_queue=queue)
            return workflow_id

        return hand_written

    async def plain(self, *args: str) -> dict[str, Any]:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.compare_worker", "plain", *args,
                                                       cwd=REPO_ROOT, env=self.env("plain"),
                                                       stdout=asyncio.subprocess.PIPE)
        out, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"plain run exited {process.returncode}")
        result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        return result

    async def throughput(self, way: str, tasks: int, latency: float) -> dict[str, Any]:
        """N concurrent tasks: wall time, CPU a task (worker processes and Temporal server), history, peak RSS."""
        self.fake.reset()
        self.fake.respond_with(lambda body: "A short answer for the benchmark.")
        self.fake.latency_s = latency
        if way == "plain":
            run = await self.plain("--tasks", str(tasks))
            return {"wall_s": run["wall_s"], "worker_cpu_ms": run["cpu_s"] / tasks * 1000, "server_cpu_ms": 0.0,
                    "model_calls_a_task": self.fake.call_count / tasks, "history_events": 0, "history_bytes": 0,
                    "peak_rss_mib": run["peak_rss_mib"]}
        queue = f"compare-{way}-{uuid.uuid4().hex[:8]}"
        process = await self.start(way, queue)
        submit = self.submitter(way, queue)
        try:
            pids = process_tree(process.pid)
            worker0, server0 = tree_cpu_s(pids), tree_cpu_s([self.server.process.pid])
            began = time.monotonic()
            ids = await asyncio.gather(*(submit(i) for i in range(tasks)))
            wall = time.monotonic() - began
            worker_cpu = tree_cpu_s(pids) - worker0
            server_cpu = tree_cpu_s([self.server.process.pid]) - server0
            rss = tree_peak_rss_mib(pids)
        finally:
            await stop(process)
        sizes = [await history_size(self.client, i) for i in ids[:HISTORY_SAMPLE]]
        return {"wall_s": wall, "worker_cpu_ms": worker_cpu / tasks * 1000, "server_cpu_ms": server_cpu / tasks * 1000,
                "model_calls_a_task": self.fake.call_count / tasks,
                "history_events": statistics.median(s[0] for s in sizes),
                "history_bytes": statistics.median(s[1] for s in sizes), "peak_rss_mib": rss}

    async def crash(self, way: str, latency: float) -> dict[str, Any]:
        """One task; the worker is SIGKILLed as the second model call arrives; a fresh worker finishes the task."""
        self.fake.reset()
        self.fake.latency_s = latency
        victims: list[int] = []
        killed = asyncio.Event()

        def reply(body: dict[str, Any]) -> str:
            if self.fake.call_count == 2 and victims:
                for pid in victims:
                    os.kill(pid, signal.SIGKILL)
                victims.clear()
                killed.set()
            return "A short answer for the benchmark."

        self.fake.respond_with(reply)
        if way == "plain":  # nothing durable: the person runs it again
            first_run = asyncio.create_task(self.plain("--tasks", "1"))
            async with asyncio.timeout(60):
                await self.fake.wait_for_calls(1)
            victims.extend(process_tree(_only_child_of(os.getpid(), "plain")))
            await asyncio.gather(first_run, return_exceptions=True)
            await self.plain("--tasks", "1")
            return {"model_calls": self.fake.call_count, "repeated_calls": self.fake.call_count - MODEL_CALLS}
        queue = f"compare-crash-{way}-{uuid.uuid4().hex[:8]}"
        first = await self.start(way, queue)
        victims.extend(process_tree(first.pid))
        submit = asyncio.create_task(self.submitter(way, queue)(0))
        async with asyncio.timeout(60):
            await killed.wait()
        await first.wait()
        second = await self.start(way, queue)
        try:
            async with asyncio.timeout(120):
                await submit
        finally:
            await stop(second)
        return {"model_calls": self.fake.call_count, "repeated_calls": self.fake.call_count - MODEL_CALLS}

    async def latency(self, way: str, samples: int) -> dict[str, Any]:
        """Submit-to-result of one task at a time, the model answering at once (after 3 warm-up tasks)."""
        self.fake.reset()
        self.fake.respond_with(lambda body: "ok")
        self.fake.latency_s = 0
        if way == "plain":
            run = await self.plain("--tasks", str(samples), "--sequential")
            return {"p50_ms": run["p50_s"] * 1000}
        queue = f"compare-latency-{way}-{uuid.uuid4().hex[:8]}"
        process = await self.start(way, queue)
        submit = self.submitter(way, queue)
        timings = []
        try:
            for index in range(samples + 3):
                began = time.perf_counter()
                await submit(index)
                if index >= 3:
                    timings.append(time.perf_counter() - began)
        finally:
            await stop(process)
        return {"p50_ms": statistics.median(timings) * 1000, "max_ms": max(timings) * 1000}


def _only_child_of(pid: int, way: str) -> int:
    """The plain runner this process just started (the only `bench.compare_worker plain` among its children)."""
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        if "compare_worker" in Path(f"/proc/{child}/cmdline").read_text():
            return int(child)
    raise RuntimeError(f"no {way} runner found")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
