"""`baton dev` / `make run`: the whole system on one machine, on embedded defaults, kept running.

Starts the Temporal dev server (state in `.baton/temporal.db`, so tasks survive a restart), a worker with SQLite
checkpoints, and the Slack bot; with no Slack credentials set, the bot talks to the local sandbox (a Slack
look-alike in the browser) instead. Each runs as its own process (`python -m workers`, `-m bot`, `-m sandbox`),
as in production, under baton.supervisor: one that dies is restarted with a backoff while the others keep running.
Ctrl-C stops everything, letting the worker drain first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
from pathlib import Path

from baton.devserver import DevServer, dev_server
from baton.supervisor import Child, PythonModule, Supervisor


def _child_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, **overrides}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class _TemporalServer:
    """The Temporal dev server as a supervised child: every start on the same ports and database, so tasks carry on
    where they were and the worker and the bot reconnect to the same address."""

    name = "temporal"
    command = "temporal server start-dev"

    def __init__(self, *, port: int, ui_port: int, state: Path) -> None:
        self._port, self._ui_port, self._state = port, ui_port, state
        self._stack: contextlib.AsyncExitStack | None = None
        self.server: DevServer | None = None

    async def start(self) -> asyncio.subprocess.Process:
        await self.close()
        stack = contextlib.AsyncExitStack()
        server = await stack.enter_async_context(
            dev_server(
                port=self._port,
                ui_port=self._ui_port,
                db_filename=self._state / "temporal.db",
                log_path=self._state / "temporal.log",
            )
        )
        self._stack, self.server = stack, server
        return server.process

    def running(self) -> DevServer:
        """The server of the latest start (its address and UI stay the same across restarts)."""
        if self.server is None:
            raise RuntimeError("the Temporal dev server was never started")
        return self.server

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()


async def _run(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    print("Baton dev: starting the Temporal dev server ...", flush=True)
    temporal = _TemporalServer(port=args.port, ui_port=args.ui_port, state=state)
    servers, processes = Supervisor(grace_s=15), Supervisor()
    try:
        await servers.start([temporal])
        server = temporal.running()
        env = _child_env(
            TEMPORAL_ADDRESS=server.address,
            TEMPORAL_UI_URL=server.ui_url or "",
            BATON_CHECKPOINTER=os.environ.get("BATON_CHECKPOINTER", str(state / "checkpoints.sqlite")),
            # Whatever build the worker is (a version bump, BATON_BUILD_ID), it is the one `make run` should use.
            BATON_MAKE_CURRENT=os.environ.get("BATON_MAKE_CURRENT", "always"),
        )
        extra_lines, slack_children = _slack_side(env)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal closed; the children,
            loop.add_signal_handler(sig, stop.set)  # in process groups of their own, hear only the supervisor
        await processes.start([PythonModule("worker", "workers", env), *slack_children])
        print(
            "\nBaton is running.\n"
            f"  Temporal UI   {server.ui_url}\n"
            f"  Temporal      {server.address}\n" + "".join(f"  {line}\n" for line in extra_lines) + "\n"
            "Try it from another terminal:\n"
            '  .venv/bin/baton submit diagnostic "hello" --wait\n'
            '  .venv/bin/baton submit ops_audit "check the web fleet"   # then: baton status <id>; baton decide '
            "<id> approve\n"
            "A process that exits is restarted (1 s, 2 s, 4 s ... apart). Ctrl-C stops everything.\n",
            flush=True,
        )
        await stop.wait()
    finally:
        print("\nStopping (the worker drains in-flight activities) ...", flush=True)
        await processes.stop()  # first: the worker drains while Temporal is still up to take its results
        await servers.stop()
        await temporal.close()
    return 0


def _slack_side(env: dict[str, str]) -> tuple[list[str], list[Child]]:
    """The Slack side: the bot against a real workspace when Slack credentials are set; otherwise the local sandbox (a
    Slack look-alike in the browser) and the bot, with fresh secrets that only the two of them share. Returns the
    lines to print and the children to start, in order (the sandbox before the bot that calls it)."""
    bot_port = os.environ.get("BATON_HTTP_PORT", "3000")
    if os.environ.get("SLACK_BOT_TOKEN") and (
        os.environ.get("SLACK_SIGNING_SECRET") or os.environ.get("SLACK_APP_TOKEN")
    ):
        where = f"Slack bot     http://127.0.0.1:{bot_port}/slack/events (Socket Mode when SLACK_APP_TOKEN is set)"
        return [where], [PythonModule("bot", "bot", env)]
    sandbox_port = os.environ.get("BATON_SANDBOX_PORT", "3100")
    shared = {
        "SLACK_BOT_TOKEN": f"xoxb-sandbox-{secrets.token_hex(12)}",
        "SLACK_SIGNING_SECRET": secrets.token_hex(32),
    }
    sandbox_env = {**env, **shared, "BATON_SANDBOX_PORT": sandbox_port}
    sandbox_env["BATON_SANDBOX_EVENTS_URL"] = f"http://127.0.0.1:{bot_port}/slack/events"
    bot_env = {
        **env,
        **shared,
        "SLACK_API_URL": f"http://127.0.0.1:{sandbox_port}/api/",
        "BATON_HTTP_PORT": bot_port,
        "BATON_SLACK_TEAM_ID": "T0SANDBOX",
        "BATON_ADMINS": "U01ALICE",
        "BATON_APPROVER_GROUPS": "S01APPROVERS",
    }
    return [
        f"Sandbox       http://127.0.0.1:{sandbox_port}   <- open this: a local Slack channel with Baton in it",
        "              (no Slack workspace needed; set SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET for a real one)",
    ], [PythonModule("sandbox", "sandbox", sandbox_env), PythonModule("bot", "bot", bot_env)]


def run_dev(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        print(f"baton dev: {exc}", file=sys.stderr)
        return 1
