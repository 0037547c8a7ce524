"""Restarts mid-task, with real processes: the bot SIGKILLed between a click and its answer, and the Temporal server
SIGKILLed and started again on its database while the agent runs and while the task waits at its checkpoint.

The task starts from a signed `/baton run`, its card is clicked by a signed block_actions request, and the thread is
read back from the fake Slack: each time, the decision is recorded once, the task completes, and the thread holds
one status message, one card (showing who decided) and one final message.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from baton.gateway import TaskGateway
from bench.chaos_measure import checkpoint_history
from bench.chaos_processes import TemporalOnDisk
from bench.chaos_slack import HoldingSlack, buttons, part_of, task_of, thread_messages
from contracts import names
from sandbox import DEFAULT_SIGNING_SECRET, Message, SlackDelivery
from tests.chaos.conftest import ChaosProcesses
from tests.hitl.conftest import GatedOpenAI, model_replies
from tests.support import eventually

CHANNEL = "C02OPS"
REQUESTER = "U02BOB"
APPROVER = "U01ALICE"
APPROVE = "baton.decide.accept"


def pending_cards(slack: HoldingSlack) -> list[Message]:
    """The cards in the channel that still offer Approve."""
    return [m for m in slack.messages_in(CHANNEL)
            if (part_of(m) or "").startswith("checkpoint:") and "Approve" in buttons(m)]


def approve_value(card: Message) -> str:
    """What the Approve button carries, kept to click again from the card as the person still sees it."""
    return next(e["value"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == APPROVE)


async def no_activity_in_flight(client: Client, task_id: str) -> bool:
    """Nothing scheduled or running for the task (its thread is up to date and the agent is idle)."""
    description = await client.get_workflow_handle(task_id).describe()
    return not description.raw_description.pending_activities


async def assert_one_clean_thread(slack: HoldingSlack, client: Client, task_id: str) -> None:
    """The task's end state as people and Temporal see it: one decision, one of each message, the card decided."""
    gateway = TaskGateway(client)
    result = await asyncio.wait_for(gateway.result(task_id), 90)
    assert result.outcome == "success", result
    status = await gateway.status(task_id)
    assert [(d.decision, d.by) for d in status.decisions] == [("accept", APPROVER)]
    asked, accepted = await checkpoint_history(client, task_id)
    assert (len(asked), accepted) == (1, 1), "the agent asked once, and Temporal accepted one decision"
    await slack.wait_for(lambda: "final" in thread_messages(slack, CHANNEL, task_id), timeout=90)
    await slack.wait_for(lambda: "Completed" in str(thread_messages(slack, CHANNEL, task_id)["status"][0].blocks),
                         timeout=90)
    parts = thread_messages(slack, CHANNEL, task_id)
    assert sorted((part, len(found)) for part, found in parts.items()) == sorted(
        [("status", 1), ("final", 1), (f"checkpoint:{status.decisions[0].checkpoint_id}", 1)]), parts
    [card] = parts[f"checkpoint:{status.decisions[0].checkpoint_id}"]
    assert buttons(card) == [] and f"Approved by <@{APPROVER}>" in str(card.blocks), card.blocks
    assert "Completed" in str(parts["final"][0].blocks)


@pytest.mark.timeout(240)
async def test_a_bot_killed_between_a_click_and_its_answer_records_the_decision_once_and_the_task_finishes(
        temporal_on_disk: TemporalOnDisk, temporal_client_on_disk: Client, chaos_slack: HoldingSlack,
        chaos_processes: ChaosProcesses) -> None:
    await chaos_processes.worker(temporal_on_disk.address).start()
    bot = chaos_processes.bot(temporal_on_disk.address, chaos_slack, BATON_APPROVERS=APPROVER)
    await bot.start()
    async with SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=chaos_slack) as slack_side:
        started = await slack_side.send_slash_command("run ops_audit check the web tier", REQUESTER, CHANNEL)
        assert started.status == 200
        [card] = await chaos_slack.wait_for(lambda: pending_cards(chaos_slack), timeout=60)
        task_id = task_of(card)
        assert task_id is not None
        await eventually(lambda: no_activity_in_flight(temporal_client_on_disk, task_id), timeout=30)

        seen = approve_value(card)  # the card as the person sees it: a notify may edit it before the second click
        answer = chaos_slack.hold("chat.postEphemeral", lambda args: args.get("user") == APPROVER)
        clicked = await slack_side.send_block_actions(user_id=APPROVER, action_id=APPROVE, channel_id=CHANNEL,
                                                      message_ts=card.ts)
        assert clicked.status == 200, "the click was acked"
        await asyncio.wait_for(answer.arrived.wait(), 30)
        assert answer.args["text"].startswith("Done: you chose to approve"), answer.args
        await bot.kill()  # the decision went through; its answer is in mid-air
        answer.release(deliver=False)
        assert chaos_slack.ephemerals(user=APPROVER) == [], "the person never saw an answer"

        await bot.start()
        # No answer came, so the person clicks Approve again on the card as they still see it.
        again = await slack_side.send_block_actions(user_id=APPROVER, action_id=APPROVE, channel_id=CHANNEL,
                                                    message_ts=card.ts, value=seen)
        assert again.status == 200
        [reply] = await chaos_slack.wait_for(lambda: chaos_slack.ephemerals(user=APPROVER), timeout=30)
        assert reply.text == f"This is no longer pending: <@{APPROVER}> already chose *Approve*.", reply.text
        await assert_one_clean_thread(chaos_slack, temporal_client_on_disk, task_id)


async def worker_answers(client: Client, task_id: str) -> bool:
    """Whether a worker answers the task's status query again (after a restart of the server, it reconnects)."""
    try:
        await client.get_workflow_handle(task_id).query(names.STATUS_QUERY, rpc_timeout=timedelta(seconds=2))
    except RPCError:
        return False
    return True


@pytest.mark.timeout(240)
async def test_a_temporal_server_killed_while_the_agent_runs_and_while_it_waits_for_a_decision_loses_nothing(
        temporal_on_disk: TemporalOnDisk, temporal_client_on_disk: Client, chaos_slack: HoldingSlack,
        chaos_processes: ChaosProcesses) -> None:
    model = GatedOpenAI()
    async with model:
        model.respond_with(model_replies)
        await chaos_processes.worker(temporal_on_disk.address, OPENAI_BASE_URL=model.base_url,
                                     OPENAI_API_KEY=model.api_key, BATON_MODEL="fake-model").start()
        bot = chaos_processes.bot(temporal_on_disk.address, chaos_slack, BATON_APPROVERS=APPROVER)
        await bot.start()
        async with SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=chaos_slack) as slack_side:
            model.hold()
            started = await slack_side.send_slash_command("run ops_audit check the web tier", REQUESTER, CHANNEL)
            assert started.status == 200
            await asyncio.wait_for(model.wait_until_held(1), 60)  # run_agent is inside `analyse`, at the model
            await temporal_on_disk.restart()  # SIGKILL, then the same port and database
            model.release()

            [card] = await chaos_slack.wait_for(lambda: pending_cards(chaos_slack), timeout=90)
            task_id = task_of(card)
            assert task_id is not None
            await eventually(lambda: no_activity_in_flight(temporal_client_on_disk, task_id), timeout=60)
            await temporal_on_disk.restart()  # the task waits for a person: only Temporal holds that
            # A click before the worker has reconnected is answered "Baton is busy…, try again" (tests/chaos/
            # test_worker_outage.py proves that); the person here clicks once the system answers again.
            await eventually(lambda: worker_answers(temporal_client_on_disk, task_id), timeout=60)

            clicked = await slack_side.send_block_actions(user_id=APPROVER, action_id=APPROVE, channel_id=CHANNEL,
                                                          message_ts=card.ts)
            assert clicked.status == 200
            [reply] = await chaos_slack.wait_for(lambda: chaos_slack.ephemerals(user=APPROVER), timeout=60)
            assert reply.text.startswith("Done: you chose to approve"), reply.text
            await assert_one_clean_thread(chaos_slack, temporal_client_on_disk, task_id)
    assert temporal_on_disk.kills == 2
