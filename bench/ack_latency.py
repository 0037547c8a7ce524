"""Ack latency of `/baton run`: 1,000 signed slash commands, 50 in flight at a time, into the bot's HTTP endpoint.

Measures the HTTP response time Slack would see (it needs one within 3 s) and counts the tasks Temporal started
(visibility), which must be exactly one per command. Target: p99 < 100 ms on the 2-core dev machine.

    python -m bench.ack_latency [--commands 1000] [--concurrency 50] [--isolate-bot]

By default the agent worker runs in this process (as the brief specifies) and executes the 1,000 tasks while the
commands arrive, sharing the GIL with the bot; --isolate-bot measures the bot alone, as deployed (separate processes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time

from bench._slack_common import percentile, print_table, slack_stack, wait_until, write_results

CHANNEL = "C02OPS"
USERS = ("U01ALICE", "U02BOB", "U03CAROL")


async def main(commands: int, concurrency: int, isolate_bot: bool) -> dict[str, object]:
    async with slack_stack() as stack:
        # One warm-up command (connections, the catalog cache, bolt's first auth.test) outside the measurement.
        await stack.delivery.send_slash_command("run diagnostic warm-up", "U02BOB", CHANNEL)
        await stack.slack.wait_for(lambda: stack.slack.ephemerals(), timeout=30)
        if isolate_bot:
            # The tasks are still started (Temporal holds them); only their execution leaves this process.
            await stack.worker.shutdown()
        gc_pauses: list[tuple[int, float]] = []
        gc_start = [0.0]

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_start[0] = time.perf_counter()
            else:
                gc_pauses.append((info["generation"], (time.perf_counter() - gc_start[0]) * 1000))

        gc.callbacks.append(on_gc)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        timeline: list[tuple[float, float]] = []
        queue = iter(range(commands))

        async def sender() -> None:
            for i in queue:
                started = time.perf_counter()
                answer = await stack.delivery.send_slash_command(
                    f"run diagnostic bench ack {i}", USERS[i % len(USERS)], CHANNEL
                )
                latencies.append((time.perf_counter() - started) * 1000)
                timeline.append((started, latencies[-1]))
                statuses[answer.status] = statuses.get(answer.status, 0) + 1

        wall = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        t0 = wall
        wall = time.perf_counter() - wall
        gc.callbacks.remove(on_gc)
        slowest = sorted(timeline, key=lambda sample: -sample[1])[:10]

        expected = commands + 1  # with the warm-up
        # Every command is answered once its work (after the ack) is done: wait for all answers, then count.
        await stack.slack.wait_for(lambda: len(stack.slack.ephemerals()) >= expected, timeout=300)
        all_answered_s = time.perf_counter() - t0

        async def count() -> int:
            return (await stack.client.count_workflows("WorkflowType = 'AgentWorkflow'")).count

        async def settled() -> bool:
            return await count() >= expected

        await wait_until(settled, timeout_s=30, interval_s=0.5)
        # Visibility is eventually consistent: a last look a moment later catches any duplicate start too.
        await asyncio.sleep(1.0)
        started_tasks = await count() - 1
        replies = [m.text for m in stack.slack.ephemerals()]
        failures = [text for text in replies if not text.startswith("Started")]

    results: dict[str, object] = {
        "commands": commands,
        "concurrency": concurrency,
        "worker_in_process_during_run": not isolate_bot,
        "http_status": {str(k): v for k, v in sorted(statuses.items())},
        "ack_ms": {
            "p50": round(percentile(latencies, 50), 2),
            "p90": round(percentile(latencies, 90), 2),
            "p99": round(percentile(latencies, 99), 2),
            "max": round(max(latencies), 2),
        },
        "tasks_started": started_tasks,
        "replies": len(replies),
        "failure_replies": len(failures),
        "failure_examples": failures[:5],
        "gc_pauses_over_5ms": [{"generation": g, "ms": round(ms, 1)} for g, ms in gc_pauses if ms > 5],
        "slowest_sent_at_ms": [{"sent_at_ms": round(1000 * (t - t0), 1), "ms": round(ms, 1)} for t, ms in slowest],
        "wall_s": round(wall, 2),
        "all_answered_s": round(all_answered_s, 2),
        "commands_per_s": round(commands / wall, 1),
        "target": {"p99_ms_below": 100, "tasks_started": commands},
    }
    longest_gc = max([0.0, *(ms for _, ms in gc_pauses)])
    ack = results["ack_ms"]
    assert isinstance(ack, dict)
    results["target_met"] = ack["p99"] < 100 and started_tasks == commands
    print_table(
        "bench.ack_latency: /baton run -> HTTP ack",
        [
            ("commands (in flight)", f"{commands} ({concurrency})"),
            ("agent worker in this process", not isolate_bot),
            ("HTTP statuses", results["http_status"]),
            ("ack p50 ms", ack["p50"]),
            ("ack p90 ms", ack["p90"]),
            ("ack p99 ms", ack["p99"]),
            ("ack max ms", ack["max"]),
            ("tasks started (visibility)", started_tasks),
            ("failure replies", len(failures)),
            ("GC pauses > 5 ms (longest ms)", f"{sum(ms > 5 for _, ms in gc_pauses)} ({longest_gc:.0f})"),
            ("wall s / commands per s", f"{results['wall_s']} / {results['commands_per_s']}"),
            ("all commands answered after s", results["all_answered_s"]),
            ("target met (p99<100ms, =N tasks)", results["target_met"]),
        ],
    )
    write_results("ack_latency" + ("-isolated" if isolate_bot else ""), results)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--isolate-bot",
        action="store_true",
        help="stop the in-process agent worker after the warm-up, as when it runs in its own process",
    )
    args = parser.parse_args()
    asyncio.run(main(args.commands, args.concurrency, args.isolate_bot))
