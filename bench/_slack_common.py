"""What the Slack benchmarks share: the whole stack on loopback (a fresh Temporal dev server, the real worker
in-process, the real bot in HTTP mode, the fake Slack Web API and signed delivery), percentiles, and the results file.

Everything binds 127.0.0.1 and every loop in a benchmark is bounded; nothing here runs under `make test`.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from baton.devserver import DevServer, dev_server
from baton.gateway import TaskGateway
from bot.runtime import BotRuntime
from bot.settings import load_settings
from contracts import names
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from workers.config import WorkerSettings
from workers.worker import running_worker

__all__ = [
    "RESULTS_DIR",
    "Stack",
    "TaskHistory",
    "percentile",
    "print_table",
    "slack_stack",
    "spread",
    "task_history",
    "wait_until",
    "write_results",
]

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Stack:
    server: DevServer
    client: Client
    gateway: TaskGateway
    slack: FakeSlackApi
    bot: BotRuntime
    delivery: SlackDelivery
    task_queue: str
    worker: Worker


@asynccontextmanager
async def slack_stack(
    *,
    channels: dict[str, str] | None = None,
    chat_model: Callable[[], Any] | None = None,
    worker: dict[str, Any] | None = None,
    bot: dict[str, Any] | None = None,
    delivery_timeout_s: float = 30.0,
    server: DevServer | None = None,
) -> AsyncIterator[Stack]:
    """The real stack for one benchmark run, torn down in reverse order when the block ends. `server` reuses a
    running dev server (a test's session server) instead of starting a fresh one; the task queue is the run's own."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    task_queue = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as workdir:
        async with _server(server) as server:
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            worker_settings = WorkerSettings(
                temporal_address=server.address,
                task_queue=task_queue,
                checkpointer=str(Path(workdir) / "checkpoints.sqlite"),
                drain_timeout_s=5,
                **{"progress_interval_s": 0.2, "heartbeat_throttle_s": 1.0, **(worker or {})},
            )
            async with (
                FakeSlackApi(channels=channels) as slack,
                running_worker(client, worker_settings, chat_model=chat_model) as agent_worker,
            ):
                settings = load_settings(
                    slack_bot_token=slack.bot_token,
                    slack_signing_secret=DEFAULT_SIGNING_SECRET,
                    slack_app_token=None,
                    slack_api_url=slack.base_url,
                    baton_http_host="127.0.0.1",
                    baton_http_port=0,
                    baton_slack_team_id=slack.team_id,
                    baton_model=None,
                    baton_notify_task_queue=f"{task_queue}-slack",
                    **(bot or {}),
                )
                async with (
                    BotRuntime(settings, client, agents_task_queue=task_queue) as runtime,
                    SlackDelivery(
                        DEFAULT_SIGNING_SECRET, runtime.events_url, slack=slack, timeout=delivery_timeout_s
                    ) as delivery,
                ):
                    yield Stack(
                        server,
                        client,
                        TaskGateway(client, task_queue=task_queue),
                        slack,
                        runtime,
                        delivery,
                        task_queue,
                        agent_worker,
                    )


@asynccontextmanager
async def _server(running: DevServer | None) -> AsyncIterator[DevServer]:
    if running is not None:
        yield running
        return
    async with dev_server(headless=True) as server:
        yield server


@dataclass(frozen=True)
class TaskHistory:
    """What one AgentWorkflow run cost Temporal, read from its closed history: the figures issue #16 tracks."""

    events: int
    bytes: int
    notify_activities: int
    run_agent_activities: int
    progress_signals: int
    progress_on_results: int
    decisions_accepted: int
    workflow_tasks: int
    by_type: dict[str, int]

    @property
    def visible_changes(self) -> int:
        """The task's visible state changes: the start, each progress signal, each run_agent result (a checkpoint,
        the result) and each accepted decision; what a thread's Slack calls are held against. A run's last progress
        carried on its result instead of a signal (`RunAgentOutputV1.last_progress`) is still a change people see."""
        return (
            1 + self.progress_signals + self.progress_on_results + self.run_agent_activities + self.decisions_accepted
        )


async def task_history(client: Client, task_id: str) -> TaskHistory:
    """Fetch a task's whole history once and count what it holds (bytes: the events' protobuf sizes, as in
    bench.compare)."""
    events = (await client.get_workflow_handle(task_id).fetch_history()).events
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    completed = [
        scheduled.get(e.activity_task_completed_event_attributes.scheduled_event_id)
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    ]
    results = [
        e.activity_task_completed_event_attributes.result.payloads
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and scheduled.get(e.activity_task_completed_event_attributes.scheduled_event_id) == names.RUN_AGENT_ACTIVITY
    ]
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    kinds = Counter(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events)
    return TaskHistory(
        events=len(events),
        bytes=sum(e.ByteSize() for e in events),
        notify_activities=sum(name == names.NOTIFY_ACTIVITY for name in scheduled.values()),
        run_agent_activities=completed.count(names.RUN_AGENT_ACTIVITY),
        progress_signals=signals.count(names.PROGRESS_SIGNAL),
        progress_on_results=sum(any(b'"last_progress"' in payload.data for payload in r) for r in results),
        decisions_accepted=kinds["WORKFLOW_EXECUTION_UPDATE_ACCEPTED"],
        workflow_tasks=kinds["WORKFLOW_TASK_COMPLETED"],
        by_type=dict(kinds.most_common()),
    )


def spread(values: Sequence[float], digits: int = 2) -> dict[str, float]:
    """Mean, median, min and max of one per-task figure."""
    return {
        "mean": round(statistics.mean(values), digits) if digits else round(statistics.mean(values)),
        "p50": percentile(values, 50),
        "min": min(values),
        "max": max(values),
    }


async def wait_until(probe: Callable[[], Any], *, timeout_s: float, interval_s: float = 0.2) -> Any:
    """Poll an async probe until it returns something truthy; its last value once the deadline passes."""
    import asyncio

    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if value or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(interval_s)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 samples is the 990th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def print_table(title: str, rows: Iterable[tuple[str, Any]]) -> None:
    rows = list(rows)
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}\n" + "-" * (width + 24))
    for name, value in rows:
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        print(f"{name:<{width}}  {shown}")


def write_results(name: str, results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    payload = {"benchmark": name, "at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine, **results}
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    print(f"\nwrote {path}")
    return path
