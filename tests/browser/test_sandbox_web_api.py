"""The sandbox page's HTTP side without a browser: snapshots per viewer, the composer's grammar, refusals, and
`python -m sandbox` as `baton dev` starts it (it must print where to go and nothing secret)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from sandbox.web_compose import SlashCommand, TypedMessage, compose
from sandbox.web_run import Sandbox, SandboxSecrets
from sandbox.workspace import Ephemeral

NAMES = {"baton": "U0BATONBOT", "alice": "U01ALICE", "bob": "U02BOB"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def test_the_composer_turns_slash_text_into_a_command_and_names_into_mentions() -> None:
    assert compose("/baton run ops_audit check the web fleet", NAMES, "U0BATONBOT") == SlashCommand(
        "/baton", "run ops_audit check the web fleet")
    assert compose("/BATON", NAMES, "U0BATONBOT") == SlashCommand("/baton", "")
    assert compose("@baton audit please, cc @bob", NAMES, "U0BATONBOT") == TypedMessage(
        "<@U0BATONBOT> audit please, cc <@U02BOB>", True)
    assert compose("mail me at x@bob.com, @nobody", NAMES, "U0BATONBOT") == TypedMessage(
        "mail me at x@bob.com, @nobody", False)
    assert compose("<!channel> & <@U01ALICE>", NAMES, "U0BATONBOT") == TypedMessage(
        "&lt;!channel&gt; &amp; &lt;@U01ALICE&gt;", False), "typed markup is escaped like Slack's client does"


async def test_a_snapshot_holds_only_the_viewers_ephemerals_and_modals(
        sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    ws = sandbox.slack.workspace
    ws.post_ephemeral(Ephemeral(channel="C02OPS", user="U02BOB", message_ts=ws.clock.next(), text="for bob"))
    sandbox.slack.post_user_message("C02OPS", "U01ALICE", "hello")
    async with http.get(f"{sandbox.url}sandbox/api/state", params={"user": "U01ALICE"}) as response:
        alice = await response.json()
    async with http.get(f"{sandbox.url}sandbox/api/state", params={"user": "U02BOB"}) as response:
        bob = await response.json()
    assert [m["text"] for m in alice["messages"]] == ["hello"] == [m["text"] for m in bob["messages"]]
    assert alice["ephemerals"] == [] and [e["text"] for e in bob["ephemerals"]] == ["for bob"]
    assert {u["id"] for u in alice["users"]} >= {"U01ALICE", "U02BOB", "U03CAROL"}
    assert sandbox.secrets.bot_token not in str(alice) and sandbox.secrets.signing_secret not in str(alice)


async def test_the_page_api_refuses_unknown_users_non_json_posts_and_cross_site_sockets(
        sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{sandbox.url}sandbox/api/state", params={"user": "U0BATONBOT"}) as response:
        assert response.status == 400
    async with http.post(f"{sandbox.url}sandbox/api/compose", data={"user": "U01ALICE", "channel": "C02OPS",
                                                                    "text": "hi"}) as response:
        assert response.status == 400, "a cross-site form post cannot drive the sandbox"
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(f"{sandbox.url}sandbox/ws?user=U01ALICE", origin="https://evil.example")
    assert sandbox.slack.messages_in("C02OPS") == []


async def test_when_the_bot_is_down_the_page_is_told_where_it_was_looked_for(
        sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{sandbox.url}sandbox/api/compose",
                         json={"user": "U01ALICE", "channel": "C02OPS", "text": "/baton help"}) as response:
        body = await response.json()
    assert response.status == 502 and "did not answer at http://127.0.0.1:9/slack/events" in body["error"]


async def test_a_live_socket_sends_the_snapshot_then_only_this_viewers_changes(
        sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(f"{sandbox.url}sandbox/ws?user=U03CAROL") as socket:
        first = await socket.receive_json(timeout=5)
        assert first["type"] == "snapshot" and first["viewer"] == "U03CAROL"
        ws = sandbox.slack.workspace
        ws.post_ephemeral(Ephemeral(channel="C02OPS", user="U02BOB", message_ts=ws.clock.next(), text="for bob"))
        ws.post_ephemeral(Ephemeral(channel="C02OPS", user="U03CAROL", message_ts=ws.clock.next(), text="for carol"))
        sandbox.slack.post_user_message("C02OPS", "U02BOB", "hi all")
        events = [await socket.receive_json(timeout=5) for _ in range(2)]
    assert [e["type"] for e in events] == ["ephemeral", "message"]
    assert events[0]["ephemeral"]["text"] == "for carol" and events[1]["message"]["text"] == "hi all"


async def test_python_m_bot_sandbox_serves_the_page_and_prints_no_secret() -> None:
    shared = SandboxSecrets.generate()
    env = {**os.environ, "BATON_SANDBOX_PORT": "0", "SLACK_BOT_TOKEN": shared.bot_token,
           "SLACK_SIGNING_SECRET": shared.signing_secret, "PYTHONUNBUFFERED": "1",
           "BATON_SANDBOX_EVENTS_URL": "http://127.0.0.1:9/slack/events"}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "sandbox", cwd=REPO, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    try:
        first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert first.startswith("Baton sandbox: open http://127.0.0.1:"), first
        url = first.split("open ", 1)[1].strip()
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as response:
                assert response.status == 200 and "Baton sandbox" in await response.text()
            async with http.post(f"{url}api/auth.test", headers={"Authorization": f"Bearer {shared.bot_token}"}) as r:
                assert (await r.json())["ok"] is True, "the sandbox took the bot token from the environment"
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), 30)
    printed = first + rest.decode()
    assert process.returncode == 0, printed
    assert shared.bot_token not in printed and shared.signing_secret not in printed


async def test_a_dm_with_the_bot_and_an_app_home_are_seen_only_by_their_person(
        sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    sandbox.slack.post_user_message("D01ALICE", "U01ALICE", "alice to the bot")
    sandbox.slack.workspace.publish_home("U01ALICE", {"type": "home", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "alice's home"}}]})
    async with http.get(f"{sandbox.url}sandbox/api/state", params={"user": "U01ALICE"}) as response:
        alice = await response.json()
    async with http.get(f"{sandbox.url}sandbox/api/state", params={"user": "U02BOB"}) as response:
        bob = await response.json()
    assert alice["dm_channel"] == "D01ALICE" and bob["dm_channel"] == "D02BOB"
    assert [m["text"] for m in alice["messages"]] == ["alice to the bot"] and bob["messages"] == []
    assert alice["home"]["blocks"][0]["text"]["text"] == "alice's home" and bob["home"] is None
    assert all(not c["id"].startswith("D") for c in alice["channels"]), "DMs are not listed as channels"
    async with http.post(f"{sandbox.url}sandbox/api/compose",
                         json={"user": "U02BOB", "channel": "D01ALICE", "text": "let me in"}) as response:
        assert response.status == 400, "nobody writes in another person's DM with the bot"
    assert [m.text for m in sandbox.slack.workspace.messages["D01ALICE"]] == ["alice to the bot"]


async def test_an_assistant_pane_and_its_streaming_reach_only_their_person_live(
        sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    root = sandbox.slack.post_user_message("D01ALICE", "U01ALICE", "New chat")
    bot = {"Authorization": f"Bearer {sandbox.secrets.bot_token}"}

    async def call(method: str, **args: str) -> None:
        async with http.post(f"{sandbox.api_url}{method}", json=args, headers=bot) as response:
            assert (await response.json())["ok"], method

    async with (http.ws_connect(f"{sandbox.url}sandbox/ws?user=U01ALICE") as alice,
                http.ws_connect(f"{sandbox.url}sandbox/ws?user=U02BOB") as bob):
        assert (await alice.receive_json())["assistant"] == [] and (await bob.receive_json())["type"] == "snapshot"
        await call("assistant.threads.setStatus", channel_id="D01ALICE", thread_ts=root.ts,
                   status="is checking the catalog…")
        await call("chat.startStream", channel="D01ALICE", thread_ts=root.ts, markdown_text="Hel")
        answer = sandbox.slack.messages_in("D01ALICE", root.ts)[-1]
        await call("chat.stopStream", channel="D01ALICE", ts=answer.ts, markdown_text="lo")
        sandbox.slack.post_user_message("C02OPS", "U03CAROL", "sentinel")  # everyone's: the end of the changes

        async def until_sentinel(socket: aiohttp.ClientWebSocketResponse) -> list[dict[str, object]]:
            seen = []
            while (event := await asyncio.wait_for(socket.receive_json(), 10)).get("message", {}).get(
                    "text") != "sentinel":
                seen.append(event)
            return seen

        mine, bobs = await until_sentinel(alice), await until_sentinel(bob)
    panes = [e["pane"] for e in mine if e["type"] == "assistant"]
    assert panes and panes[-1]["status"] == "is checking the catalog…" and panes[-1]["thread_ts"] == root.ts
    streams = [(e["ts"], e["streaming"]) for e in mine if e["type"] == "stream"]
    assert streams == [(answer.ts, True), (answer.ts, False)]
    texts = [e["message"]["text"] for e in mine if e["type"] == "message" and e["ts"] == answer.ts]
    assert texts == ["Hel", "Hello"], "the stream stops before its last piece lands: no caret on the whole answer"
    assert bobs == [], "Alice's assistant thread is hers alone"
    async with http.get(f"{sandbox.url}sandbox/api/state", params={"user": "U01ALICE"}) as response:
        assert [p["status"] for p in (await response.json())["assistant"]] == ["is checking the catalog…"]
    async with http.post(f"{sandbox.url}sandbox/api/assistant/context",
                         json={"user": "U02BOB", "thread_ts": root.ts, "context_channel": "C02OPS"}) as response:
        assert response.status == 400, "Bob cannot act on Alice's assistant thread"
