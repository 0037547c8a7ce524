"""Issue #16's "with Slack" figures: what one `sales_report` task through its scope checkpoint costs in AgentWorkflow
history and in Slack calls, with Slack and without.

With Slack: bench.slack_calls' run (N concurrent tasks started by a signed `/baton run`, the checkpoint approved
through the bot, 429 bursts on chat.update): per task, history events and bytes, notify activities, workflow tasks,
Slack calls by method. Without Slack: the same agent and model on the same stack, N concurrent tasks submitted
through the gateway as a CLI request (no notify queue is named, so no notify activity runs) and accepted through the
gateway: per task, history events and bytes. That is what issue #16's "42 events without Slack" counts (its
recorded history, tests/histories/sales_report_edited.json, is such a task decided by an edit).

Each run is written under its label (`--label before` / `--label after`) with the commit it measured, so one file
keeps a change's before and after:

    python -m bench.slack_history [--tasks 100] [--bursts 40] [--label current]
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baton.gateway import TaskGateway
from bench import slack_calls
from bench._slack_common import (
    RESULTS_DIR,
    Stack,
    TaskHistory,
    print_table,
    slack_stack,
    task_history,
    wait_until,
    write_results,
)
from contracts.checkpoint import DecisionV1
from contracts.task import RequesterV1, TaskRequestV1
from workers.demo_model import DemoChatModel

AGENT = "sales_report"
TEXT = "Sales for Q1"
REFERENCE = {"history_events_without_slack": 42, "slack_calls_per_task": 9.5, "visible_changes_per_task": 12.5}
"""Issue #16's "today" figures, which the goal says the measured ones must not exceed."""


async def without_slack(gateway: TaskGateway, tasks: int) -> list[TaskHistory]:
    """`tasks` concurrent sales_report tasks with no Slack in the loop: submitted and accepted through the gateway."""
    requests = [
        TaskRequestV1.new(AGENT, TEXT, RequesterV1(platform="cli", user_id="U02BOB"), f"bench:{uuid.uuid4()}")
        for _ in range(tasks)
    ]
    await asyncio.gather(*(gateway.submit(r) for r in requests))
    await asyncio.gather(*(_accept_and_finish(gateway, r.task_id) for r in requests))
    return [await task_history(gateway.client, r.task_id) for r in requests]


async def _accept_and_finish(gateway: TaskGateway, task_id: str) -> None:
    async def checkpoint() -> str | None:
        status = await gateway.status(task_id)
        return status.pending_checkpoint.id if status.pending_checkpoint else None

    checkpoint_id = await wait_until(checkpoint, timeout_s=300)
    assert checkpoint_id, f"{task_id} never reached its checkpoint"
    decision = DecisionV1(checkpoint_id=checkpoint_id, decision="accept", by="U02BOB", at=datetime.now(UTC))
    await gateway.decide(task_id, decision)
    result = await gateway.result(task_id)
    assert result.outcome == "success", (task_id, result.outcome)


async def run(
    stack: Stack, tasks: int, bursts: int, commit: str | None = None, one_at_a_time: int = 3
) -> dict[str, Any]:
    """Both runs on one stack, the Slack one first (its completion count is by the stack's task queue), with the
    machine's load average: at 100 concurrent tasks the figures move with it (a slower task sends more progress,
    a slower notify coalesces more changes into one Slack edit), so compare runs made at a similar load. Without
    Slack, `one_at_a_time` more tasks run alone, since a task's progress signals (and so its events) grow with the
    load: the alone figure is the one to hold against a single recorded history."""
    started, load_before = time.monotonic(), os.getloadavg()[0]
    with_slack = await slack_calls.measure(stack, tasks, bursts)
    slack_s = time.monotonic() - started
    histories = await without_slack(stack.gateway, tasks)
    without: dict[str, Any] = {
        "tasks": tasks,
        "wall_s": round(time.monotonic() - started - slack_s, 1),
        "history_per_task": slack_calls.history_summary(histories),
    }
    alone = [h for _ in range(one_at_a_time) for h in await without_slack(stack.gateway, 1)]
    if alone:
        without["one_at_a_time"] = {"tasks": one_at_a_time, "history_per_task": slack_calls.history_summary(alone)}
    slack_history = with_slack["history_per_task"]
    return {
        "commit": commit or _commit(),
        "load_average_1m": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)},
        "with_slack": {
            "history_events_per_task": slack_history["events"],
            "history_bytes_per_task": slack_history["bytes"],
            "notify_activities_per_task": slack_history["notify_activities"],
            "slack_calls_per_task": with_slack["calls_per_task"],
            "slack_calls_by_method_per_task": with_slack["calls_by_method_per_task"],
            "visible_changes_per_task": with_slack["visible_changes_per_task"],
            "slack_calls": with_slack,
        },
        "without_slack": without,
        "within_reference": {
            "history_events_without_slack_concurrent": without["history_per_task"]["events"]["mean"]
            <= REFERENCE["history_events_without_slack"],
            "history_events_without_slack_one_at_a_time": bool(alone)
            and without["one_at_a_time"]["history_per_task"]["events"]["mean"]
            <= REFERENCE["history_events_without_slack"],
            "slack_calls_per_task": with_slack["calls_per_task"]["mean"] <= REFERENCE["slack_calls_per_task"],
        },
    }


def _commit() -> str:
    """The commit measured, `+dirty` when the checkout under bench/ .. has uncommitted changes to product code."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "workers", "bot", "contracts", "baton"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def print_report(label: str, results: dict[str, Any]) -> None:
    slack, without = results["with_slack"], results["without_slack"]["history_per_task"]
    print_table(
        f"bench.slack_history [{label}] at {results['commit']}: a sales_report task through its checkpoint"
        f" (load {results['load_average_1m']})",
        [
            ("with Slack: history events mean / p50 / max", _figures(slack["history_events_per_task"])),
            ("with Slack: history bytes mean / p50 / max", _figures(slack["history_bytes_per_task"])),
            ("with Slack: notify activities mean / p50 / max", _figures(slack["notify_activities_per_task"])),
            ("with Slack: Slack calls mean / p50 / max", _figures(slack["slack_calls_per_task"])),
            ("with Slack: Slack calls by method", slack["slack_calls_by_method_per_task"]),
            ("with Slack: visible changes mean", slack["visible_changes_per_task"]["mean"]),
            ("without Slack: history events mean / p50 / max", _figures(without["events"])),
            ("without Slack: history bytes mean / p50 / max", _figures(without["bytes"])),
            ("without Slack, one at a time: history events mean / max", _alone(results["without_slack"])),
            ("within issue #16's reference", results["within_reference"]),
        ],
    )


def _alone(without: dict[str, Any]) -> str:
    if "one_at_a_time" not in without:
        return "-"
    events = without["one_at_a_time"]["history_per_task"]["events"]
    return f"{events['mean']} / {events['max']}"


def _figures(figure: dict[str, float]) -> str:
    return f"{figure['mean']} / {figure['p50']} / {figure['max']}"


def merge_results(label: str, results: dict[str, Any]) -> dict[str, Any]:
    """The results file with this run under `label`, the other labels' runs kept."""
    path = RESULTS_DIR / "slack_history.json"
    runs: dict[str, Any] = {}
    if path.exists():
        runs = json.loads(path.read_text()).get("runs", {})
    runs[label] = results
    return {"reference": REFERENCE, "runs": runs}


async def main(tasks: int, bursts: int, label: str, commit: str | None = None) -> dict[str, Any]:
    async with slack_stack(channels=slack_calls.bench_channels(tasks), chat_model=DemoChatModel) as stack:
        results = {"tasks": tasks, "bursts": bursts, **await run(stack, tasks, bursts, commit)}
    print_report(label, results)
    write_results("slack_history", merge_results(label, results))
    return results


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--bursts", type=int, default=40, help="429 bursts on chat.update during the Slack run")
    parser.add_argument("--label", default="current", help="the key this run is written under (before, after, ...)")
    parser.add_argument("--commit", help="the commit measured, when the code is not a git checkout (git archive)")
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.bursts, args.label, args.commit))
