"""The fake answers every Web API method Baton uses in Slack's documented shape, through the real slack_sdk client."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import FakeSlackApi

CHANNEL = "C01GENERAL"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*status*: running"}}
MODAL = {"type": "modal", "callback_id": "reject", "title": {"type": "plain_text", "text": "Reject"},
         "submit": {"type": "plain_text", "text": "Send"}, "private_metadata": "task-1",
         "blocks": [{"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Why?"},
                     "element": {"type": "plain_text_input", "action_id": "text", "multiline": True}}]}


async def test_auth_test_names_the_bot_and_team(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    r = await client.auth_test()
    assert r["ok"] and r["user_id"] == slack.bot_user_id and r["team_id"] == slack.team_id
    assert r["bot_id"] == "B0BATON" and r["url"].startswith("https://")


async def test_post_message_returns_channel_ts_and_message(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    r = await client.chat_postMessage(channel=CHANNEL, text="status", blocks=[SECTION])
    assert r["ok"] and r["channel"] == CHANNEL
    assert r["message"]["ts"] == r["ts"] and r["message"]["bot_id"] == "B0BATON"
    assert r["message"]["blocks"] == [SECTION] and r["message"]["text"] == "status"
    assert slack.message(CHANNEL, r["ts"]).text == "status"
    assert slack.calls_to("chat.postMessage")[0].args["channel"] == CHANNEL


async def test_timestamps_are_slack_formatted_and_strictly_increasing(client: AsyncWebClient) -> None:
    stamps = [(await client.chat_postMessage(channel=CHANNEL, text=str(i)))["ts"] for i in range(5)]
    for ts in stamps:
        seconds, micros = ts.split(".")
        assert len(seconds) == 10 and len(micros) == 6
    assert [float(t) for t in stamps] == sorted({float(t) for t in stamps})


async def test_thread_replies_are_kept_per_thread(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    parent = await client.chat_postMessage(channel=CHANNEL, text="parent")
    reply = await client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert [m.text for m in slack.messages_in(CHANNEL, parent["ts"])] == ["reply"]
    assert [m.text for m in slack.messages_in(CHANNEL)] == ["parent", "reply"]


async def test_update_edits_in_place(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="10%")
    r = await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="50%", blocks=[SECTION])
    assert r["ok"] and r["ts"] == posted["ts"] and r["channel"] == CHANNEL and r["text"] == "50%"
    assert r["message"]["edited"]["user"] == slack.bot_user_id
    assert len(slack.messages_in(CHANNEL)) == 1 and slack.message(CHANNEL, posted["ts"]).text == "50%"


async def test_update_of_unknown_message_is_message_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts="1700000000.000001", text="x")
    assert err.value.response["error"] == "message_not_found"


async def test_update_of_a_persons_message_is_refused(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    theirs = slack.post_user_message(CHANNEL, "U02BOB", "hello")
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts=theirs.ts, text="hijacked")
    assert err.value.response["error"] == "cant_update_message"


async def test_post_ephemeral_returns_message_ts_and_is_kept_for_that_user(
        client: AsyncWebClient, slack: FakeSlackApi) -> None:
    r = await client.chat_postEphemeral(channel=CHANNEL, user="U02BOB", text="only you can see this")
    assert r["ok"] and r["message_ts"]
    assert [e.text for e in slack.ephemerals(user="U02BOB")] == ["only you can see this"]
    assert slack.ephemerals(user="U01ALICE") == [] and slack.messages_in(CHANNEL) == []


async def test_delete_removes_the_message(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="bye")
    r = await client.chat_delete(channel=CHANNEL, ts=posted["ts"])
    assert r["ok"] and r["ts"] == posted["ts"] and r["channel"] == CHANNEL
    assert slack.messages_in(CHANNEL) == []


async def test_get_permalink_points_at_the_message_and_its_thread(client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel=CHANNEL, text="p")
    reply = await client.chat_postMessage(channel=CHANNEL, text="r", thread_ts=parent["ts"])
    r = await client.chat_getPermalink(channel=CHANNEL, message_ts=reply["ts"])
    assert r["ok"] and r["channel"] == CHANNEL
    assert f"/archives/{CHANNEL}/p{reply['ts'].replace('.', '')}" in r["permalink"]
    assert f"thread_ts={parent['ts']}" in r["permalink"]


async def test_views_open_update_push_and_publish(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    trigger = slack.issue_trigger("U01ALICE")
    opened = await client.views_open(trigger_id=trigger, view=MODAL)
    view = opened["view"]
    assert opened["ok"] and view["id"].startswith("V") and view["type"] == "modal"
    assert view["callback_id"] == "reject" and view["private_metadata"] == "task-1" and view["hash"]
    assert view["state"] == {"values": {}} and view["root_view_id"] == view["id"]
    assert slack.view(view["id"]).user == "U01ALICE"

    updated = await client.views_update(view_id=view["id"], hash=view["hash"],
                                        view={**MODAL, "private_metadata": "task-2"})
    assert updated["view"]["private_metadata"] == "task-2" and updated["view"]["hash"] != view["hash"]
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)
    assert err.value.response["error"] == "hash_conflict"

    pushed = await client.views_push(trigger_id=slack.issue_trigger("U01ALICE"), view=MODAL)
    assert pushed["view"]["previous_view_id"] == view["id"] and pushed["view"]["root_view_id"] == view["id"]

    home = {"type": "home", "blocks": [SECTION]}
    published = await client.views_publish(user_id="U02BOB", view=home)
    assert published["ok"] and published["view"]["type"] == "home"
    assert slack.home_view("U02BOB") is not None and slack.home_view("U02BOB").payload["blocks"] == [SECTION]
    again = await client.views_publish(user_id="U02BOB", view={"type": "home", "blocks": []})
    assert again["view"]["id"] == published["view"]["id"]


async def test_views_open_rejects_an_invalid_modal_like_slack(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=slack.issue_trigger("U01ALICE"), view={"type": "modal", "blocks": []})
    assert err.value.response["error"] == "invalid_arguments"
    assert err.value.response["response_metadata"]["messages"]


async def test_users_info_and_usergroup_members(client: AsyncWebClient) -> None:
    alice = (await client.users_info(user="U01ALICE"))["user"]
    assert alice["id"] == "U01ALICE" and alice["name"] == "alice" and alice["is_admin"] is True
    assert alice["profile"]["real_name"] == "Alice Martin" and alice["is_bot"] is False
    bob = (await client.users_info(user="U02BOB"))["user"]
    assert bob["is_admin"] is False
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"
    members = await client.usergroups_users_list(usergroup="S01APPROVERS")
    assert members["ok"] and members["users"] == ["U01ALICE", "U03CAROL"]
    with pytest.raises(SlackApiError) as err:
        await client.usergroups_users_list(usergroup="S404")
    assert err.value.response["error"] == "no_such_subteam"


async def test_seeded_people_are_configurable() -> None:
    from sandbox import SlackUser, SlackUserGroup

    async with FakeSlackApi(users=[SlackUser("U9ZED", "zed", is_admin=True)],
                            usergroups=[SlackUserGroup("S9OPS", "ops", "Ops", ("U9ZED",))]) as fake:
        c = AsyncWebClient(token=fake.bot_token, base_url=fake.base_url)
        assert (await c.users_info(user="U9ZED"))["user"]["is_admin"] is True
        assert (await c.usergroups_users_list(usergroup="S9OPS"))["users"] == ["U9ZED"]
        if c.session is not None:
            await c.session.close()


async def test_conversations_replies_lists_the_thread_oldest_first(
        client: AsyncWebClient, slack: FakeSlackApi) -> None:
    parent = slack.post_user_message(CHANNEL, "U02BOB", "run it")
    first = await client.chat_postMessage(channel=CHANNEL, text="one", thread_ts=parent.ts)
    await client.chat_postMessage(channel=CHANNEL, text="two", thread_ts=parent.ts)
    r = await client.conversations_replies(channel=CHANNEL, ts=parent.ts)
    assert r["ok"] and r["has_more"] is False
    assert [m["text"] for m in r["messages"]] == ["run it", "one", "two"]
    assert r["messages"][0]["reply_count"] == 2 and r["messages"][0]["thread_ts"] == parent.ts
    by_reply = await client.conversations_replies(channel=CHANNEL, ts=first["ts"])
    assert len(by_reply["messages"]) == 3


async def test_conversations_history_is_newest_first_top_level_and_paged(
        client: AsyncWebClient, slack: FakeSlackApi) -> None:
    for i in range(3):
        await client.chat_postMessage(channel=CHANNEL, text=f"m{i}")
    top = slack.messages_in(CHANNEL)[0]
    await client.chat_postMessage(channel=CHANNEL, text="in thread", thread_ts=top.ts)
    r = await client.conversations_history(channel=CHANNEL, limit=2)
    assert [m["text"] for m in r["messages"]] == ["m2", "m1"] and r["has_more"] is True
    rest = await client.conversations_history(channel=CHANNEL, limit=2,
                                              cursor=r["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["m0"] and rest["has_more"] is False
    with pytest.raises(SlackApiError) as err:
        await client.conversations_history(channel="C404NOPE")
    assert err.value.response["error"] == "channel_not_found"


async def test_reactions_add_marks_the_message_once(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="done")
    assert (await client.reactions_add(channel=CHANNEL, timestamp=posted["ts"], name="white_check_mark"))["ok"]
    assert slack.message(CHANNEL, posted["ts"]).reactions == {"white_check_mark": [slack.bot_user_id]}
    with pytest.raises(SlackApiError) as err:
        await client.reactions_add(channel=CHANNEL, timestamp=posted["ts"], name="white_check_mark")
    assert err.value.response["error"] == "already_reacted"


async def test_files_upload_v2_uploads_and_shares_in_the_thread(client: AsyncWebClient, slack: FakeSlackApi) -> None:
    parent = await client.chat_postMessage(channel=CHANNEL, text="result")
    r = await client.files_upload_v2(channel=CHANNEL, thread_ts=parent["ts"], content="full report\n" * 100,
                                     filename="report.md", title="Full report", initial_comment="attached")
    assert r["ok"] and r["file"]["id"].startswith("F") and r["file"]["title"] == "Full report"
    assert r["file"]["name"] == "report.md" and r["file"]["size"] == len("full report\n" * 100)
    assert [c.method for c in slack.calls] == ["chat.postMessage", "files.getUploadURLExternal", "upload",
                                               "files.completeUploadExternal"]
    shared = slack.messages_in(CHANNEL, parent["ts"])
    assert len(shared) == 1 and shared[0].text == "attached" and shared[0].files[0]["id"] == r["file"]["id"]
    async with aiohttp.ClientSession() as http, http.get(r["file"]["url_private"]) as download:
        assert await download.text() == "full report\n" * 100


async def test_complete_upload_of_a_file_never_uploaded_is_file_not_found(client: AsyncWebClient) -> None:
    got = await client.files_getUploadURLExternal(filename="x.txt", length=3)
    assert got["upload_url"].startswith("http://127.0.0.1:") and got["file_id"].startswith("F")
    with pytest.raises(SlackApiError) as err:
        await client.files_completeUploadExternal(files=[{"id": got["file_id"], "title": "x"}], channel_id=CHANNEL)
    assert err.value.response["error"] == "file_not_found"
