"""The hard edges, end to end: redeliveries, forged and stale requests, concurrent approvers, Slack rate limits,
a bot restart mid-task, foreign and unknown workspaces and hostile text."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import pytest
from temporalio.client import Client

from baton.gateway import TaskGateway
from bot.runtime import BotRuntime
from bot.settings import BotSettings
from contracts import CancellationV1, ConversationStateV1, conversation_id, names, slack_idempotency_key, task_id_for
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from sandbox.delivery import FORM
from sandbox.payloads import block_actions_payload, find_action
from tests.bot.test_slack_flows import CHANNEL, card, final, labels, root_messages, start_ops_audit, task_id_of
from tests.conftest import WorkerFactory


async def test_the_same_event_delivered_three_times_starts_one_task(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker():
        first, event = await sender.say("U02BOB", CHANNEL, "<@U0BATONBOT> run ops_audit check the web tier",
                                        event_id="Ev0REDELIVER")
        assert first.status == 200
        for retry in (1, 2):
            again = await sender.send_event(event, event_id="Ev0REDELIVER", retry_num=retry)
            assert again.status == 200
        task_id = task_id_for("ops_audit", slack_idempotency_key(slack.team_id, CHANNEL, event["ts"]))
        await slack.wait_for(lambda: any("Started" in m.text for m in slack.messages_in(CHANNEL, event["ts"])))
        await slack.wait_for(lambda: card(slack, slack.message(CHANNEL, event["ts"])), timeout=60)
        # A late redelivery (after a restart, or to another replica: the bot remembers no events) is recognised by
        # Temporal through its event id, the conversation's update id: when its ack returns, it has been judged.
        assert (await sender.send_event(event, event_id="Ev0REDELIVER", retry_num=3)).status == 200
        conversation = gateway.client.get_workflow_handle(conversation_id(slack.team_id, CHANNEL, event["ts"]))
        state = await conversation.query(names.CONVERSATION_QUERY, result_type=ConversationStateV1)
        assert state.messages_seen == 1 and state.pending == 0
        replies = slack.messages_in(CHANNEL, event["ts"])
        assert sum("Started" in m.text for m in replies) == 1
        assert sum("Approve" in labels(m) for m in replies) == 1
        executions = [e async for e in gateway.client.list_workflows(f"WorkflowId = '{task_id}'")]
        assert len(executions) == 1
        await gateway.cancel(task_id, CancellationV1(by="test"))


async def test_forged_signature_and_stale_timestamp_get_401_and_start_nothing(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery) -> None:
    forged = await sender.send_slash_command("run ops_audit x", "U02BOB", CHANNEL, forge_signature=True)
    stale = await sender.send_slash_command("run ops_audit x", "U02BOB", CHANNEL, age_seconds=6 * 60)
    assert (forged.status, stale.status) == (401, 401)
    assert slack.ephemerals() == [] and root_messages(slack) == []


async def test_two_approvers_clicking_at_once_on_a_quorum_one_card_make_one_decision(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        clicks = [sender.send_block_actions(user_id=user, action_id="baton.decide.accept", channel_id=CHANNEL,
                                            message_ts=checkpoint.ts) for user in ("U01ALICE", "U03CAROL")]
        assert [r.status for r in await asyncio.gather(*clicks)] == [200, 200]
        await slack.wait_for(lambda: final(slack, root), timeout=60)
        answers = await slack.wait_for(
            lambda: (slack.ephemerals(user="U01ALICE") or None) and (slack.ephemerals(user="U03CAROL") or None)
            and [*slack.ephemerals(user="U01ALICE"), *slack.ephemerals(user="U03CAROL")])
    decided = str(slack.message(CHANNEL, checkpoint.ts).blocks)
    winners = [u for u in ("U01ALICE", "U03CAROL") if f"Approved by <@{u}>" in decided]
    assert len(winners) == 1
    loser = "U03CAROL" if winners == ["U01ALICE"] else "U01ALICE"
    [told] = [a for a in answers if a.user == loser]
    assert "no longer pending" in told.text and f"<@{winners[0]}>" in told.text


async def test_slack_answering_429_twice_on_chat_update_loses_nothing(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        slack.fail_next("chat.update", retry_after=1, times=2)
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.accept", channel_id=CHANNEL,
                                        message_ts=checkpoint.ts)
        await slack.wait_for(lambda: final(slack, root), timeout=60)
        await slack.wait_for(lambda: "Completed" in str(slack.message(CHANNEL, root.ts).blocks), timeout=30)
    assert [c.status for c in slack.calls_to("chat.update")].count(429) == 2
    assert "Approved by" in str(slack.message(CHANNEL, checkpoint.ts).blocks)


async def test_a_restarted_bot_keeps_editing_the_same_status_message(
        slack: FakeSlackApi, bot_settings: BotSettings, temporal_client: Client, task_queue: str,
        agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        async with BotRuntime(bot_settings, temporal_client, agents_task_queue=task_queue) as first_bot, \
                SlackDelivery(DEFAULT_SIGNING_SECRET, first_bot.events_url, slack=slack) as sender:
            root, checkpoint = await start_ops_audit(slack, sender)
        # The first bot is gone (its memory with it); a new process takes over the queue and the endpoint.
        async with BotRuntime(bot_settings, temporal_client, agents_task_queue=task_queue) as second_bot, \
                SlackDelivery(DEFAULT_SIGNING_SECRET, second_bot.events_url, slack=slack) as sender:
            await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.accept", channel_id=CHANNEL,
                                            message_ts=checkpoint.ts)
            await slack.wait_for(lambda: final(slack, root), timeout=60)
            await slack.wait_for(lambda: "Completed" in str(slack.message(CHANNEL, root.ts).blocks), timeout=30)
    assert len(root_messages(slack)) == 1, "no second status message after the restart"
    assert sum("Approve" in labels(m) or "Approved by" in str(m.blocks)
               for m in slack.messages_in(CHANNEL, root.ts)) == 1


async def test_a_request_from_another_workspace_is_refused(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery) -> None:
    answer = await sender.send_slash_command("run ops_audit x", "U02BOB", CHANNEL, team_id="T0OTHER")
    assert answer.status == 200 and "another Slack workspace" in answer.body
    assert root_messages(slack) == []


async def test_a_click_whose_workspace_cannot_be_established_is_refused_and_the_card_stays_pending(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        hit = find_action(checkpoint.blocks, "baton.decide.accept")
        assert hit is not None
        block_id, button = hit
        click = block_actions_payload(
            sender.app, user_id="U02BOB", action_id="baton.decide.accept", value=button["value"], block_id=block_id,
            element=button, trigger_id=slack.issue_trigger("U02BOB"), channel_id=CHANNEL, message_ts=checkpoint.ts,
            response_url=slack.response_url(CHANNEL, "U02BOB", message_ts=checkpoint.ts))
        click["team"] = None  # as org-wide installs send it; with no user.team_id either, no workspace is known
        del click["user"]["team_id"]
        refused = await sender.send_raw(urlencode({"payload": json.dumps(click)}).encode(), FORM)
        assert refused.status == 200
        assert any("could not be established" in r.getMessage() for r in caplog.records)
        # Had the click been applied, Bob's approval would have ended the card: Alice's is the one that does.
        await sender.send_block_actions(user_id="U01ALICE", action_id="baton.decide.accept", channel_id=CHANNEL,
                                        message_ts=checkpoint.ts)
        await slack.wait_for(lambda: final(slack, root), timeout=60)
    assert "Approved by <@U01ALICE>" in str(slack.message(CHANNEL, checkpoint.ts).blocks)
    assert [e.text for e in slack.ephemerals(user="U02BOB") if "Started" not in e.text] == []


async def test_url_verification_answers_its_challenge_though_it_names_no_workspace(
        bot: BotRuntime, sender: SlackDelivery) -> None:
    answer = await sender.send_url_verification("challenge-3f9a")
    assert answer.status == 200 and answer.json() == {"challenge": "challenge-3f9a"}


async def test_cancel_button_is_for_the_requester_and_admins_only(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        await sender.send_block_actions(user_id="U03CAROL", action_id="baton.cancel", channel_id=CHANNEL,
                                        message_ts=root.ts)
        [refusal] = await slack.wait_for(lambda: slack.ephemerals(user="U03CAROL"))
        assert "Only the requester" in refusal.text
        assert (await gateway.status(task_id_of(checkpoint))).phase == "waiting_for_human"
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.cancel", channel_id=CHANNEL,
                                        message_ts=root.ts)
        await slack.wait_for(lambda: "Cancelled" in str(slack.message(CHANNEL, root.ts).blocks), timeout=30)
        await slack.wait_for(lambda: labels(slack.message(CHANNEL, checkpoint.ts)) == [], timeout=30)


async def test_agent_and_request_text_with_channel_pings_render_harmlessly(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker():
        await sender.send_slash_command("run ops_audit <!channel> check <https://evil.example|bank.com>", "U02BOB",
                                        CHANNEL)
        root = (await slack.wait_for(lambda: root_messages(slack), timeout=30))[0]
        checkpoint = await slack.wait_for(lambda: card(slack, root), timeout=60)
        await gateway.cancel(task_id_of(checkpoint), CancellationV1(by="test"))
    for message in slack.messages_in(CHANNEL):
        if message.user == slack.bot_user_id:
            assert "<!channel>" not in message.text + str(message.blocks)
            assert "<https://evil.example|bank.com>" not in str(message.blocks)


async def test_help_and_unknown_subcommands_answer_privately(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery) -> None:
    await sender.send_slash_command("help", "U02BOB", CHANNEL)
    unknown = await sender.send_slash_command("deploy prod", "U02BOB", CHANNEL)
    no_agent = await sender.send_slash_command("run nosuch do it", "U02BOB", CHANNEL)
    [helped] = await slack.wait_for(lambda: slack.ephemerals(user="U02BOB"))
    assert "/baton run <agent> <request>" in helped.text
    # A refusal is the ack itself, which Slack shows to the person alone.
    assert unknown.json()["response_type"] == no_agent.json()["response_type"] == "ephemeral"
    assert "Unknown subcommand `deploy`" in unknown.json()["text"]
    assert "no agent called `nosuch`" in no_agent.json()["text"] and "ops_audit" in no_agent.json()["text"]
