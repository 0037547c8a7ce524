"""The bot's codec server over real HTTP: round trips for a bearer, CORS for the Temporal UI's origin only, 401/403
without the token, 400 with one line for junk or a payload no key opens; and the real `temporal` CLI reading an
encrypted history of a task started from Slack, in clear only through the codec endpoint."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from baton.codec import EncryptionCodec, new_key
from baton.devserver import DevServer, temporal_cli
from baton.temporal import TemporalSettings, connect
from bot.codec_server import MAX_BODY_BYTES
from bot.runtime import BotRuntime
from bot.settings import BotSettings
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from tests.bot.test_slack_flows import CHANNEL, card, final, root_messages, task_id_of
from workers.config import WorkerSettings
from workers.demo_model import DemoChatModel
from workers.worker import running_worker

KEY_A, KEY_B = new_key("a"), new_key("b")
TOKEN = "codec-token-for-tests"
UI = "http://127.0.0.1:8233"
TEXT = "audit the Zanzibar-7781 payroll hosts"
BEARER = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", "X-Namespace": "default"}


def clear_payload(text: str = TEXT) -> dict[str, Any]:
    return {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
            "data": base64.b64encode(json.dumps({"text": text}).encode()).decode()}


@pytest.fixture
async def keyed_client(temporal_server: DevServer) -> Client:
    settings = TemporalSettings(temporal_address=temporal_server.address, baton_payload_keys=SecretStr(KEY_A))
    return await connect(settings)


async def running_bot(settings: BotSettings, client: Client, task_queue: str, token: str | None) -> BotRuntime:
    update = {"baton_codec_auth_token": SecretStr(token) if token else None}
    return await BotRuntime(settings.model_copy(update=update), client, agents_task_queue=task_queue,
                            temporal_ui_url=f"{UI}/namespaces/default/workflows").start()


@pytest.fixture
async def codec_bot(bot_settings: BotSettings, keyed_client: Client, task_queue: str) -> AsyncIterator[BotRuntime]:
    runtime = await running_bot(bot_settings, keyed_client, task_queue, TOKEN)
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def codec_url(bot: BotRuntime, name: str) -> str:
    return f"http://127.0.0.1:{bot.port}/codec/{name}"


async def post(http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None,
               ) -> tuple[int, str, dict[str, str]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.post(url, data=data, headers=BEARER if headers is None else headers) as response:
        return response.status, await response.text(), dict(response.headers)


async def test_encode_then_decode_round_trips_for_a_bearer_and_the_ui_may_read_the_answer(
    codec_bot: BotRuntime, http: aiohttp.ClientSession
) -> None:
    status, body, headers = await post(http, codec_url(codec_bot, "encode"), {"payloads": [clear_payload()]},
                                       {**BEARER, "Origin": UI})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == UI
    [sealed] = json.loads(body)["payloads"]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
    assert base64.b64decode(sealed["metadata"]["encryption-key-id"]) == b"a"
    assert "Zanzibar" not in base64.b64decode(sealed["data"]).decode("latin-1")
    status, body, _ = await post(http, codec_url(codec_bot, "decode"), {"payloads": [sealed, clear_payload("as is")]})
    assert status == 200
    assert json.loads(body)["payloads"] == [clear_payload(), clear_payload("as is")]


async def test_the_preflight_answers_the_temporal_ui_origin_and_no_other(
    codec_bot: BotRuntime, http: aiohttp.ClientSession
) -> None:
    asked = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization,content-type,x-namespace"}
    async with http.options(codec_url(codec_bot, "decode"), headers={**asked, "Origin": UI}) as allowed:
        assert allowed.status == 204
        assert allowed.headers["Access-Control-Allow-Origin"] == UI
        assert {h.strip().lower() for h in allowed.headers["Access-Control-Allow-Headers"].split(",")} >= {
            "authorization", "content-type", "x-namespace"}
        assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    async with http.options(codec_url(codec_bot, "encode"), headers={**asked, "Origin": "https://evil.example"}
                            ) as refused:
        assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers
    status, _, headers = await post(http, codec_url(codec_bot, "decode"), {"payloads": []},
                                    {**BEARER, "Origin": "https://evil.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers, "a browser elsewhere cannot read it"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", TOKEN])
async def test_without_the_bearer_token_nothing_is_decoded(
    codec_bot: BotRuntime, http: aiohttp.ClientSession, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/json", "Origin": UI}
    if authorization is not None:
        headers["Authorization"] = authorization
    for name in ("decode", "encode"):
        status, body, answered = await post(http, codec_url(codec_bot, name), {"payloads": [clear_payload()]},
                                            headers)
        assert (status, body) == (401, "a valid bearer token is required")
        assert answered["Access-Control-Allow-Origin"] == UI, "the UI can show why"


async def test_with_no_token_configured_the_codec_endpoints_refuse_everyone(
    bot_settings: BotSettings, keyed_client: Client, task_queue: str, http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = await running_bot(bot_settings, keyed_client, task_queue, token=None)
    try:
        status, body, _ = await post(http, codec_url(runtime, "decode"), {"payloads": []})
    finally:
        await runtime.stop()
    assert (status, body) == (403, "the codec endpoints are off: set BATON_CODEC_AUTH_TOKEN")
    assert any("BATON_CODEC_AUTH_TOKEN is not" in r.getMessage() for r in caplog.records), "said once at start"


async def test_without_payload_keys_the_bot_serves_no_codec_endpoints(
    bot: BotRuntime, http: aiohttp.ClientSession
) -> None:
    status, _, _ = await post(http, codec_url(bot, "decode"), {"payloads": []})
    assert status in (404, 405)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"payloads": "x"}', b'{"payloads": [{"data": 5}]}', b"[" * 5000 + b"]" * 5000,
     b"\xff\xfe", b""],
    ids=["broken json", "a list", "payloads not a list", "data not bytes", "deep nesting", "not utf-8", "empty"],
)
async def test_junk_answers_400_with_one_line_and_no_traceback(
    codec_bot: BotRuntime, http: aiohttp.ClientSession, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    status, text, _ = await post(http, codec_url(codec_bot, "decode"), body)
    assert (status, text) == (400, "the body is not Payloads as JSON")
    assert not [r for r in caplog.records if r.exc_info], "no traceback"


async def test_a_payload_no_key_opens_answers_400_naming_the_variable(
    codec_bot: BotRuntime, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    status, body, _ = await post(http, codec_url(codec_bot, "encode"), {"payloads": [clear_payload()]})
    [sealed_with_a] = json.loads(body)["payloads"]
    other = EncryptionCodec.from_setting(KEY_B)
    sealed_with_b = json.loads(await _encode_json(other))
    status, text, _ = await post(http, codec_url(codec_bot, "decode"), {"payloads": [sealed_with_a, sealed_with_b]})
    assert status == 400
    assert text.startswith("A Temporal payload is encrypted with key id 'b', which is not in BATON_PAYLOAD_KEYS")
    assert "\n" not in text and KEY_A.partition(":")[2] not in text
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    tampered = {**sealed_with_a, "data": base64.b64encode(b"\x00" * 40).decode()}
    status, text, _ = await post(http, codec_url(codec_bot, "decode"), {"payloads": [tampered]})
    assert status == 400 and "does not decrypt with key id 'a' of BATON_PAYLOAD_KEYS" in text


async def _encode_json(codec: EncryptionCodec) -> str:
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')])
    return json_format.MessageToJson(sealed)


async def test_the_temporal_cli_reads_a_slack_task_s_history_in_clear_only_through_the_codec_endpoint(
    codec_bot: BotRuntime, keyed_client: Client, slack: FakeSlackApi, worker_settings: WorkerSettings,
    temporal_server: DevServer,
) -> None:
    """The bot starts the task and delivers every notification through its own encrypted client; the worker runs
    it with the same key; `temporal workflow show` sees ciphertext, and the request once given the codec server."""
    settings = worker_settings.model_copy(update={"baton_payload_keys": SecretStr(KEY_A)})
    async with (running_worker(keyed_client, settings, chat_model=DemoChatModel),
                SlackDelivery(DEFAULT_SIGNING_SECRET, codec_bot.events_url, slack=slack) as sender):
        assert (await sender.send_slash_command(f"run ops_audit {TEXT}", "U02BOB", CHANNEL)).status == 200
        root = (await slack.wait_for(lambda: root_messages(slack), timeout=30))[0]
        checkpoint = await slack.wait_for(lambda: card(slack, root), timeout=60)
        task_id = task_id_of(checkpoint)
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.accept", channel_id=CHANNEL,
                                        message_ts=checkpoint.ts)
        await slack.wait_for(lambda: final(slack, root), timeout=60)

    raw = await show(temporal_server, task_id)
    assert raw.count(base64.b64encode(b"binary/encrypted").decode()) > 10
    assert "Zanzibar-7781" not in raw
    assert "Zanzibar-7781" not in payload_text(raw) and "U02BOB" not in payload_text(raw)
    decoded = await show(temporal_server, task_id, "--codec-endpoint", f"http://127.0.0.1:{codec_bot.port}/codec",
                         "--codec-auth", f"Bearer {TOKEN}")
    assert "Zanzibar-7781" in decoded + payload_text(decoded)
    assert "U02BOB" in decoded + payload_text(decoded)


async def show(server: DevServer, task_id: str, *options: str) -> str:
    """`temporal workflow show -o json`, run without blocking the loop the bot's codec server answers on."""
    process = await asyncio.create_subprocess_exec(
        temporal_cli(), "workflow", "show", "-w", task_id, "--address", server.address, "-o", "json", *options,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


def payload_text(shown: str) -> str:
    """The decoded `data` of every payload in a `temporal workflow show -o json` document, joined; search attributes
    left out (indexed in clear by design, they hold the requester's and channel's ids, never request text)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("data"), str) and "metadata" in node:
                found.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
            for key, value in node.items():
                if key != "searchAttributes":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(shown))
    return "\n".join(found)


@pytest.fixture(autouse=True)
def capture_bot_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


async def test_a_body_past_the_limit_answers_413(codec_bot: BotRuntime, http: aiohttp.ClientSession) -> None:
    status, text, _ = await post(http, codec_url(codec_bot, "decode"), b" " * (MAX_BODY_BYTES + 1))
    assert (status, text) == (413, "body too large")
