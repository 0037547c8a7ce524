"""bench.slack_history runs end to end on a tiny N: the Slack run through the bot and the run without Slack, each
measured from the tasks' histories."""

from __future__ import annotations

from temporalio.client import Client

from baton.devserver import DevServer
from bench import slack_calls, slack_history
from bench._slack_common import slack_stack
from workers.demo_model import DemoChatModel


async def test_the_slack_history_bench_reports_history_and_slack_calls_a_task_with_and_without_slack(
    temporal_server: DevServer, temporal_client: Client
) -> None:
    async with slack_stack(
        channels=slack_calls.bench_channels(2), chat_model=DemoChatModel, server=temporal_server
    ) as stack:
        results = await slack_history.run(stack, tasks=2, bursts=1, commit="test", one_at_a_time=1)
    slack_history.print_report("test", results)

    slack = results["with_slack"]
    assert slack["slack_calls"]["completed"] == 2 and slack["slack_calls"]["lost_final_messages"] == 0
    assert slack["notify_activities_per_task"]["min"] >= 1
    assert slack["slack_calls_per_task"]["p50"] >= 1 and "chat.postMessage" in slack["slack_calls_by_method_per_task"]
    without = results["without_slack"]["history_per_task"]
    assert without["notify_activities"]["max"] == 0
    assert 0 < without["events"]["mean"] < slack["history_events_per_task"]["mean"]
    assert without["bytes"]["min"] > 0
    assert results["without_slack"]["one_at_a_time"]["history_per_task"]["events"]["max"] > 0
