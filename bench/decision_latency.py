"""Decision latency: a signed Approve click on a checkpoint card -> the workflow's resumed `run_agent` starts.

The diagnostic agent with `ask` pauses on a plain interrupt; the bot posts its card; each card is clicked in turn
(one decision at a time) through the bot's HTTP endpoint. The end of the measurement is the ActivityTaskStarted
event of the run_agent scheduled after the accepted update, read from the workflow's history (the server's clock,
on this machine). Target: p50 < 150 ms.

    python -m bench.decision_latency [--decisions 50]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from temporalio.api.enums.v1 import EventType

from bench._slack_common import Stack, percentile, print_table, slack_stack, write_results
from bot.origin import SlackOrigin, default_policy, task_request

CHANNEL = "C02OPS"
USER = "U02BOB"


async def _card_ts(stack: Stack, task_id: str) -> str | None:
    status = await stack.gateway.status(task_id)
    if status.phase != "waiting_for_human" or status.pending_checkpoint is None:
        return None
    return status.slack.checkpoint_ts.get(status.pending_checkpoint.id)


async def _resumed_activity_started(stack: Stack, task_id: str) -> dict[str, float]:
    """Server times (epoch s) of the accepted update, and of the scheduling and start of the run_agent after it."""
    history = await stack.client.get_workflow_handle(task_id).fetch_history()
    accepted = scheduled = started = None
    scheduled_id = None
    for event in history.events:
        at = event.event_time.ToDatetime().timestamp()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED and accepted is None:
            accepted = at
        elif (
            event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and accepted is not None
            and scheduled is None
            and event.activity_task_scheduled_event_attributes.activity_type.name == "run_agent"
        ):
            scheduled, scheduled_id = at, event.event_id
        elif (
            event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
            and scheduled_id is not None
            and event.activity_task_started_event_attributes.scheduled_event_id == scheduled_id
        ):
            started = at
            break
    if accepted is None or scheduled is None or started is None:
        raise RuntimeError(f"{task_id}: no resumed run_agent in history")
    return {"accepted": accepted, "scheduled": scheduled, "started": started}


async def main(decisions: int) -> dict[str, object]:
    async with slack_stack() as stack:
        settings = stack.bot.settings
        run = uuid.uuid4().hex[:6]
        task_ids = []
        for i in range(decisions):
            origin = SlackOrigin(
                team_id=stack.slack.team_id, channel_id=CHANNEL, user_id=USER, identity_ts=f"bench-{run}-{i}"
            )
            request = task_request(
                origin,
                "diagnostic",
                f"decision latency {i}",
                default_policy(settings),
                notify_task_queue=settings.baton_notify_task_queue,
                parameters={"steps": 1, "ask": "Go ahead?"},
            )
            task_ids.append((await stack.gateway.submit(request)).task_id)
        cards: dict[str, str] = {}
        deadline = time.monotonic() + 180
        while len(cards) < decisions and time.monotonic() < deadline:
            for task_id in task_ids:
                if task_id not in cards and (ts := await _card_ts(stack, task_id)):
                    cards[task_id] = ts
            await asyncio.sleep(0.2)
        if len(cards) < decisions:
            raise RuntimeError(f"only {len(cards)} of {decisions} cards appeared")
        # Let the notify traffic of the start-up settle so each click is measured on a quiet system.
        await asyncio.sleep(2.0)

        samples = []
        for task_id in task_ids:
            clicked = time.time()
            answer = await stack.delivery.send_block_actions(
                user_id=USER, action_id="baton.decide.accept", channel_id=CHANNEL, message_ts=cards[task_id]
            )
            acked = time.time()
            if answer.status != 200:
                raise RuntimeError(f"click answered {answer.status}")
            await stack.client.get_workflow_handle(task_id).result()
            times = await _resumed_activity_started(stack, task_id)
            samples.append(
                {
                    "ack": acked - clicked,
                    "accepted": times["accepted"] - clicked,
                    "scheduled": times["scheduled"] - clicked,
                    "started": times["started"] - clicked,
                }
            )

    def ms(key: str, pct: float) -> float:
        return round(1000 * percentile([s[key] for s in samples], pct), 1)

    results: dict[str, object] = {
        "decisions": decisions,
        "click_to_activity_started_ms": {
            "p50": ms("started", 50),
            "p99": ms("started", 99),
            "max": round(1000 * max(s["started"] for s in samples), 1),
        },
        "breakdown_p50_ms": {
            "click_to_http_ack": ms("ack", 50),
            "click_to_update_accepted": ms("accepted", 50),
            "click_to_activity_scheduled": ms("scheduled", 50),
            "click_to_activity_started": ms("started", 50),
        },
        "target": {"p50_ms_below": 150},
    }
    results["target_met"] = ms("started", 50) < 150
    print_table(
        "bench.decision_latency: Approve click -> resumed run_agent started",
        [
            ("decisions (one at a time)", decisions),
            ("click -> activity started p50 ms", ms("started", 50)),
            ("click -> activity started p99 ms", ms("started", 99)),
            ("  p50 click -> HTTP ack", ms("ack", 50)),
            ("  p50 click -> update accepted", ms("accepted", 50)),
            ("  p50 click -> activity scheduled", ms("scheduled", 50)),
            ("target met (p50 < 150 ms)", results["target_met"]),
        ],
    )
    write_results("decision_latency", results)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.decisions))
