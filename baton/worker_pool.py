"""`baton worker --processes N`: N worker processes (`python -m workers`) under one supervisor.

One Python worker process uses one core at most (the GIL), so a busy worker saturates one core while the others idle.
The pool runs one process per core by default, each an ordinary worker polling the same task queue, so Temporal
spreads workflow and activity tasks over them. A process that dies is restarted with backoff (baton.supervisor).
SIGTERM or SIGINT to the pool is SIGTERM to every process at once: each drains its in-flight activities exactly as a
lone worker does, and the pool exits when all have, 0 if all exited cleanly.

With BATON_METRICS_PORT set, process i serves /metrics, /healthz and /readyz on that port + i (a container's health
check keeps reaching the first). The processes share the checkpointer: PostgreSQL, or a SQLite file in WAL mode.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
from collections.abc import Mapping
from pathlib import Path

from baton.supervisor import Child, PythonModule, Supervisor

__all__ = ["default_processes", "pool_children", "run_pool"]

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def default_processes(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a container's CPU limit),
    so a pod limited to 1 CPU on a 32-core node runs one process, not 32."""
    cores = len(os.sched_getaffinity(0)) or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit to honour
    return cores


def pool_children(processes: int, env: Mapping[str, str]) -> list[Child]:
    """One `python -m workers` a process, each with its own metrics port when metrics are on."""
    port = int(env.get("BATON_METRICS_PORT") or 0)
    children: list[Child] = []
    for index in range(processes):
        child_env = dict(env)
        if port:
            child_env["BATON_METRICS_PORT"] = str(port + index)
        children.append(PythonModule(f"worker-{index + 1}", "workers", child_env))
    return children


def _grace_s(env: Mapping[str, str]) -> float:
    """How long a process may take to stop: its drain timeout (the worker's default, 30 s) and a margin to exit."""
    try:
        return float(env.get("BATON_DRAIN_TIMEOUT_S") or 30) + 5
    except ValueError:
        return 35.0  # the worker refuses the value itself, with a message that names it


async def run_pool(processes: int, env: Mapping[str, str]) -> int:
    """Start the processes, keep them up until SIGTERM, SIGINT or SIGHUP, then drain them all; 0 if every one exited
    0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # the children hear only the pool (baton.supervisor)
        loop.add_signal_handler(sig, stop.set)
    supervisor = Supervisor(grace_s=_grace_s(env))
    await supervisor.start(pool_children(processes, env))
    await stop.wait()
    await supervisor.stop()
    return 0 if all(p.returncode == 0 for p in supervisor.processes.values()) else 1


def main(processes: int | None) -> int:
    """The pool's entry point from the CLI; `processes` None means one a core."""
    return asyncio.run(run_pool(processes or default_processes(), os.environ))
