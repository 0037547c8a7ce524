"""`baton`: run Baton's processes and operate its tasks from a terminal.

    baton dev                      Temporal dev server + worker (+ bot and sandbox), what `make run` calls
    baton worker | bot             one process, as `python -m workers` / `python -m bot`
    baton notifier                 the bot's notify worker alone (python -m bot.notifier_main), for a serverless bot
    baton submit AGENT TEXT        prints the task id;  status TASK;  cancel TASK;  decide TASK DECISION
    baton list | agents
    baton audit [TASK] [--since 7d] [--json]   every decision: who, what, when, the quorum, what an edit changed
    baton deploy status | set-current [BUILD_ID]   the workers' deployment versions and each task's build

Every error prints one line and exits non-zero; no stack traces for bad input or a missing server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from baton import commands, deploy, worker_pool
from baton.audit import parse_since
from baton.errors import BatonError
from baton.gateway import TaskGateway
from baton.process_exit import exit_now
from baton.redaction import Redactor, install
from baton.temporal import TemporalSettingsError, connect, load_temporal_settings

Command = Callable[[TaskGateway, argparse.Namespace], Awaitable[str]]
PROCESSES = {"worker": "workers", "bot": "bot", "notifier": "bot.notifier_main"}
"""The subcommands that become a process (`python -m <module>`): baton starts them, never imports them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baton", description="Durable AI-agent jobs from Slack, run by Temporal.")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run everything locally: Temporal dev server, worker, bot and sandbox")
    dev.add_argument("--port", type=int, default=7233, help="Temporal gRPC port")
    dev.add_argument("--ui-port", type=int, default=8233, help="Temporal Web UI port")
    dev.add_argument("--state-dir", default=".baton", help="where tasks and checkpoints persist across restarts")
    worker = sub.add_parser("worker", help="run a worker (python -m workers), one process a core by default")
    worker.add_argument("--processes", type=int, choices=range(1, 257), metavar="N",
                        help="worker processes under one supervisor (default: the cores this process may use)")
    sub.add_parser("bot", help="run the Slack bot (python -m bot)")
    sub.add_parser("notifier", help="the bot's notify worker alone, no Slack listener (python -m bot.notifier_main)")

    submit = sub.add_parser("submit", help="start a task; prints its id")
    submit.add_argument("agent")
    submit.add_argument("text")
    submit.add_argument("--param", action="append", metavar="KEY=VALUE", help="agent parameter (repeatable)")
    submit.add_argument("--key", help="idempotency key: the same key never starts a second task")
    submit.add_argument("--approver", action="append", metavar="USER", help="who may decide checkpoints")
    submit.add_argument("--quorum", type=int, default=1, help="distinct approvals needed")
    submit.add_argument("--wait", action="store_true", help="wait for the task to end and print its status")
    submit.set_defaults(handler=commands.submit)

    status = sub.add_parser("status", help="show a task's status")
    status.add_argument("task")
    status.add_argument("--json", action="store_true", help="print the TaskStatusV1 as JSON")
    status.set_defaults(handler=commands.status)

    cancel = sub.add_parser("cancel", help="cancel a task")
    cancel.add_argument("task")
    cancel.add_argument("--reason", default="")
    cancel.set_defaults(handler=commands.cancel)

    decide = sub.add_parser("decide", help="answer the checkpoint a task waits on")
    decide.add_argument("task")
    decide.add_argument("decision", choices=["approve", "accept", "edit", "reject", "respond", "ignore"])
    decide.add_argument("--text", help="the answer (respond) or the reason (reject)")
    decide.add_argument("--args", help="edited arguments as a JSON object (edit)")
    decide.add_argument("--json", dest="text_is_json", action="store_true",
                        help="--text is JSON: a question the agent declares no answer for gets its parsed value")
    decide.add_argument("--as", dest="as_user", help="decide as this user id")
    decide.add_argument("--action", metavar="NAME|INDEX",
                        help="which action of a checkpoint with several: its tool name or its number (from 1)")
    decide.set_defaults(handler=commands.decide)

    listing = sub.add_parser("list", help="list open tasks")
    listing.add_argument("--user", help="only this requester's tasks")
    listing.add_argument("--all", action="store_true", help="include finished tasks")
    listing.set_defaults(handler=commands.list_tasks)

    agents = sub.add_parser("agents", help="the agents the running workers offer")
    agents.set_defaults(handler=commands.agents)

    audit = sub.add_parser("audit", help="every decision on tasks' checkpoints, read from Temporal")
    audit.add_argument("task", nargs="?", help="one task (default: every task on this task queue)")
    audit.add_argument("--since", help="only decisions this recent: 30m, 12h, 7d (default without TASK: 7d)")
    audit.add_argument("--json", action="store_true", help="print JSON lines, one decision each")
    audit.set_defaults(handler=commands.audit)

    deploying = sub.add_parser("deploy", help="the workers' Worker Deployment: versions, and the build of each task")
    deploy_sub = deploying.add_subparsers(dest="deploy_command", required=True)
    deploy_sub.add_parser("status", help="current and ramping versions; the build each running workflow is on"
                          ).set_defaults(handler=deploy.status)
    set_current = deploy_sub.add_parser("set-current", help="send new tasks and AUTO_UPGRADE workflows to a build")
    set_current.add_argument("build_id", nargs="?", help="default: BATON_BUILD_ID, else the installed version")
    set_current.add_argument("--force", action="store_true", help="even if its workers are not polling every queue")
    set_current.set_defaults(handler=deploy.set_current)
    return parser


async def run_command(handler: Command, args: argparse.Namespace) -> str:
    settings = load_temporal_settings()  # the worker's settings route too: same address, namespace, TLS and queue
    client = await connect(settings)
    return await handler(TaskGateway(client, task_queue=settings.task_queue), args)


def main(argv: list[str] | None = None) -> int:
    # What Python would print anyway (warnings and worse, the bare message, on stderr), scrubbed of secrets.
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    install(Redactor.from_variables(os.environ))
    args = build_parser().parse_args(argv)
    if args.command == "worker" and (args.processes or worker_pool.default_processes()) > 1:
        return worker_pool.main(args.processes)
    if args.command in PROCESSES:
        os.execv(sys.executable, [sys.executable, "-m", PROCESSES[args.command]])
    if args.command == "dev":
        from baton.dev import run_dev

        return run_dev(args)
    try:
        if args.command == "submit":
            args.request = commands.build_request(args)  # bad input is refused before any connection is made
        if args.command == "audit":
            args.window = parse_since(args.since) if args.since else None  # likewise
        output = asyncio.run(run_command(args.handler, args))
        if output:  # an audit with nothing to report prints no line (JSON lines readers would choke on a blank one)
            print(output)
    except TemporalSettingsError as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return 2
    except BatonError as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
        print(f"baton: invalid request: {problems}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def entrypoint() -> None:
    """The `baton` console script: `main`, then an exit that cannot be turned into a crash by finalization."""
    exit_now(main())


if __name__ == "__main__":
    entrypoint()
