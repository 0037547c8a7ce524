"""The previous release's code, run from its own tree: its worker and its bot as processes, and its gateway
submitting a task.

The tree comes out of git by the commit releases.toml names (tags may not travel with a clone), so the upgrade tests
start tasks on exactly the code that was released. It runs on this checkout's virtual environment: 0.1.0 pins the
same temporalio and langgraph, and PYTHONPATH puts its packages ahead of this checkout's editable install.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from baton.releases import ROOT, Release
from tests.support import eventually

# Run inside the old tree: what the old bot's `/baton run` and the old CLI do, a TaskRequestV1 through its gateway.
# It leaves by os._exit, as the old CLI does: temporalio's core can abort the interpreter while it finalizes.
SUBMIT = """
import asyncio, json, os, sys
from baton.gateway import TaskGateway
from baton.settings import connect_client
from contracts import TaskRequestV1, task_id_for, utc_now

async def main(queue: str, fields: dict) -> None:
    fields["task_id"] = task_id_for(fields["agent"], fields["idempotency_key"])
    request = TaskRequestV1.model_validate({**fields, "created_at": utc_now()})
    outcome = await TaskGateway(await connect_client(), task_queue=queue).submit(request)
    print(outcome.task_id)

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
sys.stdout.flush()
os._exit(0)
"""
PACKAGES = ["baton", "bot", "contracts", "workers"]
_ENV_DROPPED = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATON_MODEL", "BATON_WORKER_CONFIG", "PYTHONPATH")


def check_out(release: Release, into: Path) -> Path:
    """The release's packages, as committed, in `into` (git archive: no worktree left behind in the repository)."""
    assert release.commit, f"{release.version} has no commit to check out"
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", release.commit, *PACKAGES],
                             capture_output=True, check=False)
    assert archive.returncode == 0, (
        f"cannot check out release {release.version} ({release.commit}): {archive.stderr.decode(errors='replace')}"
        "the upgrade tests need a clone whose history holds every release's commit (git fetch --unshallow)"
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def old_env(tree: Path, temporal_address: str, **settings: str) -> dict[str, str]:
    """The environment of an old process: its own tree first on the path, the scripted demo model (no key)."""
    env = {k: v for k, v in os.environ.items() if k not in _ENV_DROPPED}
    return {**env, "PYTHONPATH": str(tree), "TEMPORAL_ADDRESS": temporal_address, **settings}


class OldProcess:
    """`python -m <package>` of the old tree (its worker or its bot), logging to a file the test shows when
    something goes wrong; ready once the log says `ready`."""

    def __init__(self, tree: Path, env: dict[str, str], log: Path, package: str = "workers",
                 ready: str = "runs agents:") -> None:
        self.tree, self.env, self.log, self.package, self.ready = tree, env, log, package, ready
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> OldProcess:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.package, cwd=self.tree, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        await eventually(self._ready, timeout=60)
        return self

    async def _ready(self) -> bool:
        assert self.process is not None
        if self.process.returncode is not None:
            raise AssertionError(f"the old {self.package} exited ({self.process.returncode}):\n{self.output()}")
        return self.ready in self.output()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """SIGTERM drains it as a deploy would; SIGKILL is a crash."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), timeout=30)

    async def __aenter__(self) -> OldProcess:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            await self.stop(signal.SIGKILL)


async def old_submit(tree: Path, env: dict[str, str], task_queue: str, **fields: Any) -> str:
    """Start a task with the old tree's contracts and gateway; returns its task id."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SUBMIT, task_queue, json.dumps(fields), cwd=tree, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, f"the old gateway could not submit: {err.decode(errors='replace')}"
    return out.decode().strip()
