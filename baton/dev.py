"""`baton dev` / `make run`: the whole system on one machine, on embedded defaults.

Starts the Temporal dev server (state in `.baton/temporal.db`, so tasks survive a restart), a worker with SQLite
checkpoints, and the Slack bot; with no Slack credentials set, the bot talks to the local sandbox (a Slack
look-alike in the browser) instead. Each runs as its own process (`python -m workers`, `-m bot`, `-m sandbox`),
as in production. Ctrl-C stops everything, letting the worker drain first.
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

from baton.devserver import dev_server


def _child_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, **overrides}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


async def _spawn(name: str, module: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    print(f"  starting {name:8} python -m {module}", flush=True)
    return await asyncio.create_subprocess_exec(sys.executable, "-m", module, env=env)


async def _stop(processes: list[asyncio.subprocess.Process], grace_s: float = 35.0) -> None:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _run(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    print("Baton dev: starting the Temporal dev server ...", flush=True)
    async with dev_server(
        port=args.port, ui_port=args.ui_port, db_filename=state / "temporal.db", log_path=state / "temporal.log"
    ) as server:
        env = _child_env(
            TEMPORAL_ADDRESS=server.address,
            TEMPORAL_UI_URL=server.ui_url or "",
            BATON_CHECKPOINTER=os.environ.get("BATON_CHECKPOINTER", str(state / "checkpoints.sqlite")),
        )
        processes = [await _spawn("worker", "workers", env)]
        extra_lines, bot_env = await _slack_side(env, processes)
        processes.append(await _spawn("bot", "bot", bot_env))
        print(
            "\nBaton is running.\n"
            f"  Temporal UI   {server.ui_url}\n"
            f"  Temporal      {server.address}\n" + "".join(f"  {line}\n" for line in extra_lines) + "\n"
            "Try it from another terminal:\n"
            '  .venv/bin/baton submit diagnostic "hello" --wait\n'
            '  .venv/bin/baton submit ops_audit "check the web fleet"   # then: baton status <id>; baton decide <id> '
            "approve\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        waiters = [asyncio.create_task(p.wait()) for p in processes]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *waiters], return_when=asyncio.FIRST_COMPLETED)
        exit_code = 0
        if stopper not in done:
            crashed = next(p for p in processes if p.returncode is not None)
            print(f"baton dev: a process exited with code {crashed.returncode}; stopping the rest.", file=sys.stderr)
            exit_code = 1
        print("\nStopping (the worker drains in-flight activities) ...", flush=True)
        await _stop(processes)
        stopper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopper
    return exit_code


async def _slack_side(
    env: dict[str, str], processes: list[asyncio.subprocess.Process]
) -> tuple[list[str], dict[str, str]]:
    """The bot's environment: a real workspace when Slack credentials are set; otherwise the local sandbox (a
    Slack look-alike in the browser), started here with fresh secrets that only it and the bot share."""
    bot_port = os.environ.get("BATON_HTTP_PORT", "3000")
    if os.environ.get("SLACK_BOT_TOKEN") and (
        os.environ.get("SLACK_SIGNING_SECRET") or os.environ.get("SLACK_APP_TOKEN")
    ):
        return [
            f"Slack bot     http://127.0.0.1:{bot_port}/slack/events (Socket Mode when SLACK_APP_TOKEN is set)"
        ], env
    sandbox_port = os.environ.get("BATON_SANDBOX_PORT", "3100")
    shared = {
        "SLACK_BOT_TOKEN": f"xoxb-sandbox-{secrets.token_hex(12)}",
        "SLACK_SIGNING_SECRET": secrets.token_hex(32),
    }
    sandbox_env = {**env, **shared, "BATON_SANDBOX_PORT": sandbox_port}
    sandbox_env["BATON_SANDBOX_EVENTS_URL"] = f"http://127.0.0.1:{bot_port}/slack/events"
    processes.append(await _spawn("sandbox", "sandbox", sandbox_env))
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
    ], bot_env


def run_dev(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        print(f"baton dev: {exc}", file=sys.stderr)
        return 1
