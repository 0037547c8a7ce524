"""Slack Web API calls per task: 100 concurrent `sales_report` tasks (DemoChatModel), each started by a signed
`/baton run` in its own channel, its scope checkpoint approved through the bot as soon as its card appears, while the
fake Slack answers bursts of chat.update with 429 + Retry-After.

Per task it counts the Web API calls made in the task's channel (429s shown apart) against the task's visible state
changes, read from its history: the start, each progress signal, each run_agent result (a checkpoint, the
result) and each accepted decision. Then it checks that every task's final message and final status landed.
Target: calls <= visible state changes, zero lost final messages.

    python -m bench.slack_calls [--tasks 100] [--bursts 40]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from typing import Any

from temporalio.api.enums.v1 import EventType

from bench._slack_common import Stack, percentile, print_table, slack_stack, write_results
from sandbox import Message
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


def _task_of(message: Message) -> str | None:
    payload = (message.metadata or {}).get("event_payload") or {}
    return payload.get("task_id")


async def _visible_changes(stack: Stack, task_id: str) -> int:
    history = await stack.client.get_workflow_handle(task_id).fetch_history()
    kinds = Counter(e.event_type for e in history.events)
    signals = sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == "progress"
    )
    agent_results = sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and _scheduled_name(history.events, e.activity_task_completed_event_attributes.scheduled_event_id)
        == "run_agent"
    )
    return 1 + signals + agent_results + kinds[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]


def _scheduled_name(events: Any, event_id: int) -> str:
    event = events[event_id - 1]
    return str(event.activity_task_scheduled_event_attributes.activity_type.name)


async def main(tasks: int, bursts: int) -> dict[str, object]:
    channels = {f"C{i:04d}BENCH": f"bench-{i}" for i in range(tasks)}
    async with slack_stack(channels=channels, chat_model=DemoChatModel) as stack:
        slack = stack.slack
        started = time.monotonic()
        answers = await asyncio.gather(
            *(stack.delivery.send_slash_command("run sales_report Sales for Q1", USER, c) for c in channels)
        )
        assert all(a.status == 200 for a in answers), [a.status for a in answers]
        roots = {
            c: await slack.wait_for(
                lambda c=c: next((m for m in slack.messages_in(c) if _part(m) == "status"), None), timeout=120
            )
            for c in channels
        }
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
        closed = "WorkflowType = 'AgentWorkflow' AND ExecutionStatus != 'Running'"
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
        per_task = []
        for channel, task_id in task_of.items():
            calls = [c for c in slack.calls if c.args.get("channel") == channel and c.method != RESPONSE_URL]
            thread = [c for c in calls if c.method not in ANSWERS_TO_CLICKS]
            per_task.append(
                {
                    "task_id": task_id,
                    "visible_changes": await _visible_changes(stack, task_id or ""),
                    "calls": sum(c.status != 429 for c in thread),
                    "answers_to_clicks": sum(c.status != 429 for c in calls if c.method in ANSWERS_TO_CLICKS),
                    "calls_429": sum(c.status == 429 for c in calls),
                    "methods": Counter(c.method for c in calls if c.status != 429),
                }
            )
        total_429 = sum(c.status == 429 for c in slack.calls)
        unattributed = [c.method for c in slack.calls if not c.args.get("channel") and c.method != RESPONSE_URL]

    calls = [t["calls"] for t in per_task]
    changes = [t["visible_changes"] for t in per_task]
    over = [t for t in per_task if t["calls"] > t["visible_changes"]]
    methods: Counter[str] = Counter()
    for t in per_task:
        methods.update(t["methods"])
    results: dict[str, object] = {
        "tasks": tasks,
        "completed": len(done),
        "wall_s": round(finished_s, 1),
        "calls_per_task": {"mean": round(statistics.mean(calls), 2), "p50": percentile(calls, 50), "max": max(calls)},
        "visible_changes_per_task": {
            "mean": round(statistics.mean(changes), 2),
            "p50": percentile(changes, 50),
            "min": min(changes),
        },
        "answers_to_clicks_per_task_mean": round(statistics.mean(t["answers_to_clicks"] for t in per_task), 2),
        "calls_429_per_task_mean": round(statistics.mean(t["calls_429"] for t in per_task), 2),
        "tasks_with_more_calls_than_changes": len(over),
        "calls_by_method_per_task": {m: round(n / tasks, 2) for m, n in methods.most_common()},
        "injected_429": total_429,
        "unattributed_calls": dict(Counter(unattributed)),
        "lost_final_messages": len(lost),
        "lost_task_ids": lost[:10],
        "target": {"calls_per_task_at_most": "visible state changes", "lost_final_messages": 0},
    }
    results["target_met"] = not over and not lost and len(done) == tasks
    print_table(
        "bench.slack_calls: Slack Web API calls per sales_report task",
        [
            ("tasks (concurrent) / completed", f"{tasks} / {len(done)}"),
            (
                "thread calls per task mean / p50 / max",
                f"{statistics.mean(calls):.2f} / {percentile(calls, 50)} / {max(calls)}",
            ),
            (
                "visible changes per task mean / p50 / min",
                f"{statistics.mean(changes):.2f} / {percentile(changes, 50)} / {min(changes)}",
            ),
            ("tasks with thread calls > changes", len(over)),
            ("+ ephemeral answers to clicks per task", results["answers_to_clicks_per_task_mean"]),
            ("429s answered (total)", total_429),
            ("calls by method per task", results["calls_by_method_per_task"]),
            ("lost final messages", len(lost)),
            ("target met", results["target_met"]),
        ],
    )
    write_results("slack_calls", results)
    return results


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
