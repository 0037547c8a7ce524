"""Read permissions: a task is visible to its requester, its approvers and admins, and the members of the
conversation it was started in; to everyone else it does not exist, on every read path of the bot.

Alice starts two tasks that wait for a decision: one in the private channel C_PRIVATE (Alice and Dave; anyone there
may decide), one in her DM with the bot (Carol approves). Bob is in neither, approves nothing and is no admin.
Everything runs for real: the bot over signed HTTP, the fake Slack, the worker and the Temporal dev server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from baton.gateway import TaskGateway
from bot.blocks.ids import ACTION_CANCEL, ACTION_RETRY, ButtonRef, decide_action_id
from bot.members import ConversationMembers
from bot.runtime import BotRuntime
from bot.settings import BotSettings
from contracts import TaskStatusV1
from sandbox import DEFAULT_USERS, Ephemeral, FakeSlackApi, RecordedCall, SlackDelivery, SlackUser
from sandbox.fake_slack import RESPONSE_URL_METHOD
from tests.conftest import WorkerFactory
from tests.support import eventually, status_when

ALICE, BOB, CAROL, DAVE, ERIN = "U01ALICE", "U02BOB", "U03CAROL", "U04DAVE", "U05ERIN"
PRIVATE, ALICE_DM, BOB_DM, GENERAL = "C_PRIVATE", "D0ALICE", "D0BOB", "C01GENERAL"
UNKNOWN = "ops_audit-000000000000"
PRIVATE_WORDS = "SECRET-PRIVATE-7f3a check the web tier"
DM_WORDS = "SECRET-DM-91c2 check the web tier"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    people = (*DEFAULT_USERS, SlackUser(DAVE, "dave", "Dave Leroy"), SlackUser(ERIN, "erin", "Erin Admin"))
    async with FakeSlackApi(users=people) as fake:
        fake.set_members(PRIVATE, [ALICE, DAVE, fake.bot_user_id])
        yield fake


@pytest.fixture
def bot_settings(bot_settings: BotSettings) -> BotSettings:
    # A long TTL: only member_left_channel can make the bot forget who is in C_PRIVATE during a test.
    return bot_settings.model_copy(update={"baton_admins": [ERIN], "baton_members_ttl_s": 3600.0})


@dataclass
class Tasks:
    private: TaskStatusV1
    dm: TaskStatusV1

    def secrets(self) -> list[str]:
        """What Bob must never read: the requests, the checkpoints' wording and arguments, who asked."""
        found = [ALICE, "SECRET-PRIVATE-7f3a", "SECRET-DM-91c2"]
        for status in (self.private, self.dm):
            checkpoint = status.pending_checkpoint
            assert checkpoint is not None and checkpoint.proposed_action is not None
            found += [checkpoint.title, checkpoint.description[:60]]
            found += _leaves(checkpoint.proposed_action.args)
        return sorted({s for s in found if len(s) >= 5})


async def start_tasks(bot: BotRuntime, slack: FakeSlackApi, sender: SlackDelivery, gateway: TaskGateway) -> Tasks:
    """Alice's two tasks, each waiting for its decision."""

    async def start(channel: str, words: str) -> TaskStatusV1:
        await sender.send_slash_command(f"run ops_audit {words}", ALICE, channel)
        started = await slack.wait_for(lambda: [e for e in slack.ephemerals(user=ALICE, channel=channel)
                                                if "Started `" in e.text], timeout=30)
        task_id = started[0].text.split("`")[1]
        return await status_when(gateway, task_id, lambda s: s.pending_checkpoint is not None, timeout=60)

    private = await start(PRIVATE, PRIVATE_WORDS)  # approvers: nobody named, so anyone in C_PRIVATE may decide
    bot.services.settings = bot.services.settings.model_copy(update={"baton_approvers": [CAROL]})
    dm = await start(ALICE_DM, DM_WORDS)
    return Tasks(private, dm)


async def ask(slack: FakeSlackApi, sender: SlackDelivery, user: str, text: str, channel: str = GENERAL) -> Ephemeral:
    """`/baton <text>` typed by `user`: the answer only they see."""
    before = len(slack.ephemerals(user=user))
    await sender.send_slash_command(text, user, channel)
    return (await slack.wait_for(lambda: slack.ephemerals(user=user)[before:], timeout=30))[0]


async def click(slack: FakeSlackApi, sender: SlackDelivery, user: str, action_id: str, task_id: str,
                channel: str, message_ts: str) -> Ephemeral:
    before = len(slack.ephemerals(user=user))
    await sender.send_block_actions(user_id=user, action_id=action_id, channel_id=channel, message_ts=message_ts,
                                    value=ButtonRef(task_id).encode())
    return (await slack.wait_for(lambda: slack.ephemerals(user=user)[before:], timeout=30))[0]


async def dm_front_agent(slack: FakeSlackApi, sender: SlackDelivery, user: str, channel: str, text: str) -> str:
    _, event = await sender.say(user, channel, text)
    replies = await slack.wait_for(lambda: [m for m in slack.messages_in(channel, event["ts"])
                                            if m.user == slack.bot_user_id
                                            and not slack.methods.streams.streaming(channel, m.ts)], timeout=30)
    return replies[0].text  # once its stream is over: the answer streams in, a few words at a time


async def open_home(slack: FakeSlackApi, sender: SlackDelivery, user: str) -> str:
    before = len(slack.calls_to("views.publish", ok=True))
    await sender.send_event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                             "event_ts": "1.000001"})
    await slack.wait_for(lambda: slack.calls_to("views.publish", ok=True)[before:], timeout=30)
    view = slack.home_view(user)
    assert view is not None
    return json.dumps(view.payload)


async def root_in(slack: FakeSlackApi, channel: str) -> str:
    """The task's status message in `channel`, once the notify activity has posted it (it may trail the checkpoint)."""
    posted = await slack.wait_for(lambda: [m.ts for m in slack.messages_in(channel)
                                           if m.thread_ts is None and m.user == slack.bot_user_id], timeout=30)
    return str(posted[0])


def shown(answer: Ephemeral) -> str:
    return answer.text + json.dumps(answer.blocks)


def to_bob(call: RecordedCall) -> bool:
    """A Slack call whose content Bob reads: a response_url answer (only Bob acts while these are recorded), an
    ephemeral or App Home for him, a message in his DM."""
    args = call.args
    return (call.method == RESPONSE_URL_METHOD or BOB in (args.get("user"), args.get("user_id"))
            or args.get("channel") == BOB_DM)


async def test_someone_outside_a_task_is_told_it_does_not_exist_everywhere_and_reads_nothing_of_it(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker():
        tasks = await start_tasks(bot, slack, sender, gateway)
        first_call = len(slack.calls)

        unknown = await ask(slack, sender, BOB, f"status {UNKNOWN}")
        assert unknown.text == f"No task with id {UNKNOWN}."
        for task in (tasks.private, tasks.dm):
            hidden = await ask(slack, sender, BOB, f"status {task.task_id}")
            assert (hidden.text, hidden.blocks) == (unknown.text.replace(UNKNOWN, task.task_id), unknown.blocks)
        assert (await ask(slack, sender, BOB, "status")).text == "You have no running tasks."
        listed = await ask(slack, sender, BOB, "list")
        assert "Nothing is waiting for you." in shown(listed) and "No running tasks." in shown(listed)
        home = await open_home(slack, sender, BOB)
        assert "Nothing is waiting for you." in home and "No running tasks." in home

        status_ts = await root_in(slack, PRIVATE)
        for action in (ACTION_CANCEL, ACTION_RETRY):
            unknown_click = await click(slack, sender, BOB, action, UNKNOWN, PRIVATE, status_ts)
            hidden_click = await click(slack, sender, BOB, action, tasks.private.task_id, PRIVATE, status_ts)
            assert unknown_click.text == f"No task with id {UNKNOWN}."
            assert hidden_click.text == unknown_click.text.replace(UNKNOWN, tasks.private.task_id)
        checkpoint = tasks.private.pending_checkpoint
        assert checkpoint is not None
        before = len(slack.ephemerals(user=BOB))
        await sender.send_block_actions(user_id=BOB, action_id=decide_action_id("accept"), channel_id=PRIVATE,
                                        message_ts=status_ts,
                                        value=ButtonRef(tasks.private.task_id, checkpoint.id).encode())
        approve = (await slack.wait_for(lambda: slack.ephemerals(user=BOB)[before:], timeout=30))[0]
        assert approve.text == f"No task with id {tasks.private.task_id}.", "anyone in C_PRIVATE may decide; not Bob"

        unknown_reply = await dm_front_agent(slack, sender, BOB, BOB_DM, f"how is {UNKNOWN} going?")
        assert unknown_reply == f"[demo model] No task with id {UNKNOWN}."
        for task in (tasks.private, tasks.dm):
            hidden_reply = await dm_front_agent(slack, sender, BOB, BOB_DM, f"how is {task.task_id} going?")
            assert hidden_reply == unknown_reply.replace(UNKNOWN, task.task_id)
        bobs = [call for call in slack.calls[first_call:] if to_bob(call)]

        still = await gateway.status(tasks.private.task_id)
        assert still.phase == "waiting_for_human", "Bob cancelled nothing and approved nothing"
        assert still.decisions == [] and still.pending_checkpoint is not None
        assert still.pending_checkpoint.approvals == []
        await gateway.cancel(tasks.private.task_id, _cleanup())
        await gateway.cancel(tasks.dm.task_id, _cleanup())
    assert len(bobs) >= 13, "every answer Bob got was recorded"
    def said(call: RecordedCall) -> str:
        return json.dumps(call.args, ensure_ascii=False)

    leaks = [(call.method, secret) for call in bobs for secret in tasks.secrets() if secret in said(call)]
    assert leaks == []
    unseen = [secret for secret in tasks.secrets() if not any(secret in said(call) for call in slack.calls)]
    assert unseen == [], "each secret is in Alice's own messages, as Slack receives it: the scan would find it"
    assert len(slack.calls_to("conversations.members")) >= 1, "membership was asked of Slack, not guessed"


async def test_members_approvers_and_admins_see_a_task_until_a_member_leaves_the_conversation(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker():
        tasks = await start_tasks(bot, slack, sender, gateway)
        private, dm = tasks.private.task_id, tasks.dm.task_id

        def sees(answer: Ephemeral, task_id: str, words: str) -> bool:
            return f"Task `{task_id}`" in shown(answer) and words.split()[0] in shown(answer)

        assert sees(await ask(slack, sender, ALICE, f"status {dm}", GENERAL), dm, DM_WORDS), "her own, anywhere"
        assert sees(await ask(slack, sender, DAVE, f"status {private}"), private, PRIVATE_WORDS), "a member"
        assert (await ask(slack, sender, DAVE, f"status {dm}")).text == f"No task with id {dm}.", "not in her DM"
        assert sees(await ask(slack, sender, CAROL, f"status {dm}"), dm, DM_WORDS), "the approver"
        assert sees(await ask(slack, sender, ERIN, f"status {dm}"), dm, DM_WORDS), "an admin"
        assert sees(await ask(slack, sender, ERIN, f"status {private}"), private, PRIVATE_WORDS), "an admin"

        dave_home = await open_home(slack, sender, DAVE)
        assert private in dave_home and dm not in dave_home, "Dave may decide in C_PRIVATE, not in Alice's DM"
        carol_home = await open_home(slack, sender, CAROL)
        assert dm in carol_home and private not in carol_home, "Carol approves the DM task; C_PRIVATE is not hers"

        refused = await click(slack, sender, DAVE, ACTION_CANCEL, private, PRIVATE, await root_in(slack, PRIVATE))
        assert refused.text == f"Only the requester (<@{ALICE}>) or an admin can cancel `{private}`."

        # Asked in #general, the front agent's answer would be read by all of #general: not there, even for Alice.
        _, event = await sender.say(ALICE, GENERAL, f"<@{slack.bot_user_id}> how is {private} going?")
        [elsewhere] = await slack.wait_for(lambda: [m for m in slack.messages_in(GENERAL, event["ts"])
                                                    if not slack.methods.streams.streaming(GENERAL, m.ts)], timeout=30)
        assert elsewhere.text == f"[demo model] No task with id {private}."

        slack.remove_member(PRIVATE, DAVE)
        await sender.send_event({"type": "member_left_channel", "user": DAVE, "channel": PRIVATE,
                                 "channel_type": "G", "team": slack.team_id})

        async def dave_is_told_not_found() -> bool:
            return (await ask(slack, sender, DAVE, f"status {private}")).text == f"No task with id {private}."

        await eventually(dave_is_told_not_found, timeout=10)
        assert private not in await open_home(slack, sender, DAVE)
        await gateway.cancel(private, _cleanup())
        await gateway.cancel(dm, _cleanup())


async def test_conversation_members_are_read_page_by_page_cached_and_refused_when_slack_cannot_say(
        slack: FakeSlackApi, slack_client: AsyncWebClient, caplog: pytest.LogCaptureFixture) -> None:
    slack.set_members("C0BIG", [f"U{i:04d}" for i in range(5)])
    members = ConversationMembers(slack_client, ttl_s=3600, page_size=2)
    pages: Callable[[], list[RecordedCall]] = lambda: slack.calls_to("conversations.members", ok=True)  # noqa: E731

    assert await members.members("C0BIG") == {f"U{i:04d}" for i in range(5)}
    assert len(pages()) == 3 and [c.args.get("limit") for c in pages()] == ["2"] * 3
    assert await members.includes("C0BIG", "U0004", ALICE) and len(pages()) == 3, "cached"
    members.forget("C0BIG")
    assert not await members.includes("C0BIG", "U9999", ALICE) and len(pages()) == 6, "asked again"

    assert await members.includes(ALICE_DM, ALICE, ALICE) and not await members.includes(ALICE_DM, BOB, ALICE)
    assert len(slack.calls_to("conversations.members")) == 6, "a DM's members are its requester (and the bot)"

    slack.fail_next("conversations.members", "channel_not_found", times=1)
    with caplog.at_level(logging.WARNING, logger="bot.members"):
        assert not await members.includes(PRIVATE, ALICE, ALICE)
    assert [r.getMessage() for r in caplog.records] == [
        "Cannot list the members of C_PRIVATE (Slack answered channel_not_found): nobody there sees its tasks"]
    assert await members.includes(PRIVATE, DAVE, ALICE), "a failure is not cached"

    bounded = ConversationMembers(slack_client, page_size=2, max_pages=2)
    assert await bounded.members("C0BIG") == {f"U{i:04d}" for i in range(4)}, "past the bound: not members"


def _leaves(value: object) -> list[str]:
    """Every string and number inside an agent's arguments."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value if isinstance(value, str) else json.dumps(value)]


def _cleanup() -> Any:
    from contracts import CancellationV1

    return CancellationV1(by="test", reason="cleanup")
