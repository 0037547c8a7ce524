"""Slack Web API calls per task: 100 concurrent `sales_report` tasks (DemoChatModel), each started by a signed
`/baton run` in its own channel, its scope checkpoint approved through the bot as soon as its card appears, while the
fake Slack answers bursts of chat.update with 429 + Retry-After.

Per task it counts the Web API calls made in the task's channel (429s shown apart) against the task's visible state
changes, read from its history: the start, each progress signal, each run_agent result (a checkpoint, the
result) and each accepted decision. Then it checks that every task's final message and final status landed.
Target: calls <= visible state changes, zero lost final messages. It also reports each task's AgentWorkflow history
(events, bytes, notify activities: issue #16's "with Slack" figures; bench.slack_history adds the run without Slack).

    python -m bench.slack_calls [--tasks 100] [--bursts 40]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from functools import partial
from typing import Any, cast

from bench._slack_common import (
    Stack,
    TaskHistory,
    percentile,
    print_table,
    slack_stack,
    spread,
    task_history,
    write_results,
)
from sandbox import FakeSlackApi, Message
from workers.demo_model import DemoChatModel

USER = "U02BOB"
RESPONSE_URL = "response_url"
ANSWERS_TO_CLICKS = frozenset({"chat.postEphemeral"})
"""The private "Done: you approved ..." answer to the person who clicked: not part of the thread's upkeep."""


def _part(message: Message) -> str | None:
    payload = (message.metadata or {}).get("event_payload") or {}
    return payload.get("part")


def _labels(message: Message) -> list[str]:
    return [e.get("text", {}).get("text", "") for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def _status_message(slack: FakeSlackApi, channel: str) -> Message:
    """The task's status message in `channel` (falsy until it is posted: the predicate `wait_for` re-checks)."""
    return next((m for m in slack.messages_in(channel) if _part(m) == "status"), cast(Message, None))


def _task_of(message: Message) -> str | None:
    payload = (message.metadata or {}).get("event_payload") or {}
    return payload.get("task_id")


def bench_channels(tasks: int) -> dict[str, str]:
    """One channel per task, so each task's Web API calls are told apart by their channel."""
    return {f"C{i:04d}BENCH": f"bench-{i}" for i in range(tasks)}


async def main(tasks: int, bursts: int) -> dict[str, Any]:
    async with slack_stack(channels=bench_channels(tasks), chat_model=DemoChatModel) as stack:
        results = await measure(stack, tasks, bursts)
    print_report(results)
    write_results("slack_calls", results)
    return results


async def measure(stack: Stack, tasks: int, bursts: int) -> dict[str, Any]:
    """Run `tasks` concurrent sales_report tasks through the bot on `stack` (whose fake Slack knows
    `bench_channels(tasks)`) and count, per task, its Slack calls against its visible changes and its history."""
    channels = bench_channels(tasks)
    slack = stack.slack
    started = time.monotonic()
    answers = await asyncio.gather(
        *(stack.delivery.send_slash_command("run sales_report Sales for Q1", USER, c) for c in channels)
    )
    assert all(a.status == 200 for a in answers), [a.status for a in answers]
    roots = {c: await slack.wait_for(partial(_status_message, slack, c), timeout=120) for c in channels}
    task_of = {c: _task_of(m) for c, m in roots.items()}
    clicked: set[str] = set()
    clicks: list[asyncio.Task[Any]] = []
    finished = asyncio.Event()

    async def inject_429s() -> None:
        for _ in range(bursts):
            if finished.is_set():
                return
            slack.fail_next("chat.update", retry_after=1, times=2)
            await asyncio.sleep(0.25)

    injector = asyncio.create_task(inject_429s())
    closed = f"WorkflowType = 'AgentWorkflow' AND ExecutionStatus != 'Running' AND TaskQueue = '{stack.task_queue}'"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        for channel, root in roots.items():
            if channel in clicked:
                continue
            card = next((m for m in slack.messages_in(channel, root.ts) if "Approve" in _labels(m)), None)
            if card is not None:
                clicked.add(channel)
                clicks.append(
                    asyncio.create_task(
                        stack.delivery.send_block_actions(
                            user_id=USER, action_id="baton.decide.accept", channel_id=channel, message_ts=card.ts
                        )
                    )
                )
        if (await stack.client.count_workflows(closed)).count >= tasks:
            break
        await asyncio.sleep(0.2)
    finished.set()
    await injector
    done = {c for c, t in task_of.items() if t and (await stack.gateway.status(t)).phase == "completed"}
    finished_s = time.monotonic() - started
    await asyncio.gather(*clicks)

    def landed(channel: str) -> bool:
        root = slack.message(channel, roots[channel].ts)
        final = [m for m in slack.messages_in(channel, root.ts) if _part(m) == "final"]
        return len(final) == 1 and "Completed" in str(root.blocks) and "Completed" in str(final[0].blocks)

    try:  # the last notify may still be waiting out a Retry-After
        await slack.wait_for(lambda: all(landed(c) for c in channels), timeout=60)
    except TimeoutError:
        pass
    lost = [task_of[c] for c in channels if not landed(c)]
    per_task: list[dict[str, Any]] = []
    for channel, task_id in task_of.items():
        calls = [c for c in slack.calls if c.args.get("channel") == channel and c.method != RESPONSE_URL]
        thread = [c for c in calls if c.method not in ANSWERS_TO_CLICKS]
        history = await task_history(stack.client, task_id or "")
        per_task.append(
            {
                "task_id": task_id,
                "history": history,
                "visible_changes": history.visible_changes,
                "calls": sum(c.status != 429 for c in thread),
                "answers_to_clicks": sum(c.status != 429 for c in calls if c.method in ANSWERS_TO_CLICKS),
                "calls_429": sum(c.status == 429 for c in calls),
                "methods": Counter(c.method for c in calls if c.status != 429),
            }
        )
    total_429 = sum(c.status == 429 for c in slack.calls)
    unattributed = [c.method for c in slack.calls if not c.args.get("channel") and c.method != RESPONSE_URL]

    histories: list[TaskHistory] = [t["history"] for t in per_task]
    thread_calls = [t["calls"] for t in per_task]
    changes = [t["visible_changes"] for t in per_task]
    over = [t for t in per_task if t["calls"] > t["visible_changes"]]
    methods: Counter[str] = Counter()
    for t in per_task:
        methods.update(t["methods"])
    results: dict[str, Any] = {
        "tasks": tasks,
        "completed": len(done),
        "wall_s": round(finished_s, 1),
        "calls_per_task": {
            "mean": round(statistics.mean(thread_calls), 2),
            "p50": percentile(thread_calls, 50),
            "max": max(thread_calls),
        },
        "visible_changes_per_task": {
            "mean": round(statistics.mean(changes), 2),
            "p50": percentile(changes, 50),
            "min": min(changes),
        },
        "answers_to_clicks_per_task_mean": round(statistics.mean(t["answers_to_clicks"] for t in per_task), 2),
        "calls_429_per_task_mean": round(statistics.mean(t["calls_429"] for t in per_task), 2),
        "tasks_with_more_calls_than_changes": len(over),
        "calls_by_method_per_task": {m: round(n / tasks, 2) for m, n in methods.most_common()},
        "history_per_task": history_summary(histories),
        "injected_429": total_429,
        "unattributed_calls": dict(Counter(unattributed)),
        "lost_final_messages": len(lost),
        "lost_task_ids": lost[:10],
        "target": {"calls_per_task_at_most": "visible state changes", "lost_final_messages": 0},
    }
    results["target_met"] = not over and not lost and len(done) == tasks
    return results


def history_summary(histories: list[TaskHistory]) -> dict[str, Any]:
    """AgentWorkflow's history a task (events, bytes, notify activities, workflow tasks, events by type), spread
    over the tasks."""
    kinds: Counter[str] = Counter()
    for h in histories:
        kinds.update(h.by_type)
    return {
        "events": spread([h.events for h in histories]),
        "bytes": spread([h.bytes for h in histories], digits=0),
        "notify_activities": spread([h.notify_activities for h in histories]),
        "progress_signals": spread([h.progress_signals for h in histories]),
        "progress_on_run_agent_results": spread([h.progress_on_results for h in histories]),
        "workflow_tasks": spread([h.workflow_tasks for h in histories]),
        "events_by_type_mean": {k: round(n / len(histories), 2) for k, n in kinds.most_common()},
    }


def print_report(results: dict[str, Any]) -> None:
    calls, changes = results["calls_per_task"], results["visible_changes_per_task"]
    history = results["history_per_task"]
    print_table(
        "bench.slack_calls: Slack Web API calls per sales_report task",
        [
            ("tasks (concurrent) / completed", f"{results['tasks']} / {results['completed']}"),
            ("thread calls per task mean / p50 / max", f"{calls['mean']:.2f} / {calls['p50']} / {calls['max']}"),
            (
                "visible changes per task mean / p50 / min",
                f"{changes['mean']:.2f} / {changes['p50']} / {changes['min']}",
            ),
            ("tasks with thread calls > changes", results["tasks_with_more_calls_than_changes"]),
            ("+ ephemeral answers to clicks per task", results["answers_to_clicks_per_task_mean"]),
            ("429s answered (total)", results["injected_429"]),
            ("calls by method per task", results["calls_by_method_per_task"]),
            ("history events per task mean / p50 / max", _mean_p50_max(history["events"])),
            ("history bytes per task mean / p50 / max", _mean_p50_max(history["bytes"])),
            ("notify activities per task mean / p50 / max", _mean_p50_max(history["notify_activities"])),
            ("lost final messages", results["lost_final_messages"]),
            ("target met", results["target_met"]),
        ],
    )


def _mean_p50_max(figure: dict[str, float]) -> str:
    return f"{figure['mean']} / {figure['p50']} / {figure['max']}"


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument(
        "--bursts",
        type=int,
        default=40,
        help="429 bursts (the next 2 chat.update calls each), 4 a second while tasks run",
    )
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.bursts))
