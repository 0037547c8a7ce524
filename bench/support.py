"""What both benchmarks share: a dev server, the fake model, worker processes, and the results table and file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from baton.devserver import DevServer, dev_server
from sandbox.openai_server import FakeOpenAI, tool_call

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"

OPS_PROPOSAL = {
    "summary": "Close telnet on the CI runner and patch OpenSSL on web-3 first.",
    "steps": [
        {"finding_id": "F1", "host": "ci-runner-1", "action": "close_port", "target": "23", "reason": "telnet"},
        {"finding_id": "F2", "host": "web-3", "action": "upgrade_package", "target": "openssl", "reason": "1.1.1f"},
    ],
}


def model_replies(body: dict[str, Any]) -> Any:
    """Answers by what is asked, not by call order, so a repeated call gets the same answer."""
    if "ProposeRemediation" in [t.get("function", {}).get("name") for t in body.get("tools") or []]:
        return tool_call("ProposeRemediation", OPS_PROPOSAL)
    return "A short narrative for the benchmark."


@asynccontextmanager
async def temporal_and_model(work_dir: Path) -> AsyncIterator[tuple[DevServer, Client, FakeOpenAI]]:
    async with dev_server(headless=True, log_path=work_dir / "dev-server.log") as server:
        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        async with FakeOpenAI() as fake:
            fake.respond_with(model_replies)
            yield server, client, fake


class WorkerProcess:
    """`python -m workers` as its own process, so the benchmark can SIGKILL it like a crashed host."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> WorkerProcess:
        with open(self.log_path, "ab") as log:  # noqa: ASYNC230 - once per process
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "workers", cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            await self.kill()


def worker_env(server: DevServer, fake: FakeOpenAI, task_queue: str, checkpointer: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "TEMPORAL_ADDRESS": server.address,
        "BATON_TASK_QUEUE": task_queue,
        "BATON_CHECKPOINTER": checkpointer,
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": fake.api_key,
        "BATON_MODEL": "fake-model",
        "BATON_DRAIN_TIMEOUT_S": "2",
        **extra,
    }


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (VmHWM), read before it exits."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (including its reaped children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def write_results(name: str, results: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return path
