"""One trace from the Slack click to the model call: a signed `/baton run` (and a mention) through the real bot, the
dev server, the real worker and ChatOpenAI on the fake model server, with spans recorded in memory; and the worker
and the bot as processes exporting their spans over OTLP/HTTP, their JSON log lines naming those traces."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from langchain_core.language_models import BaseChatModel
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from baton import telemetry
from baton.devserver import DevServer, free_port
from baton.gateway import TaskGateway
from baton.temporal import connect, load_temporal_settings
from bot.runtime import BotRuntime
from bot.settings import BotSettings, load_settings
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from sandbox.openai_server import FakeOpenAI
from tests.support import eventually, make_request
from workers.config import WorkerSettings
from workers.llm import make_chat_model
from workers.worker import running_worker

CHANNEL = "C07TRACE"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Baton's tracing on, into memory, for this test only (OpenTelemetry's global provider stays untouched)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.use_tracer_provider(provider)
    try:
        yield exporter
    finally:
        telemetry.use_tracer_provider(None)
        provider.shutdown()


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


def bot_settings(slack: FakeSlackApi, notify_task_queue: str, model: FakeOpenAI | None = None) -> BotSettings:
    """The bot on the fake Slack; its front agent (mentions) on the fake model server when `model` is given."""
    return load_settings(
        slack_bot_token=slack.bot_token, slack_signing_secret=DEFAULT_SIGNING_SECRET, slack_app_token=None,
        slack_api_url=slack.base_url, baton_http_host="127.0.0.1", baton_http_port=0, baton_notify_task_queue=
        notify_task_queue, baton_model="fake-model" if model else None, openai_api_key=model.api_key if model else
        None, openai_base_url=model.base_url if model else None,
    )


def model_on(server: FakeOpenAI) -> Callable[[], BaseChatModel]:
    """The worker's real model factory (ChatOpenAI), pointed at the fake server."""
    return lambda: make_chat_model(model="fake-model", api_key=server.api_key, base_url=server.base_url)


def ancestry(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    """`span`'s name and its ancestors' up to the trace's root, nearest first."""
    by_id = {s.context.span_id: s for s in spans}
    names: list[str] = []
    current: ReadableSpan | None = span
    while current is not None:
        names.append(current.name)
        current = by_id.get(current.parent.span_id) if current.parent is not None else None
    return names


async def test_a_slash_command_is_one_trace_from_the_slack_request_to_the_model_call_and_the_notify_activity(
        spans: InMemorySpanExporter, temporal_server: DevServer, worker_settings: WorkerSettings,
        slack: FakeSlackApi, fake_openai: FakeOpenAI, notify_task_queue: str) -> None:
    fake_openai.script("Nothing worth fixing today.", "The fleet is in good shape.")  # no proposal: no checkpoint
    client = await connect(load_temporal_settings(temporal_address=temporal_server.address))  # with the interceptor
    settings = bot_settings(slack, notify_task_queue)
    async with (running_worker(client, worker_settings, chat_model=model_on(fake_openai)),
                BotRuntime(settings, client, agents_task_queue=worker_settings.task_queue) as bot,
                SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as sender):
        answer = await sender.send_slash_command("run ops_audit check the web tier", "U07ANA", CHANNEL)
        assert answer.status == 200

        async def finished() -> list[ReadableSpan] | None:
            if not any("Completed" in str(m.blocks) for m in slack.messages_in(CHANNEL)):
                return None
            done = list(spans.get_finished_spans())
            calls = [s for s in done if s.name == "chat fake-model"]
            final_notify = any(s.name == "RunActivity:notify" and s.end_time is not None for s in done)
            return done if len(calls) == 2 and final_notify else None

        done = await eventually(finished, timeout=45)

    request = next(s for s in done if s.name == "slack command")
    assert request.kind == SpanKind.SERVER and request.parent is None, "the Slack request is the trace's root"
    assert request.attributes is not None
    assert request.attributes["slack.channel_id"] == CHANNEL and request.attributes["slack.team_id"] == slack.team_id
    assert all("check the web tier" not in str(v) for s in done for v in (s.attributes or {}).values()), \
        "no span carries the text of the request"
    trace_id = request.context.trace_id

    analyse = next(s for s in done if s.name == "chat fake-model" and (s.attributes or {}).get("langgraph.node")
                   == "analyse")
    # temporalio's workflow spans are instants parented by the start (RunWorkflow is a sibling of what it schedules)
    assert ancestry(analyse, done) == [
        "chat fake-model", "langgraph.node analyse", "RunActivity:run_agent", "StartActivity:run_agent",
        "StartWorkflow:AgentWorkflow", "slack command",
    ]
    assert analyse.kind == SpanKind.CLIENT and analyse.context.trace_id == trace_id
    output_tokens = (analyse.attributes or {}).get("gen_ai.usage.output_tokens")
    assert isinstance(output_tokens, int) and output_tokens > 0
    assert ["RunWorkflow:AgentWorkflow", "StartWorkflow:AgentWorkflow", "slack command"] in [
        ancestry(s, done) for s in done
    ]
    nodes = {s.name for s in done if s.name.startswith("langgraph.node") and s.context.trace_id == trace_id}
    assert nodes == {f"langgraph.node {n}" for n in ("load", "scan", "analyse", "review", "report")}

    notified = [s for s in done if s.name == "RunActivity:notify" and s.context.trace_id == trace_id]
    assert len(notified) >= 2, "each notify activity posting to the thread is in the same trace"
    assert ancestry(notified[-1], done) == [
        "RunActivity:notify", "StartActivity:notify", "StartWorkflow:AgentWorkflow", "slack command",
    ]



async def test_a_mention_is_one_trace_from_the_slack_event_to_the_front_agents_model_call(
        spans: InMemorySpanExporter, temporal_server: DevServer, worker_settings: WorkerSettings,
        slack: FakeSlackApi, fake_openai: FakeOpenAI, notify_task_queue: str) -> None:
    fake_openai.script("Hello Ana, what should I look at?")
    client = await connect(load_temporal_settings(temporal_address=temporal_server.address))
    settings = bot_settings(slack, notify_task_queue, model=fake_openai)
    async with (running_worker(client, worker_settings),
                BotRuntime(settings, client, agents_task_queue=worker_settings.task_queue) as bot,
                SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as sender):
        delivered, _ = await sender.say("U07ANA", CHANNEL, f"<@{slack.bot_user_id}> hi there")
        assert delivered.status == 200

        async def answered() -> list[ReadableSpan] | None:
            done = list(spans.get_finished_spans())
            return done if any(s.name == "RunActivity:answer_in_thread" for s in done) else None

        done = await eventually(answered, timeout=45)

    mention = next(s for s in done if s.name == "slack event app_mention")
    assert mention.parent is None and (mention.attributes or {})["slack.channel_id"] == CHANNEL
    model_call = next(s for s in done if s.name == "chat fake-model")
    chain = ancestry(model_call, done)
    assert chain[0:2] == ["chat fake-model", "langgraph.node model"] and chain[-1] == "slack event app_mention"
    assert "RunActivity:answer_in_thread" in chain and "StartActivity:answer_in_thread" in chain
    assert model_call.context.trace_id == mention.context.trace_id


@dataclass
class ExportedSpan:
    service: str
    name: str
    trace_id: str


class OtlpReceiver:
    """An OTLP/HTTP trace endpoint on 127.0.0.1 (what a collector serves on :4318), keeping what it is sent."""

    def __init__(self) -> None:
        self.spans: list[ExportedSpan] = []
        self._runner: web.AppRunner | None = None
        self.endpoint = ""

    async def __aenter__(self) -> OtlpReceiver:
        app = web.Application()
        app.router.add_post("/v1/traces", self._traces)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.endpoint = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _traces(self, request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest.FromString(await request.read())
        for resource_spans in export.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(ExportedSpan(attributes.get("service.name", ""), span.name, span.trace_id.hex())
                                  for span in scope_spans.spans)
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")


async def test_a_worker_process_exports_its_spans_over_otlp_in_the_trace_of_the_client_that_started_the_task(
        spans: InMemorySpanExporter, temporal_server: DevServer, task_queue: str, tmp_path: Path) -> None:
    client = await connect(load_temporal_settings(temporal_address=temporal_server.address))
    gateway = TaskGateway(client, task_queue=task_queue)
    async with OtlpReceiver() as receiver:
        env = {**os.environ, "TEMPORAL_ADDRESS": temporal_server.address, "BATON_TASK_QUEUE": task_queue,
               "BATON_CHECKPOINTER": str(tmp_path / "checkpoints.sqlite"), "BATON_AGENTS": "diagnostic",
               "BATON_LOG_FORMAT": "json", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
               "OTEL_BSP_SCHEDULE_DELAY": "100"}
        env.pop("OTEL_SERVICE_NAME", None)
        env.pop("OTEL_SDK_DISABLED", None)
        worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "workers", env=env,
                                                      stdout=asyncio.subprocess.PIPE)
        try:
            # The first attempt fails (a warning line from inside the activity), the retry completes.
            request = make_request(parameters={"steps": 2, "fail": "once"})
            await gateway.submit(request)
            await gateway.result(request.task_id)
            started = next(s for s in spans.get_finished_spans() if s.name == "StartWorkflow:AgentWorkflow")
            trace_id = f"{started.context.trace_id:032x}"

            async def exported() -> set[str] | None:
                names = {s.name for s in receiver.spans if s.trace_id == trace_id and s.service == "baton-worker"}
                return names if "langgraph.node finish" in names else None

            names = await eventually(exported, timeout=30)
        finally:
            worker.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(worker.communicate(), 60)
    assert worker.returncode == 0
    assert {"RunWorkflow:AgentWorkflow", "RunActivity:run_agent", "langgraph.node work"} <= names
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert all(line["process"] == "worker" for line in lines)
    failed = next(line for line in lines if line["message"].startswith("Agent run for"))
    assert failed["task_id"] == request.task_id and failed["activity"] == "run_agent"
    assert failed["trace_id"] == trace_id, "the worker's log line names the trace its spans are in"


def _clean_environ() -> dict[str, str]:
    """This session's environment without Baton's, Slack's, the model's, Temporal's or OpenTelemetry's settings."""
    prefixes = ("SLACK_", "BATON_", "OPENAI_", "TEMPORAL_", "OTEL_")
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}


async def _serving(port: int) -> bool:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as reply:
        return reply.status == 200


async def test_a_bot_process_logs_json_lines_naming_the_slack_channel_and_the_trace_it_exports(
        temporal_server: DevServer, task_queue: str, notify_task_queue: str, slack: FakeSlackApi) -> None:
    port = free_port()
    async with OtlpReceiver() as receiver:
        env = {**_clean_environ(), "TEMPORAL_ADDRESS": temporal_server.address, "BATON_TASK_QUEUE": task_queue,
               "BATON_NOTIFY_TASK_QUEUE": notify_task_queue, "SLACK_BOT_TOKEN": slack.bot_token,
               "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET, "SLACK_API_URL": slack.base_url,
               "BATON_HTTP_HOST": "127.0.0.1", "BATON_HTTP_PORT": str(port), "BATON_FRONT_AGENT": "grammar",
               "BATON_SLACK_TEAM_ID": slack.team_id, "BATON_LOG_FORMAT": "json",
               "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=env,
                                                   stdout=asyncio.subprocess.PIPE)
        try:
            await eventually(lambda: _serving(port), timeout=45)
            async with SlackDelivery(DEFAULT_SIGNING_SECRET, f"http://127.0.0.1:{port}/slack/events",
                                     slack=slack) as sender:
                # A workspace this bot does not serve: refused inside bolt, with one warning line.
                answer = await sender.send_slash_command("help", "U07ANA", CHANNEL, team_id="T07OTHER")
                assert answer.status == 200 and "another Slack workspace" in answer.body

            async def exported() -> list[ExportedSpan] | None:
                commands = [s for s in receiver.spans if s.name == "slack command"]
                return commands or None

            [command] = await eventually(exported, timeout=30)
        finally:
            bot.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(bot.communicate(), 60)
    assert bot.returncode == 0
    assert command.service == "baton-bot"
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert {line["process"] for line in lines} == {"bot"}
    refused = next(line for line in lines if line["message"] == "Refused a request from workspace 'T07OTHER'")
    assert refused["level"] == "warning" and refused["logger"] == "bot.middleware"
    assert refused["slack_team"] == "T07OTHER" and refused["slack_channel"] == CHANNEL
    assert refused["trace_id"] == command.trace_id, "the line names the trace of its request"
    assert slack.bot_token not in out.decode() and DEFAULT_SIGNING_SECRET not in out.decode()
