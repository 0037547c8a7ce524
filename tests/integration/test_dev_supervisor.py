"""`make run` as a newcomer runs it, on a PATH with no apt-get and no dpkg: `baton dev` supervises its processes.

The whole of `make run` runs for real (the Temporal dev server, the worker, the sandbox and the bot, each its own
process) on free ports with its state in the test's directory. The worker is SIGKILLed in the middle of a task:
`baton dev` says so in one line and starts it again, the bot and the sandbox keep running, and the task completes on
the new worker. Then the Temporal server is SIGKILLed: it comes back on the same port and database, and the next
task completes. Ctrl-C (SIGINT to the process group, as a terminal sends it) then stops everything.

Only the setup recipe is not executed here (it installs the dependencies from the network): `make -n` shows what it
would run, and it calls no apt-get, no dpkg and no sudo.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import sys
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from baton.devserver import free_port
from baton.gateway import TaskGateway
from contracts import names
from tests.support import eventually, make_request, status_when

REPO = Path(__file__).resolve().parents[2]
STAMP = ".venv/.installed"
STARTED = re.compile(r"starting (\w+)\s+.+ \(pid (\d+)\)$")
NOT_ROOT_TOOLS = ("apt-get", "apt", "dpkg", "sudo")


def _path_without_apt(tmp_path: Path) -> Path:
    """A PATH of one directory holding `make` and nothing else (make runs its recipes with /bin/sh)."""
    found = shutil.which("make")
    if found is None:
        pytest.fail("These tests run `make`, which is not installed: apt-get install -y make", pytrace=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "make").symlink_to(found)
    return bin_dir


def _bare_env(bin_dir: Path, home: Path, **extra: str) -> dict[str, str]:
    """What a fresh shell would hold: no Slack or model credentials, no apt on PATH."""
    return {"PATH": str(bin_dir), "HOME": str(home), "LANG": "C.UTF-8", **extra}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def _agents_polled(client: Client) -> bool:
    """True once a worker polls the agents queue for activities (it takes a while to start on a busy machine)."""
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=names.AGENTS_TASK_QUEUE),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return bool(answer.pollers)


class Output:
    """The lines a process prints, read as they come (so its pipe never fills up)."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def pids(self, name: str) -> list[int]:
        """Every pid `baton dev` reported starting `name` under, oldest first."""
        return [int(m[2]) for line in self.lines if (m := STARTED.search(line)) and m[1] == name]

    async def line(self, text: str, timeout: float = 60.0, count: int = 1) -> str:
        """The `count`th line holding `text`, once it has been printed."""

        async def probe() -> str | None:
            found = [line for line in self.lines if text in line]
            return found[count - 1] if len(found) >= count else None

        try:
            return await eventually(probe, timeout=timeout)
        except AssertionError:
            tail = "\n".join(self.lines[-40:])
            raise AssertionError(f"no line {count} with {text!r}; the output ended:\n{tail}") from None

    async def finished(self) -> str:
        await self._reader
        return "\n".join(self.lines)


@pytest.mark.timeout(300)  # about 25 s; more on a busy machine, where the worker alone takes 10-20 s to start
async def test_make_run_restarts_a_killed_worker_or_server_and_the_tasks_still_complete(tmp_path: Path) -> None:
    temporal_port, ui_port, bot_port, sandbox_port = (free_port() for _ in range(4))
    state = tmp_path / "state"
    env = _bare_env(
        _path_without_apt(tmp_path),
        tmp_path,
        BATON_HTTP_PORT=str(bot_port),
        BATON_SANDBOX_PORT=str(sandbox_port),
        BATON_STICKY_QUEUE_TIMEOUT_S="1",  # the killed worker's cached workflows move on quickly
        BATON_HEARTBEAT_THROTTLE_S="0.5", BATON_HEARTBEAT_INTERVAL_S="0.5",
        BATON_PROGRESS_INTERVAL_S="0.05",
    )
    make = await asyncio.create_subprocess_exec(
        str(Path(env["PATH"]) / "make"),
        "--no-print-directory",
        "-o",  # setup is taken as done (the recipe needs the network; test_setup_... checks it)
        STAMP,
        "run",
        f"ARGS=--port {temporal_port} --ui-port {ui_port} --state-dir {state}",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group, which the test's Ctrl-C goes to
    )
    assert make.stdout is not None
    output = Output(make.stdout)
    try:
        await output.line("Baton is running.", timeout=90)
        [worker], [bot], [sandbox] = output.pids("worker"), output.pids("bot"), output.pids("sandbox")

        client = await Client.connect(f"127.0.0.1:{temporal_port}", data_converter=pydantic_data_converter)
        gateway = TaskGateway(client, query_timeout_s=2)
        await eventually(lambda: _agents_polled(client), timeout=90)
        request = make_request(parameters={"steps": 10, "step_seconds": 0.4}, heartbeat_timeout_s=2)
        await gateway.submit(request)
        await status_when(gateway, request.task_id, lambda s: s.progress.step >= 2)

        os.kill(worker, signal.SIGKILL)
        await output.line("worker exited (killed by SIGKILL); restarting in 1 s")
        await output.line("starting worker", count=2)
        assert _alive(bot) and _alive(sandbox), "the bot and the sandbox kept running"
        assert output.pids("bot") == [bot] and output.pids("sandbox") == [sandbox]

        result = await asyncio.wait_for(gateway.result(request.task_id), 60)
        assert result.outcome == "success", result
        assert (await gateway.status(request.task_id)).attempt == 2, "the task was retried on the restarted worker"

        [temporal] = output.pids("temporal")
        os.kill(temporal, signal.SIGKILL)  # the server too: same port and database when it comes back
        await output.line("temporal exited (killed by SIGKILL); restarting in 1 s")
        await output.line("starting temporal", count=2)
        after = make_request(parameters={"steps": 1})
        await eventually(lambda: gateway.submit(after), timeout=30)
        assert (await asyncio.wait_for(gateway.result(after.task_id), 60)).outcome == "success"
        assert (await gateway.result(request.task_id)).outcome == "success", "the first task's record survived"

        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        await asyncio.wait_for(make.wait(), 60)
        text = await output.finished()
        assert "Stopping (the worker drains in-flight activities)" in text
        assert "Traceback" not in text, text
        children = [*output.pids("worker"), bot, sandbox, *output.pids("temporal")]
        assert not any(_alive(pid) for pid in children), "every process stopped"
        assert not _listening(temporal_port), "the Temporal dev server stopped"
        assert output.pids("bot") == [bot], "the bot rode out the server's restart"
    except BaseException:
        print("make run printed, last lines:", *output.lines[-80:], sep="\n")  # shown with the failure
        raise
    finally:
        await _stop_group(make)


async def _stop_group(process: asyncio.subprocess.Process) -> None:
    """After a failure: Ctrl-C the whole group, then kill what is left, so no process outlives the test."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), 45)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def _make(bin_dir: Path, tmp_path: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(bin_dir / "make"),
        "--no-print-directory",
        *args,
        cwd=REPO,
        env=_bare_env(bin_dir, tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, out.decode()


async def test_setup_and_run_call_no_apt_no_dpkg_and_no_sudo(tmp_path: Path) -> None:
    bin_dir = _path_without_apt(tmp_path)
    fresh_venv = tmp_path / "venv"  # a machine that has never run make: every recipe line would run
    code, recipe = await _make(bin_dir, tmp_path, "-n", "run", f"VENV={fresh_venv}", f"PYTHON={sys.executable}")
    assert code == 0, recipe
    assert "-m venv" in recipe and "pip install" in recipe and "baton dev" in recipe, recipe
    assert not [tool for tool in NOT_ROOT_TOOLS if re.search(rf"(^|[\s;&|]){tool}\s", recipe, re.M)], recipe
    assert "chromium" not in recipe.lower(), "make run needs no browser"


async def test_setup_refuses_a_python_older_than_3_11_in_one_line(tmp_path: Path) -> None:
    bin_dir = _path_without_apt(tmp_path)
    old_python = tmp_path / "python3.10"
    old_python.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.10.12"; exit 1\n')
    old_python.chmod(0o755)
    code, out = await _make(bin_dir, tmp_path, "setup", f"VENV={tmp_path / 'venv'}", f"PYTHON={old_python}")
    assert code != 0
    assert f"Baton needs Python 3.11 or newer; {old_python} is Python 3.10.12." in out, out
    assert not (tmp_path / "venv").exists()


async def test_the_browser_step_without_apt_prints_one_line_on_how_to_install_chromium(tmp_path: Path) -> None:
    bin_dir = _path_without_apt(tmp_path)
    process = await asyncio.create_subprocess_exec(
        str(bin_dir / "make"),
        "--no-print-directory",
        "browser",
        cwd=REPO,
        env=_bare_env(bin_dir, tmp_path, BATON_CHROMIUM=str(tmp_path / "no-chromium")),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, "make test goes on; the browser tests then fail with the same advice"
    assert out.decode().splitlines() == [
        f"make test: no Chromium at {tmp_path / 'no-chromium'}, so the browser tests will fail; install it with: "
        "sudo apt-get install -y chromium fonts-noto-color-emoji (or set BATON_CHROMIUM to a Chromium binary)"
    ]
