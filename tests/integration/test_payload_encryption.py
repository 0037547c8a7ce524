"""Payload encryption on the real dev server, with the real worker: histories read without the keys hold no request
text, checkpoint argument or Slack user id in any payload; keys rotate under a task in flight; a missing key holds a
task (one clear line in the worker's log) and loses nothing once the key is back."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowExecutionStatus

from baton.codec import ENCODING, KEY_ID_METADATA, EncryptionCodec, new_key
from baton.devserver import DevServer, free_port
from baton.gateway import TaskGateway
from baton.temporal import connect
from contracts import DecisionKind, DecisionV1, TaskRequestV1, TaskResultV1, task_id_for, utc_now
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi
from tests.support import eventually, make_request, status_when
from workers.config import WorkerSettings
from workers.demo_model import DemoChatModel
from workers.worker import running_worker

KEY_A, KEY_B = new_key("a"), new_key("b")
TEXT = "Wire the Zanzibar-7781 payroll to ACME before Friday"
QUESTION = "Send 88,213 EUR to account DE-ZEBRA-4417?"
ANSWER = "Only once the ZEBRA-CFO has signed"
REQUESTER, APPROVER = "U0REQSECRET", "U0APPSECRET"


def with_keys(settings: WorkerSettings, keys: str) -> WorkerSettings:
    return settings.model_copy(update={"baton_payload_keys": SecretStr(keys)})


@asynccontextmanager
async def worker_with(settings: WorkerSettings) -> AsyncIterator[TaskGateway]:
    """A real worker and a gateway on a client of its own, both holding `settings`' keys."""
    client = await connect(settings)
    async with running_worker(client, settings, chat_model=DemoChatModel):
        yield TaskGateway(client, task_queue=settings.task_queue, query_timeout_s=2)


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every payload anywhere in `message`: inputs, results, signals, updates, memos, failures, markers, headers.

    Search attributes are left out: they are indexed in clear by design (see test_search_attributes_...)."""
    if isinstance(message, Payload):
        yield message
        return
    if isinstance(message, SearchAttributes):
        return
    for _, value in message.ListFields():
        if isinstance(value, Message):
            yield from payloads_in(value)
        elif not isinstance(value, str | bytes | int | float | bool):  # a repeated field, or a map (memo fields)
            for item in value.values() if hasattr(value, "values") else value:
                if isinstance(item, Message):
                    yield from payloads_in(item)


async def raw_payloads(client: Client, task_id: str) -> tuple[History, list[Payload]]:
    """The history and the memo exactly as the server keeps them (fetch_history and describe never decode)."""
    handle = client.get_workflow_handle(task_id)
    history = History(events=(await handle.fetch_history()).events)
    described = (await handle.describe()).raw_description.workflow_execution_info
    found = [p for event in history.events for p in payloads_in(event)]
    return history, found + list(payloads_in(described.memo))


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from strings_in(item)


def hits(payloads: Iterable[Payload], needles: Iterable[str]) -> dict[str, int]:
    serialized = [p.SerializeToString() for p in payloads]
    return {needle: sum(needle.encode() in blob for blob in serialized) for needle in needles}


async def decide(gateway: TaskGateway, task_id: str, kind: DecisionKind, **extra: Any) -> None:
    waiting = await status_when(gateway, task_id, lambda s: s.pending_checkpoint is not None)
    assert waiting.pending_checkpoint is not None
    await gateway.decide(task_id, DecisionV1(checkpoint_id=waiting.pending_checkpoint.id, decision=kind, by=APPROVER,
                                             at=utc_now(), **extra))


def asking(text: str = TEXT) -> TaskRequestV1:
    return make_request("diagnostic", text, {"steps": 2, "ask": QUESTION}, user_id=REQUESTER,
                        channel_id="C0CHANNEL1")


async def test_with_keys_no_payload_in_the_history_or_memo_holds_request_text_checkpoint_arguments_or_user_ids(
    worker_settings: WorkerSettings, temporal_client: Client
) -> None:
    settings = with_keys(worker_settings, KEY_A)
    diagnostic = asking()
    audit = make_request("ops_audit", f"Audit prod for {TEXT}", user_id=REQUESTER)
    async with worker_with(settings) as gateway:
        await gateway.submit(diagnostic)
        await gateway.submit(audit)
        proposal = (await status_when(gateway, audit.task_id, lambda s: s.pending_checkpoint is not None))
        assert proposal.pending_checkpoint is not None and proposal.pending_checkpoint.proposed_action is not None
        arguments = proposal.pending_checkpoint.proposed_action.args
        await decide(gateway, diagnostic.task_id, "respond", text=ANSWER)
        await decide(gateway, audit.task_id, "accept")
        result = await gateway.result(diagnostic.task_id)
        assert TEXT in result.summary and ANSWER in result.summary, "the agent itself saw everything in clear"
        await gateway.result(audit.task_id)
        final = await gateway.status(diagnostic.task_id)
        assert final.phase == "completed"

    proposed = sorted({text for text in strings_in(arguments) if len(text) >= 12})
    assert proposed, arguments
    needles = [TEXT, QUESTION, ANSWER, REQUESTER, APPROVER, *proposed]
    codec = EncryptionCodec.from_setting(KEY_A)
    for task_id in (diagnostic.task_id, audit.task_id):
        history, payloads = await raw_payloads(temporal_client, task_id)  # a client without the codec
        assert len(payloads) > 10
        assert {p.metadata.get("encoding") for p in payloads} == {ENCODING}, "every payload is encrypted"
        assert not any(hits(payloads, needles).values()), hits(payloads, needles)
        clear_anywhere = history.SerializeToString() + b"".join(p.SerializeToString() for p in payloads)
        assert not [n for n in [TEXT, QUESTION, ANSWER, APPROVER, *proposed] if n.encode() in clear_anywhere], \
            "nothing in clear outside payloads either: not even the approver, whom the update id names by a digest"
        decoded = await codec.decode(payloads)  # and with the codec, the same payloads read in clear
        assert {p.metadata["encoding"] for p in decoded} >= {b"json/plain"}
        found = hits(decoded, needles)
        assert found[TEXT] and found[REQUESTER] and found[APPROVER], found
    history, payloads = await raw_payloads(temporal_client, diagnostic.task_id)
    found = hits(await codec.decode(payloads), [QUESTION, ANSWER])
    assert found[QUESTION] and found[ANSWER], found
    carrying = {event.WhichOneof("attributes").removesuffix("_event_attributes") for event in history.events
                if any(True for _ in payloads_in(event))}
    assert carrying >= {"workflow_execution_started", "activity_task_scheduled", "activity_task_completed",
                        "workflow_execution_update_accepted",
                        "workflow_properties_modified", "workflow_execution_completed"}, carrying
    memo = (await temporal_client.get_workflow_handle(diagnostic.task_id).describe()).raw_description
    fields = memo.workflow_execution_info.memo.fields
    assert len(fields) >= 2 and {p.metadata["encoding"] for p in fields.values()} == {ENCODING}, "request and status"


async def test_search_attributes_stay_readable_and_hold_ids_and_names_but_no_request_text(
    worker_settings: WorkerSettings, temporal_client: Client
) -> None:
    settings = with_keys(worker_settings, KEY_A)
    request = make_request("diagnostic", TEXT, {"steps": 1}, user_id=REQUESTER,
                           channel_id="C0CHANNEL1")
    async with worker_with(settings) as gateway:
        await gateway.submit(request)
        await gateway.result(request.task_id)
        listed = await eventually(lambda: _listed(temporal_client, request.task_id))
    indexed = (await temporal_client.get_workflow_handle(request.task_id).describe()).raw_description
    attributes = indexed.workflow_execution_info.search_attributes.indexed_fields
    ours = {name: attributes[name].metadata["encoding"] for name in attributes if name.startswith("Baton")}
    assert ours == {name: b"json/plain" for name in ("BatonAgent", "BatonRequester", "BatonChannel", "BatonPhase")}, \
        "Temporal indexes search attributes in clear; no codec touches them"
    assert [attributes[name].data for name in ("BatonAgent", "BatonRequester", "BatonChannel", "BatonPhase")] == [
        b'"diagnostic"', f'"{REQUESTER}"'.encode(), b'"C0CHANNEL1"', b'"completed"'
    ]
    assert listed, "operators still filter on them"


async def _listed(client: Client, task_id: str) -> bool:
    query = f"BatonRequester = '{REQUESTER}' AND BatonPhase = 'completed'"
    return any([w.id == task_id async for w in client.list_workflows(query)])


async def test_keys_rotate_under_a_task_in_flight(worker_settings: WorkerSettings, temporal_client: Client) -> None:
    request = asking()
    async with worker_with(with_keys(worker_settings, KEY_A)) as gateway:
        await gateway.submit(request)
        await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")
    async with worker_with(with_keys(worker_settings, f"{KEY_B},{KEY_A}")) as gateway:  # B first: B encrypts
        await decide(gateway, request.task_id, "respond", text=ANSWER)
        result = await gateway.result(request.task_id)
    assert result.outcome == "success" and ANSWER in result.summary
    _, payloads = await raw_payloads(temporal_client, request.task_id)
    key_ids = [p.metadata[KEY_ID_METADATA] for p in payloads]
    assert set(key_ids) == {b"a", b"b"}, "payloads of both keys in one history"
    assert key_ids.index(b"b") > key_ids.index(b"a")
    assert not any(hits(payloads, [TEXT, QUESTION, ANSWER, REQUESTER, APPROVER]).values())


async def test_a_missing_key_holds_the_task_with_one_clear_line_and_loses_nothing(
    worker_settings: WorkerSettings, temporal_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    request = asking()
    starter = await connect(with_keys(worker_settings, KEY_A))
    await TaskGateway(starter, task_queue=worker_settings.task_queue).submit(request, validate_agent=False)
    handle = temporal_client.get_workflow_handle(request.task_id)

    async with worker_with(with_keys(worker_settings, KEY_B)) as without_a:  # A was dropped from the keys
        failed = await eventually(lambda: _workflow_task_failure(handle))
        cause = await without_a.client.data_converter.decode_failure(failed)
        assert "key id 'a', which is not in BATON_PAYLOAD_KEYS (it has b)" in str(cause)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    lines = [r for r in caplog.records if "BATON_PAYLOAD_KEYS" in r.getMessage()]
    assert lines and all(r.exc_info is None and "\n" not in r.getMessage() for r in lines), "one line, no traceback"
    assert all("(it has b)" in r.getMessage() for r in lines)

    async with worker_with(with_keys(worker_settings, f"{KEY_B},{KEY_A}")) as restored:
        await decide(restored, request.task_id, "respond", text=ANSWER)
        result: TaskResultV1 = await restored.result(request.task_id)
    assert result.outcome == "success"
    assert TEXT in result.summary and ANSWER in result.summary, "the request was there all along"


async def _workflow_task_failure(handle: Any) -> Any:
    history = await handle.fetch_history()
    for event in history.events:
        if event.HasField("workflow_task_failed_event_attributes"):
            return event.workflow_task_failed_event_attributes.failure
    return None


@pytest.fixture(autouse=True)
def capture_temporal_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="temporalio")


async def test_the_worker_the_bot_and_the_cli_as_processes_share_the_keys(
    temporal_server: DevServer, temporal_client: Client, slack: FakeSlackApi, task_queue: str, tmp_path: Path
) -> None:
    """`python -m workers`, `python -m bot` and `baton` read BATON_PAYLOAD_KEYS from the environment; a CLI without
    the right key says so in one line; the bot process serves the codec endpoints."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BATON_", "OPENAI_", "TEMPORAL_"))}
    env = {**keep, "TEMPORAL_ADDRESS": temporal_server.address, "BATON_TASK_QUEUE": task_queue,
           "BATON_PAYLOAD_KEYS": KEY_A, "BATON_CHECKPOINTER": str(tmp_path / "checkpoints.sqlite"),
           "BATON_AGENTS": "diagnostic", "BATON_STICKY_QUEUE_TIMEOUT_S": "1"}
    port = free_port()
    bot_env = {**env, "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
               "SLACK_API_URL": slack.base_url, "BATON_HTTP_HOST": "127.0.0.1", "BATON_HTTP_PORT": str(port),
               "BATON_NOTIFY_TASK_QUEUE": f"{task_queue}-slack", "BATON_CODEC_AUTH_TOKEN": "ops-token"}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "workers", env=env)
    bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=bot_env)
    try:
        key = f"encrypted-{task_queue}"
        code, out, err = await baton(env, "submit", "diagnostic", TEXT, "--param", "steps=1", "--key", key, "--wait")
        assert code == 0 and "completed" in out and TEXT in out, err
        task_id = task_id_for("diagnostic", key)
        _, payloads = await raw_payloads(temporal_client, task_id)
        assert not hits(payloads, [TEXT])[TEXT]

        code, out, err = await baton({**env, "BATON_PAYLOAD_KEYS": KEY_B}, "status", task_id)
        assert code == 1 and not out
        assert err.count("\n") == 1 and "key id 'a', which is not in BATON_PAYLOAD_KEYS (it has b)" in err, err
        code, out, err = await baton({k: v for k, v in env.items() if k != "BATON_PAYLOAD_KEYS"}, "status", task_id)
        assert code == 1 and err.count("\n") == 1 and "but BATON_PAYLOAD_KEYS is not set" in err, err

        body = {"payloads": [json.loads(json_format.MessageToJson(p)) for p in payloads]}
        async with aiohttp.ClientSession() as http:
            await eventually(lambda: _healthy(http, port))
            async with http.post(f"http://127.0.0.1:{port}/codec/decode", json=body,
                                 headers={"Authorization": "Bearer ops-token"}) as answer:
                assert answer.status == 200
                decoded = [json_format.ParseDict(p, Payload()) for p in (await answer.json())["payloads"]]
        assert hits(decoded, [TEXT])[TEXT] >= 1
    finally:
        for process in (worker, bot):
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(worker.wait(), bot.wait()), 60)


async def baton(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "baton.cli", *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 90)
    return process.returncode or 0, out.decode(), err.decode()


async def _healthy(http: aiohttp.ClientSession, port: int) -> bool:
    async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
        return answer.status == 200


async def test_with_keys_a_running_agents_heartbeat_progress_is_encrypted_on_the_server_and_read_by_the_gateway(
    worker_settings: WorkerSettings, temporal_client: Client
) -> None:
    settings = with_keys(worker_settings, KEY_A)
    request = make_request("diagnostic", TEXT, {"steps": 8, "step_seconds": 0.3}, user_id=REQUESTER)
    async with worker_with(settings) as gateway:
        await gateway.submit(request)  # from the CLI: its progress rides on the heartbeat, not on signals
        seen = await status_when(gateway, request.task_id, lambda s: s.progress.step >= 2)
        assert seen.phase == "running" and seen.events[-1].step == seen.progress.step
        described = await temporal_client.get_workflow_handle(request.task_id).describe()  # no codec here
        (beating,) = [a for a in described.raw_description.pending_activities if a.heartbeat_details.payloads]
        details = list(beating.heartbeat_details.payloads)
        assert {p.metadata.get("encoding") for p in details} == {ENCODING}, "the heartbeat's progress is encrypted"
        assert not any(hits(details, [TEXT, REQUESTER, "Step "]).values())
        await gateway.result(request.task_id)
