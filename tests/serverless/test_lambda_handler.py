"""`bot.serverless.handler` invoked in-process with API Gateway (HTTP API, payload 2.0) events carrying signed Slack
requests, against the session's dev server, a real agent worker, `baton notifier` in-process and the fake Slack."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from baton import telemetry
from bot.listeners.commands import QUEUED_RUN
from contracts import names
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, Message, SlackDelivery
from sandbox.delivery import sign
from tests.bot.test_conversations import answers, settled
from tests.bot.test_slack_flows import labels
from tests.conftest import WorkerFactory
from tests.serverless.gateway_stand_in import ApiGatewayStandIn, http_api_event, invoke

CHANNEL = "C02OPS"
USER = "U02BOB"
FORM = "application/x-www-form-urlencoded"


def _started_task(slack: FakeSlackApi) -> str:
    [started] = [e for e in slack.ephemerals(user=USER) if "Started `" in e.text]
    match = re.search(r"Started `([^`]+)`", started.text)
    assert match is not None
    return match.group(1)


def _signed(body: bytes, content_type: str = FORM, secret: str = DEFAULT_SIGNING_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(secret, timestamp, body)}


def _help_command(slack: FakeSlackApi) -> bytes:
    form = {"token": "legacy", "team_id": slack.team_id, "channel_id": CHANNEL, "user_id": USER, "user_name": "bob",
            "command": "/baton", "text": "help", "trigger_id": slack.issue_trigger(USER),
            "response_url": slack.response_url(CHANNEL, USER), "api_app_id": slack.workspace.app_id}
    return urlencode(form).encode()


async def test_a_signed_slash_command_starts_a_task_in_temporal_before_the_lambda_answers(
        slack: FakeSlackApi, sender: SlackDelivery, temporal_client: Client, notify_task_queue: str) -> None:
    answer = await sender.send_slash_command("run ops_audit check the web tier", USER, CHANNEL)
    assert answer.status == 200
    # process_before_response: the start and its answer through the response_url happened before the response.
    task_id = _started_task(slack)
    description = await temporal_client.get_workflow_handle(task_id).describe()
    assert description.workflow_type == names.AGENT_WORKFLOW
    history = await temporal_client.get_workflow_handle(task_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert notify_task_queue.encode() in started.input.payloads[0].data, "the notifier's queue is named"


async def test_a_start_temporal_is_slow_to_take_is_finished_before_the_container_would_freeze(
        slack: FakeSlackApi, api_gateway: ApiGatewayStandIn, sender: SlackDelivery, temporal_client: Client,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_INTAKE_TIMEOUT_S", "0.0001")  # the ack cannot wait for the start: it says "Queued"
    answer = await sender.send_slash_command("run ops_audit check the web tier", USER, CHANNEL)
    assert answer.status == 200 and QUEUED_RUN in answer.body
    task_id = _started_task(slack)  # told through the response_url before the handler returned
    assert (await temporal_client.get_workflow_handle(task_id).describe()).workflow_type == names.AGENT_WORKFLOW


async def test_a_forged_signature_is_refused_401_and_nothing_is_done(
        slack: FakeSlackApi, sender: SlackDelivery, api_gateway: ApiGatewayStandIn) -> None:
    answer = await sender.send_slash_command("run ops_audit check the web tier", USER, CHANNEL, forge_signature=True)
    assert answer.status == 401 and answer.body == "invalid request"
    stale = await sender.send_slash_command("help", USER, CHANNEL, age_seconds=600)
    assert stale.status == 401
    assert slack.ephemerals(user=USER) == [] and slack.calls == []
    assert [result["statusCode"] for result in api_gateway.invocations] == [401, 401]


async def test_a_click_on_the_card_the_notifier_posted_decides_the_checkpoint(
        slack: FakeSlackApi, sender: SlackDelivery, notifier: None, agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        answer = await sender.send_slash_command("run ops_audit check the web tier", USER, CHANNEL)
        assert answer.status == 200
        root = (await slack.wait_for(lambda: _roots(slack), timeout=30))[0]
        card = await slack.wait_for(lambda: _card(slack, root.ts), timeout=60)
        clicked = await sender.send_block_actions(user_id=USER, action_id="baton.decide.accept", channel_id=CHANNEL,
                                                  message_ts=card.ts)
        assert clicked.status == 200
        done = await slack.wait_for(lambda: _final(slack, root.ts), timeout=60)
    assert "Completed" in str(done.blocks)
    assert "Approved by <@U02BOB>" in str(slack.message(CHANNEL, card.ts).blocks)


async def test_a_mention_the_lambda_made_durable_is_answered_once_in_its_thread_by_the_notifier(
        slack: FakeSlackApi, sender: SlackDelivery, notifier: None, agent_worker: WorkerFactory,
        temporal_client: Client) -> None:
    async with agent_worker():
        delivered, event = await sender.say(USER, CHANNEL, f"<@{slack.bot_user_id}> hi there", event_id="Ev0LAMBDA01")
        redelivered = await sender.send_event(event, event_id="Ev0LAMBDA01", retry_num=1)
        assert (delivered.status, redelivered.status) == (200, 200)
        await slack.wait_for(lambda: answers(slack, CHANNEL, event["ts"]), timeout=30)
        state = await settled(temporal_client, slack, CHANNEL, event["ts"], lambda s: len(s.memory) == 2)
    assert state.messages_seen == 1 and len(answers(slack, CHANNEL, event["ts"])) == 1


async def test_a_form_body_reads_the_same_base64_encoded_or_as_text(
        slack: FakeSlackApi, lambda_env: dict[str, str]) -> None:
    for encoded in (True, False):
        body = _help_command(slack)
        result = await invoke(http_api_event(body, _signed(body), base64_encoded=encoded))
        assert result["statusCode"] == 200, result
    assert len(slack.ephemerals(user=USER)) == 2, "both answered through their response_url before the response"


async def test_a_rest_api_event_in_payload_format_1_0_is_read_too(
        slack: FakeSlackApi, lambda_env: dict[str, str]) -> None:
    body = _help_command(slack)
    event = {"version": "1.0", "resource": "/slack/events", "path": "/slack/events", "httpMethod": "POST",
             "headers": _signed(body), "queryStringParameters": None, "requestContext": {
                 "httpMethod": "POST", "identity": {"sourceIp": "198.51.100.7"}},
             "body": body.decode(), "isBase64Encoded": False}
    assert (await invoke(event))["statusCode"] == 200
    assert len(slack.ephemerals(user=USER)) == 1


async def test_what_is_not_a_signed_slack_post_gets_a_deliberate_answer(
        slack: FakeSlackApi, lambda_env: dict[str, str]) -> None:
    body = _help_command(slack)
    not_base64 = http_api_event(body, _signed(body), base64_encoded=True) | {"body": "%%% not base64 %%%"}
    assert (await invoke(not_base64))["statusCode"] == 400
    assert (await invoke(http_api_event(body, {"Content-Type": FORM})))["statusCode"] == 401
    assert (await invoke(http_api_event(body, _signed(body), method="GET")))["statusCode"] == 404
    junk = b"[not json"
    assert (await invoke(http_api_event(junk, _signed(junk, "application/json"))))["statusCode"] == 400
    challenge = json.dumps({"token": "t", "challenge": "c-123", "type": "url_verification"}).encode()
    verified = await invoke(http_api_event(challenge, _signed(challenge, "application/json")))
    assert verified["statusCode"] == 200 and "c-123" in verified["body"]
    assert slack.ephemerals(user=USER) == []


async def test_a_temporal_it_cannot_reach_is_answered_503_and_tried_again_at_the_next_request(
        slack: FakeSlackApi, lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    body = _help_command(slack)
    assert (await invoke(http_api_event(body, _signed(body))))["statusCode"] == 503
    monkeypatch.setenv("TEMPORAL_ADDRESS", lambda_env["TEMPORAL_ADDRESS"])
    body = _help_command(slack)
    assert (await invoke(http_api_event(body, _signed(body))))["statusCode"] == 200


async def test_a_command_through_the_lambda_is_one_trace_from_the_slack_request_to_the_workflow_start(
        slack: FakeSlackApi, lambda_env: dict[str, str]) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.use_tracer_provider(provider)  # before the cold start: its Temporal client takes the interceptor then
    try:
        form = urlencode({"team_id": slack.team_id, "channel_id": CHANNEL, "user_id": USER, "command": "/baton",
                          "text": "run ops_audit check the web tier", "trigger_id": slack.issue_trigger(USER),
                          "response_url": slack.response_url(CHANNEL, USER)}).encode()
        assert (await invoke(http_api_event(form, _signed(form))))["statusCode"] == 200
    finally:
        telemetry.use_tracer_provider(None)
        provider.shutdown()
    done = exporter.get_finished_spans()
    request = next(s for s in done if s.name == "slack command")
    start = next(s for s in done if s.name == "StartWorkflow:AgentWorkflow")
    assert request.parent is None and start.parent is not None and start.parent.span_id == request.context.span_id


def _roots(slack: FakeSlackApi) -> list[Message]:
    return [m for m in slack.messages_in(CHANNEL) if m.thread_ts is None and m.user == slack.bot_user_id]


def _card(slack: FakeSlackApi, root_ts: str) -> Message | None:
    return next((m for m in slack.messages_in(CHANNEL, root_ts) if "Approve" in labels(m)), None)


def _final(slack: FakeSlackApi, root_ts: str) -> Message | None:
    return next((m for m in slack.messages_in(CHANNEL, root_ts) if "tokens in" in str(m.blocks)), None)
