"""`python -m tests.chaos.boundary_worker`: the real worker (`python -m workers`), whose checkpointer SIGKILLs the
process right after a named node's writes are saved and before LangGraph writes the next checkpoint.

The crash plan is per task, so one pool of worker processes can serve many cases. In `BATON_TEST_CRASH_PLANS`:

    <task id>.boundary   the boundary, as tests/chaos/boundary_crash.py spells it ("analyse", "work#2", ...)
    <task id>.crashed    written just before the kill (the pid and the time); while it exists no process kills
                         itself again for that task, so the worker that takes over runs through the boundary
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

import workers.worker
from tests.chaos.boundary_crash import Boundary, arm
from workers.__main__ import main


class CrashPlans:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def boundary(self, task_id: str) -> Boundary | None:
        path = self.directory / f"{task_id}.boundary"
        return Boundary.parse(path.read_text().strip()) if path.exists() else None

    def marker(self, task_id: str) -> Path:
        return self.directory / f"{task_id}.crashed"

    def die_once(self, task_id: str) -> None:
        """Claim the marker (atomically: only one process can create it), then die without a goodbye."""
        try:
            fd = os.open(self.marker(task_id), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, json.dumps({"pid": os.getpid(), "at": time.time()}).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def install(plans: CrashPlans) -> None:
    """Wrap the checkpointer the worker opens (through the worker module's own reference to the opener)."""
    open_checkpointer = workers.worker.open_checkpointer

    @asynccontextmanager
    async def open_and_arm(target: str) -> AsyncIterator[BaseCheckpointSaver[Any]]:
        async with open_checkpointer(target) as saver:
            arm(saver, plans.boundary, plans.die_once)
            yield saver

    workers.worker.open_checkpointer = open_and_arm


if __name__ == "__main__":
    install(CrashPlans(Path(os.environ["BATON_TEST_CRASH_PLANS"])))
    main()
