"""bench.chaos: tasks with checkpoints through the real bot while the worker, the bot and Temporal are SIGKILLed.

Each run starts a fresh stack of real processes on loopback: the Temporal dev server on a database file,
`python -m workers` (the labelled demo model, SQLite checkpoints), `python -m bot` (HTTP) and, in this process, the
fake Slack Web API and the people. N people each type a signed `/baton run ops_audit|sales_report ...` in their own
channel (at most --concurrency tasks open at once; a new one starts when one finishes) and approve the card with a
signed click as soon as it shows Approve. Meanwhile bench/chaos_schedule.py kills the worker 3 times, the bot twice
and the server once, each at a chosen moment. Every count must be exact (target: N of N, 5 runs in a row):

    tasks completed · finals posted per task (1) · status messages per task (1) · cards posted per checkpoint (1) ·
    approvals asked per checkpoint (1) · decisions recorded twice (0) · approvers wrongly refused (0: a "no longer
    pending" answer to a click on a pending card) · tasks stuck (0: not finished by the deadline) · kills done

    python -m bench.chaos [--tasks 30] [--runs 5] [--concurrency 6] [--deadline 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from baton.devserver import free_port
from bench._slack_common import write_results
from bench.chaos_measure import TaskOutcome, measure_task, summarize
from bench.chaos_people import APPROVER, Click, Person, World
from bench.chaos_processes import BatonProcess, BotProcess, TemporalOnDisk, bot_process, worker_process
from bench.chaos_schedule import Chaos
from bench.chaos_slack import HoldingSlack
from bench.chaos_system import MachineLoad
from sandbox import DEFAULT_SIGNING_SECRET, SlackDelivery

PLANNED_KILLS = {"worker": 3, "bot": 2, "server": 1}
AGENTS = ("ops_audit", "sales_report")


@dataclass
class Stack:
    temporal: TemporalOnDisk
    slack: HoldingSlack
    worker: BatonProcess
    bot: BotProcess
    client: Client
    delivery: SlackDelivery


@asynccontextmanager
async def chaos_stack(work: Path, channels: dict[str, str]) -> AsyncIterator[Stack]:
    """Real processes with product defaults (heartbeat timeout 30 s, sticky queue 10 s, notify timeout 60 s)."""
    temporal = TemporalOnDisk(work / "temporal.db", work / "temporal.log")
    await temporal.start()
    worker = worker_process(temporal.address, work / "checkpoints.sqlite", work / "worker.log")
    bot: BotProcess | None = None
    try:
        async with HoldingSlack(channels=channels) as slack:
            try:
                await worker.start()
                bot = bot_process(temporal.address, slack.base_url, slack.bot_token, DEFAULT_SIGNING_SECRET,
                                  free_port(), work / "bot.log", BATON_APPROVERS=APPROVER,
                                  BATON_SLACK_TEAM_ID=slack.team_id)
                await bot.start()
                client = await Client.connect(temporal.address, data_converter=pydantic_data_converter)
                async with SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as delivery:
                    yield Stack(temporal, slack, worker, bot, client, delivery)
            finally:
                slack.release_all()
                for process in (bot, worker):
                    if process is not None:
                        await process.stop()
    finally:
        await temporal.stop()


async def one_run(index: int, tasks: int, concurrency: int, deadline_s: float, work: Path) -> dict[str, Any]:
    channels = {f"C{i:04d}CHAOS": f"chaos-{i}" for i in range(tasks)}
    load = MachineLoad.start()
    async with chaos_stack(work, channels) as stack:
        began = time.monotonic()
        world = World(stack.slack, stack.delivery, concurrency)
        persons = [Person(world, channel, AGENTS[i % len(AGENTS)]) for i, channel in enumerate(channels)]
        chaos = Chaos(world, stack.slack, stack.temporal, stack.bot, stack.worker, tasks)
        people = [asyncio.create_task(p.run(), name=f"person-{i}") for i, p in enumerate(persons)]
        schedule = asyncio.create_task(chaos.run(), name="chaos")
        await _until_done(world, schedule, people, deadline_s)
        outcomes: list[TaskOutcome] = []
        for person in persons:
            if person.task_id:
                outcomes.append(await measure_task(stack.client, stack.slack, person))
        kills = {"worker": stack.worker.kills, "bot": stack.bot.kills, "server": stack.temporal.kills}
        counts = summarize(tasks, persons, outcomes, world.clicks, kills, PLANNED_KILLS)
        machine = load.stop()  # while this run's processes still exist, so their CPU shows
    return {
        "run": index,
        "wall_s": round(time.monotonic() - began, 1),
        **counts,
        "chaos": [asdict(e) for e in chaos.events],
        "load": machine,
        "click_log": [_click_line(c, began) for c in world.clicks],
        "problems": _problems(outcomes, persons),
        "work_dir": str(work),
    }


async def _until_done(world: World, schedule: asyncio.Task[None], people: list[asyncio.Task[None]],
                      deadline_s: float) -> None:
    """Wait for the kill schedule, then give the people `deadline_s` more to see their tasks through. If every
    person is done before the schedule is, the schedule stops where it is (its kills then fall short)."""
    everyone = asyncio.ensure_future(asyncio.wait(people))
    await asyncio.wait([schedule, everyone], return_when=asyncio.FIRST_COMPLETED)
    if not schedule.done():
        world.stopping = True
        world.bump()
        await schedule
    else:
        schedule.result()  # a schedule that failed (a process that would not start) ends the run with its error
        await asyncio.wait(people, timeout=deadline_s)
    world.stopping = True
    world.bump()
    for task in people:
        if not task.done():
            task.cancel()
    for task in people:
        with contextlib.suppress(asyncio.CancelledError):
            await task  # a person's own exception is a harness bug: let it surface
    everyone.cancel()


def _click_line(click: Click, began: float) -> str:
    """One click, for diagnosis: when, to which bot, what came back."""
    got = click.answer if click.answer is not None else (click.delivery_error or f"HTTP {click.status}, no answer")
    when = f" (answer #{click.answer_index} at {click.answered_at - began:.1f}s)" if click.answered_at else ""
    return (f"{click.sent_at - began:7.1f}s {click.channel} attempt {click.attempt} bot#{click.bot_generation} "
            f"after {click.chaos_seq} kill(s), {click.answers_before} answer(s) before: {got[:100]}{when}")


def _problems(outcomes: list[TaskOutcome], persons: list[Person]) -> list[dict[str, Any]]:
    """Each task whose numbers are not the exact ones, with what it shows (for the report and for diagnosis)."""
    bad = []
    for o in outcomes:
        if (o.phase != "completed" or o.finals != 1 or o.statuses != 1 or set(o.cards.values()) != {1}
                or o.approvals_asked != 1 or o.decisions_accepted != 1 or not o.card_shows_decision):
            bad.append(asdict(o))
    bad += [{"channel": p.channel, "task_id": None, "notes": p.notes} for p in persons if not p.task_id]
    return bad


ROW = [("completed", "tasks_completed"), ("finals/task", "finals_per_task"),
       ("status msgs/task", "status_messages_per_task"), ("cards/checkpoint", "cards_per_checkpoint"),
       ("asked/checkpoint", "approvals_asked_per_checkpoint"), ("decided twice", "decisions_recorded_twice"),
       ("wrongly refused", "approvers_wrongly_refused"), ("stuck", "tasks_stuck"), ("kills w/b/s", "kills"),
       ("clicks done/own/busy/error/no answer", "clicks"), ("wall s", "wall_s")]


def markdown_table(runs: list[dict[str, Any]], tasks: int) -> str:
    def cell(run: dict[str, Any], key: str) -> str:
        value = run[key]
        if key == "kills":
            return "/".join(str(value[k]) for k in ("worker", "bot", "server"))
        if key == "clicks":
            return "/".join(str(value.get(k, 0)) for k in ("done", "ours", "try_again", "other", "unanswered"))
        if key == "tasks_completed":
            return f"{value}/{tasks}"
        if isinstance(value, dict):
            return " ".join(f"{k}:{v}" for k, v in value.items()) or "-"
        return str(value)

    lines = ["| run | " + " | ".join(name for name, _ in ROW) + " | exact |",
             "|---" * (len(ROW) + 2) + "|"]
    for run in runs:
        lines.append(f"| {run['run']} | " + " | ".join(cell(run, key) for _, key in ROW)
                     + f" | {'yes' if run['all_exact'] else 'NO'} |")
    return "\n".join(lines)


async def main(tasks: int, runs: int, concurrency: int, deadline_s: float) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="baton-bench-chaos-"))
    machine = MachineLoad.start()
    results: list[dict[str, Any]] = []
    for index in range(1, runs + 1):
        work = root / f"run-{index}"
        work.mkdir()
        run = await one_run(index, tasks, concurrency, deadline_s, work)
        results.append(run)
        print(f"run {index}: {run['tasks_completed']}/{tasks} completed, all exact: {run['all_exact']}, "
              f"{run['wall_s']} s", flush=True)
    consecutive = 0
    for run in results:
        consecutive = consecutive + 1 if run["all_exact"] else 0
    report = {
        "tasks_per_run": tasks,
        "runs": results,
        "concurrency": concurrency,
        "deadline_s": deadline_s,
        "planned_kills_per_run": PLANNED_KILLS,
        "target": f"{tasks} of {tasks} tasks and every count exact, {runs} runs in a row",
        "target_met": all(r["all_exact"] for r in results),
        "processes": "per run: Temporal dev server (--db-filename), python -m workers (demo model, SQLite "
                     "checkpoints), python -m bot (HTTP); in the bench process: fake Slack Web API, signed "
                     "delivery, the people and the kill schedule",
        "settings": "product defaults: run_agent heartbeat timeout 30 s, sticky queue 10 s, notify "
                    "start-to-close 60 s, progress interval 1 s",
        "machine_load": machine.stop(),
        "cpus": os.cpu_count(),
        "work_dir": str(root),
    }
    table = markdown_table(results, tasks)
    print("\n" + table)
    report["table"] = table
    write_results("chaos", report)
    return report


async def run_until_terminated(work: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """SIGTERM cancels the run like Ctrl-C, so the processes it started (each in its own session, out of reach of
    the terminal's signals) are stopped by the cleanup code instead of being left behind."""
    task = asyncio.ensure_future(work)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await task


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=6, help="tasks open at once (closed loop)")
    parser.add_argument("--deadline", type=float, default=300.0,
                        help="seconds after the last kill for every task to finish (else it counts as stuck)")
    args = parser.parse_args()
    asyncio.run(run_until_terminated(main(args.tasks, args.runs, args.concurrency, args.deadline)))
