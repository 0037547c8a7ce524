"""One trace from the Slack click to the model call: a signed `/baton run` through the real bot, the dev server, the
real worker and ChatOpenAI on the fake model server, with spans recorded in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from baton import telemetry
from baton.devserver import DevServer
from baton.temporal import connect, load_temporal_settings
from bot.runtime import BotRuntime
from bot.settings import load_settings
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from sandbox.openai_server import FakeOpenAI
from tests.support import eventually
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
    settings = load_settings(
        slack_bot_token=slack.bot_token, slack_signing_secret=DEFAULT_SIGNING_SECRET, slack_app_token=None,
        slack_api_url=slack.base_url, baton_http_host="127.0.0.1", baton_http_port=0, baton_model=None,
        openai_api_key=None, openai_base_url=None, baton_notify_task_queue=notify_task_queue,
    )
    model = lambda: make_chat_model(model="fake-model", api_key=fake_openai.api_key,  # noqa: E731
                                    base_url=fake_openai.base_url)
    async with (running_worker(client, worker_settings, chat_model=model),
                BotRuntime(settings, client, agents_task_queue=worker_settings.task_queue) as bot,
                SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as sender):
        answer = await sender.send_slash_command("run ops_audit check the web tier", "U07ANA", CHANNEL)
        assert answer.status == 200

        def finished() -> list[ReadableSpan] | None:
            if not any("Completed" in str(m.blocks) for m in slack.messages_in(CHANNEL)):
                return None
            done = list(spans.get_finished_spans())
            calls = [s for s in done if s.name == "chat fake-model"]
            final_notify = any(s.name == "RunActivity:notify" and s.end_time is not None for s in done)
            return done if len(calls) == 2 and final_notify else None

        done = await eventually(lambda: _now(finished()), timeout=45)

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
    assert (analyse.attributes or {})["gen_ai.usage.output_tokens"] > 0
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


async def _now(value: list[ReadableSpan] | None) -> list[ReadableSpan] | None:
    return value
