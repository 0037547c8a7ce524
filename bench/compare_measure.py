"""What bench.compare reads off the machine: a process tree's CPU and peak RSS, pollers, history sizes, and who else
was using the cores; and a fake model server that accepts a burst of 1,024 connections."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from aiohttp import web
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.support import cpu_seconds, peak_rss_mib
from sandbox.openai_server import FakeOpenAI

LISTEN_BACKLOG = 1024


class BurstyFakeOpenAI(FakeOpenAI):
    """The sandbox's fake model with a listen backlog of 1,024 (aiohttp's default, 128, refuses part of a burst of
    hundreds of clients connecting at once)."""

    async def start(self) -> BurstyFakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=LISTEN_BACKLOG)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self


def process_tree(pid: int) -> list[int]:
    """The process and its live descendants (the worker pool's supervisor and its workers)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending.extend(int(child) for child in children)
    return found


def tree_cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass  # exited already
    return total


def tree_peak_rss_mib(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += peak_rss_mib(pid)
        except OSError:
            pass
    return total


async def pollers(client: Client, task_queue: str) -> int:
    """How many distinct processes poll the queue for both workflow and activity tasks."""
    counts = []
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        answer = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind))
        counts.append(len({poller.identity for poller in answer.pollers}))
    return min(counts)


async def history_size(client: Client, workflow_id: str) -> tuple[int, int]:
    """Events and bytes of a workflow's history, as the server stores them (continued runs not followed)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events), sum(event.ByteSize() for event in history.events)


def machine(ours: set[int] | frozenset[int] = frozenset()) -> dict[str, Any]:
    """What else was running (`ours`, the bench's own server, left out): the bench shares this machine, so its
    figures are only comparable within one run."""
    ps = subprocess.run(["ps", "-eo", "pid,pcpu,etimes,args", "--sort=-pcpu"], capture_output=True, text=True).stdout
    others = []
    for line in ps.splitlines()[1:]:
        pid, pcpu, _, args = line.split(None, 3)
        if int(pid) not in ours | {os.getpid()} and float(pcpu) >= 5:
            others.append(f"{pcpu}% {args[:100]}")
    return {"cores": os.cpu_count(), "load_average": os.getloadavg(), "busy_processes_at_start": others[:12]}
