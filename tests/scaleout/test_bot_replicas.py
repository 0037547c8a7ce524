"""Three bot replicas behind a round-robin load balancer, with one worker, one Temporal server and one fake Slack
(tests/scaleout/conftest.py): Slack's duplicates spread over the replicas are still answered once, and a replica
killed right after it acked a command loses nothing.

* an event delivered three times (X-Slack-Retry-Num 0, 1, 2), each time to a different replica, all at once: one
  reply in the thread, one model call;
* 20 people clicking Approve on one card at once, spread over the replicas: one decision, 19 private "already";
* a replica SIGKILLed right after it acks `/baton run` (its fault hook armed): the task was started before the ack,
  and the other replicas post its thread to the end.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from contextlib import AsyncExitStack

import pytest

from bench.chaos_measure import checkpoint_history
from bench.chaos_slack import buttons, part_of, task_of, thread_messages
from contracts import ConversationStateV1, conversation_id, names, slack_idempotency_key, task_id_for
from sandbox import Message
from sandbox.payloads import app_mention_event
from tests.scaleout.conftest import CLICKERS, FRONT_AGENT_REPLY, REPLICAS, ScaleOut, front_agent_calls
from tests.support import eventually

CHANNEL = "C02OPS"
REQUESTER = "U02BOB"
APPROVE = "baton.decide.accept"


def pending_cards(scaleout: ScaleOut) -> list[Message]:
    return [m for m in scaleout.slack.messages_in(CHANNEL)
            if (part_of(m) or "").startswith("checkpoint:") and "Approve" in buttons(m)]


@pytest.mark.timeout(60)
async def test_an_event_delivered_three_times_at_once_each_to_another_replica_is_answered_once_after_one_model_call(
        scaleout: ScaleOut) -> None:
    slack = scaleout.slack
    model_calls = len(front_agent_calls(scaleout.model))
    message = slack.post_user_message(CHANNEL, REQUESTER, "<@U0BATONBOT> hello, what can you do?")
    event = app_mention_event(REQUESTER, CHANNEL, message.text, ts=message.ts, team=slack.team_id)
    event_id = f"Ev0SCALEOUT{uuid.uuid4().hex[:8].upper()}"
    async with AsyncExitStack() as stack:
        replicas = [await stack.enter_async_context(scaleout.delivery(replica=i)) for i in range(REPLICAS)]
        # Slack's first delivery and two retries of it (it saw no ack in time), each reaching another replica.
        deliveries = await asyncio.gather(*(
            replica.send_event(event, event_id=event_id, retry_num=i, retry_reason="http_timeout")
            for i, replica in enumerate(replicas)))
    assert [d.status for d in deliveries] == [200] * REPLICAS
    assert scaleout.proxy.served == dict.fromkeys(range(REPLICAS), 1)

    await slack.wait_for(lambda: [m for m in slack.messages_in(CHANNEL, message.ts) if m.bot_id], timeout=30)
    conversation = scaleout.client.get_workflow_handle(conversation_id(slack.team_id, CHANNEL, message.ts))

    async def idle() -> ConversationStateV1 | None:
        """The conversation has nothing left to answer and no answer in flight: a second one would show by now."""
        state = await conversation.query(names.CONVERSATION_QUERY, result_type=ConversationStateV1)
        busy = (await conversation.describe()).raw_description.pending_activities
        return state if state.pending == 0 and not busy else None

    state = await eventually(idle, timeout=30)
    assert state.messages_seen == 1, state
    replies = [m.text for m in slack.messages_in(CHANNEL, message.ts) if m.bot_id]
    assert len(replies) == 1 and FRONT_AGENT_REPLY in replies[0], replies
    assert len(front_agent_calls(scaleout.model)) - model_calls == 1


@pytest.mark.timeout(90)
async def test_twenty_simultaneous_approvals_over_three_replicas_record_one_decision_and_tell_nineteen_already(
        scaleout: ScaleOut) -> None:
    slack = scaleout.slack
    async with scaleout.delivery() as slack_side:
        started = await slack_side.send_slash_command("run ops_audit check the web tier", REQUESTER, CHANNEL)
        assert started.status == 200
        [card] = await slack.wait_for(lambda: pending_cards(scaleout), timeout=45)
        task_id = task_of(card)
        assert task_id is not None
        scaleout.proxy.log.clear()

        clicks = await asyncio.gather(*(
            slack_side.send_block_actions(user_id=person.id, action_id=APPROVE, channel_id=CHANNEL,
                                          message_ts=card.ts) for person in CLICKERS))

    assert [c.status for c in clicks] == [200] * len(CLICKERS)
    served = scaleout.proxy.served
    assert sorted(served) == list(range(REPLICAS)) and min(served.values()) >= len(CLICKERS) // REPLICAS, served
    clickers = [person.id for person in CLICKERS]
    await slack.wait_for(lambda: all(slack.ephemerals(user=u) for u in clickers), timeout=30)
    answers = {u: [e.text for e in slack.ephemerals(user=u)] for u in clickers}
    assert all(len(said) == 1 for said in answers.values()), answers
    [winner] = [u for u, [said] in answers.items() if said.startswith("Done: you chose to approve")]
    late = {u: said for u, [said] in answers.items() if u != winner}
    assert len(late) == len(CLICKERS) - 1
    told_otherwise = {u: said for u, said in late.items() if not ("already" in said and f"<@{winner}>" in said)}
    assert told_otherwise == {}

    result = await asyncio.wait_for(scaleout.gateway.result(task_id), 45)
    assert result.outcome == "success", result
    status = await scaleout.gateway.status(task_id)
    assert [(d.decision, d.by) for d in status.decisions] == [("accept", winner)]
    asked, accepted = await checkpoint_history(scaleout.client, task_id)
    assert (len(asked), accepted) == (1, 1), "one checkpoint, and Temporal accepted one decision on it"
    await slack.wait_for(lambda: "final" in thread_messages(slack, CHANNEL, task_id), timeout=30)
    cards = [m for part, found in thread_messages(slack, CHANNEL, task_id).items() if part.startswith("checkpoint:")
             for m in found]
    assert len(cards) == 1 and f"Approved by <@{winner}>" in str(cards[0].blocks), cards


@pytest.mark.timeout(90)
async def test_a_replica_killed_right_after_it_acks_a_command_loses_nothing_the_others_finish_the_thread(
        scaleout: ScaleOut) -> None:
    doomed = scaleout.bots[2]
    await doomed.kill()
    doomed.env["BATON_FAULT_KILL_AFTER_ACK"] = "slash_command"
    await doomed.start()
    trigger_id = "9001.scaleout.kill-after-ack"
    async with scaleout.delivery(replica=2) as slack_side:
        acked = await slack_side.send_slash_command("run diagnostic survive the kill", REQUESTER, CHANNEL,
                                                    trigger_id=trigger_id)
    assert acked.status == 200, acked
    assert doomed.process is not None
    assert await asyncio.wait_for(doomed.process.wait(), 10) == -signal.SIGKILL, "the fault hook killed the replica"

    task_id = task_id_for("diagnostic", slack_idempotency_key(scaleout.slack.team_id, CHANNEL, trigger_id))
    started = await scaleout.client.get_workflow_handle(task_id).describe()  # there as soon as the replica died
    assert started.workflow_type == names.AGENT_WORKFLOW
    result = await asyncio.wait_for(scaleout.gateway.result(task_id), 45)
    assert result.outcome == "success", result
    slack = scaleout.slack
    await slack.wait_for(lambda: "final" in thread_messages(slack, CHANNEL, task_id), timeout=30)

    async def status_completed() -> bool:
        [status] = thread_messages(slack, CHANNEL, task_id)["status"]
        return "Completed" in str(status.blocks)

    await eventually(status_completed, timeout=30)
    parts = thread_messages(slack, CHANNEL, task_id)
    assert sorted((part, len(found)) for part, found in parts.items()) == [("final", 1), ("status", 1)], parts
