"""Health and metrics of the real processes (`python -m bot`, `python -m workers`, `python -m bot.notifier_main`),
asked over HTTP as a load balancer and Prometheus would: ready, not ready while Temporal is down (and why), alive
all along; and after one task run end to end through a signed slash command and a click, every metric the Grafana
dashboard (deploy/grafana/baton-dashboard.json) draws is on a live `/metrics` endpoint."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from baton.devserver import DevServer, free_port
from bench.chaos_processes import REPO_ROOT, BatonProcess, TemporalOnDisk, bot_process, clean_env, worker_process
from bot.app import build_client
from bot.metrics import count_slack_calls
from bot.runtime import BotRuntime
from bot.settings import load_settings
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, Message, SlackDelivery
from sandbox.payloads import find_action
from sandbox.socket_mode import FakeSocketMode
from tests.support import eventually

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "baton-dashboard.json"
CHANNEL = "C02OPS"
USER = "U02BOB"
Samples = dict[str, list[tuple[dict[str, str], float]]]


class Stack:
    """A worker, a bot and a notifier as real processes on one Temporal and one fake Slack, each port known."""

    def __init__(self, temporal_address: str, slack: FakeSlackApi, tmp_path: Path) -> None:
        queue = f"agents-{uuid.uuid4().hex[:10]}"
        notify_queue = f"{queue}-slack"
        self.worker_port, self.notifier_port = free_port(), free_port()
        self.worker = worker_process(temporal_address, tmp_path / "checkpoints.sqlite", tmp_path / "worker.log",
                                     BATON_TASK_QUEUE=queue, BATON_METRICS_PORT=str(self.worker_port))
        self.bot = bot_process(temporal_address, slack.base_url, slack.bot_token, DEFAULT_SIGNING_SECRET,
                               free_port(), tmp_path / "bot.log", BATON_TASK_QUEUE=queue,
                               BATON_NOTIFY_TASK_QUEUE=notify_queue)
        notifier_env = clean_env(TEMPORAL_ADDRESS=temporal_address, SLACK_API_URL=slack.base_url,
                                 SLACK_BOT_TOKEN=slack.bot_token, BATON_TASK_QUEUE=queue,
                                 BATON_NOTIFY_TASK_QUEUE=f"{notify_queue}-notifier",
                                 BATON_METRICS_PORT=str(self.notifier_port), BATON_FRONT_AGENT="grammar")
        self.notifier = BatonProcess("notifier", "bot.notifier_main", notifier_env, tmp_path / "notifier.log",
                                     "Baton notifier polling")

    @property
    def endpoints(self) -> dict[str, str]:
        """Each process's base URL for /healthz, /readyz and /metrics."""
        return {"bot": f"http://127.0.0.1:{self.bot.port}", "worker": f"http://127.0.0.1:{self.worker_port}",
                "notifier": f"http://127.0.0.1:{self.notifier_port}"}

    async def __aenter__(self) -> Stack:
        processes = (self.worker, self.bot, self.notifier)
        started = await asyncio.gather(*(process.start() for process in processes), return_exceptions=True)
        failed = [outcome for outcome in started if isinstance(outcome, BaseException)]
        if failed:
            await self.__aexit__()
            raise failed[0]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.gather(self.worker.stop(), self.bot.stop(), self.notifier.stop())


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as response:
        text = await response.text()
        return response.status, (json.loads(text) if response.content_type == "application/json" else text)


async def samples(http: aiohttp.ClientSession, base_url: str) -> Samples:
    status, text = await get(http, f"{base_url}/metrics")
    assert status == 200
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def total(found: Samples, name: str, **labels: str) -> float:
    return sum(value for have, value in found.get(name, []) if labels.items() <= have.items())


def dashboard_metrics() -> set[str]:
    """Every metric name a panel's query or a variable's query reads: the Baton and Temporal names (label names,
    functions and keywords never start with those prefixes)."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    queries += [variable["query"]["query"] for variable in dashboard["templating"]["list"]
                if isinstance(variable.get("query"), dict)]
    names = set()
    for query in queries:
        without_matchers = re.sub(r"\{[^}]*\}", "", query)  # label values could spell anything
        names.update(re.findall(r"\b(?:baton|temporal)_[a-z0-9_]+\b", without_matchers))
    return names


def card(slack: FakeSlackApi) -> Message | None:
    return next((m for m in slack.messages_in(CHANNEL) if "Approve" in str(m.blocks) and m.thread_ts), None)


def finished(slack: FakeSlackApi) -> Message | None:
    return next((m for m in slack.messages_in(CHANNEL) if m.thread_ts and "tokens in" in str(m.blocks)), None)


async def test_every_process_is_ready_and_after_a_task_serves_every_metric_the_dashboard_draws(
        temporal_server: DevServer, slack: FakeSlackApi, tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with Stack(temporal_server.address, slack, tmp_path) as stack, \
            SlackDelivery(DEFAULT_SIGNING_SECRET, stack.bot.events_url, slack=slack) as sender:
        for name, url in stack.endpoints.items():
            assert await get(http, f"{url}/healthz") == (200, {"ok": True}), name
            status, ready = await wait_ready(http, url)
            assert status == 200 and ready["ready"] is True and set(ready["checks"].values()) == {"ok"}, name
            assert "temporal" in ready["checks"]
        answer = await sender.send_slash_command("run ops_audit check the web tier", USER, CHANNEL)
        assert answer.status == 200
        checkpoint = await slack.wait_for(lambda: card(slack), timeout=60)
        approve = find_action(checkpoint.blocks, "baton.decide.accept")
        assert approve is not None
        clicked = await sender.send_block_actions(user_id=USER, action_id="baton.decide.accept", channel_id=CHANNEL,
                                                  message_ts=checkpoint.ts)
        assert clicked.status == 200
        await slack.wait_for(lambda: finished(slack), timeout=60)
        late = await sender.send_block_actions(user_id=USER, action_id="baton.decide.accept", channel_id=CHANNEL,
                                               message_ts=checkpoint.ts, value=approve[1]["value"])
        assert late.status == 200  # a second click on the decided card: told so, counted as not pending

        async def worker_counted_the_end() -> Samples | None:
            found = await samples(http, stack.endpoints["worker"])
            return found if total(found, "baton_tasks_finished_total", agent="ops_audit", outcome="success") else None

        worker = await eventually(worker_counted_the_end)
        bot = await samples(http, stack.endpoints["bot"])
        notifier = await samples(http, stack.endpoints["notifier"])

    assert total(bot, "baton_tasks_started_total", agent="ops_audit") == 1
    assert total(bot, "baton_decisions_total", outcome="decided") == 1
    assert total(bot, "baton_decisions_total", outcome="not_pending") == 1
    assert total(bot, "baton_slack_ack_seconds_count", kind="slash_command") == 1
    assert total(bot, "baton_slack_ack_seconds_count", kind="block_actions") == 2
    assert total(bot, "baton_slack_api_calls_total", method="chat.postMessage", result="ok") >= 2
    assert total(bot, "baton_slack_api_calls_total", method="auth.test", result="ok") >= 1
    assert total(worker, "baton_agent_runs_total", agent="ops_audit", outcome="interrupted") == 1
    assert total(worker, "baton_agent_runs_total", agent="ops_audit", outcome="completed") == 1
    assert total(worker, "baton_checkpoint_wait_seconds_count", agent="ops_audit") == 1
    assert total(worker, "baton_llm_calls_total", agent="ops_audit") >= 1
    assert total(worker, "baton_llm_tokens_total", agent="ops_audit", kind="output") >= 1
    assert total(worker, "temporal_activity_execution_latency_count", activity_type="run_agent") >= 2
    assert total(bot, "temporal_activity_execution_latency_count", activity_type="notify") >= 1
    assert total(notifier, "temporal_request_total") >= 1

    for found in (bot, worker):  # the SDK's histograms as Prometheus reads them: cumulative, +Inf == count
        for name in (n for n in found if n.endswith("_count") and f"{n[:-6]}_bucket" in found):
            for labels, count in found[name]:
                buckets = sorted((float(b["le"]), value) for b, value in found[f"{name[:-6]}_bucket"]
                                 if {k: v for k, v in b.items() if k != "le"} == labels)
                assert buckets[-1] == (float("inf"), count), name
                assert [value for _, value in buckets] == sorted(value for _, value in buckets), name

    wanted = dashboard_metrics()
    assert len(wanted) >= 15, wanted
    missing = wanted - set(bot) - set(worker)
    assert not missing, f"the dashboard draws metrics no live endpoint serves: {sorted(missing)}"


async def wait_ready(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    """/readyz's answer once it says ready (Slack's auth.test runs in the background at start)."""

    async def ready() -> tuple[int, Any] | None:
        status, body = await get(http, f"{url}/readyz")
        return (status, body) if status == 200 else None

    return await eventually(ready)


async def test_while_temporal_is_down_readyz_says_so_healthz_stays_up_and_readiness_returns_with_temporal(
        temporal_on_disk: TemporalOnDisk, slack: FakeSlackApi, tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with Stack(temporal_on_disk.address, slack, tmp_path) as stack:
        for url in stack.endpoints.values():
            await wait_ready(http, url)
        await temporal_on_disk.kill()

        for name, url in stack.endpoints.items():
            async def not_ready(url: str = url) -> Any:
                status, body = await get(http, f"{url}/readyz")
                return body if status == 503 else None

            body = await eventually(not_ready, timeout=15)
            assert body["ready"] is False and body["checks"]["temporal"] != "ok", name
            assert body["reason"].startswith(f"temporal: Temporal at {temporal_on_disk.address} is unreachable"), body
            others = {check: result for check, result in body["checks"].items() if check != "temporal"}
            assert others and set(others.values()) == {"ok"}, f"{name}: only Temporal is down: {body}"
            assert await get(http, f"{url}/healthz") == (200, {"ok": True}), f"{name} is alive all the same"

        await temporal_on_disk.start()
        for url in stack.endpoints.values():
            await wait_ready(http, url)


def counted(name: str, **labels: str) -> float:
    """A sample of this process's own registry (the in-process bot's), 0 before its series exists."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_429_is_counted_as_ratelimited_even_when_the_retry_after_it_succeeds(slack: FakeSlackApi) -> None:
    client = count_slack_calls(build_client(load_settings(
        slack_bot_token=slack.bot_token, slack_signing_secret=DEFAULT_SIGNING_SECRET, slack_api_url=slack.base_url)))
    before = {result: counted("baton_slack_api_calls_total", method="chat.postMessage", result=result)
              for result in ("ok", "ratelimited")}
    slack.fail_next("chat.postMessage", "ratelimited", retry_after=0, times=1)
    await client.chat_postMessage(channel=CHANNEL, text="hello")
    assert counted("baton_slack_api_calls_total", method="chat.postMessage", result="ratelimited") \
        == before["ratelimited"] + 1
    assert counted("baton_slack_api_calls_total", method="chat.postMessage", result="ok") == before["ok"] + 1


async def test_a_bot_whose_token_slack_refuses_is_not_ready_and_says_why(
        temporal_client: Client, slack: FakeSlackApi, http: aiohttp.ClientSession) -> None:
    settings = load_settings(slack_bot_token="xoxb-revoked", slack_signing_secret=DEFAULT_SIGNING_SECRET,
                             slack_app_token=None, slack_api_url=slack.base_url, baton_http_host="127.0.0.1",
                             baton_http_port=0, baton_metrics_port=0,
                             baton_notify_task_queue=f"slack-{uuid.uuid4().hex[:10]}")
    async with BotRuntime(settings, temporal_client) as bot:
        url = f"http://127.0.0.1:{bot.port}"

        async def refused() -> Any:
            status, body = await get(http, f"{url}/readyz")
            return body if status == 503 and body["checks"]["slack"] != "auth.test not answered yet" else None

        body = await eventually(refused)
        assert body["reason"] == "slack: Slack refused auth.test (invalid_auth)"
        assert body["checks"]["temporal"] == "ok"
        assert await get(http, f"{url}/healthz") == (200, {"ok": True})


async def test_a_socket_mode_bot_serves_health_and_metrics_on_its_metrics_port_and_times_socket_acks(
        temporal_client: Client, slack: FakeSlackApi, http: aiohttp.ClientSession) -> None:
    port = free_port()
    settings = load_settings(slack_bot_token=slack.bot_token, slack_app_token=slack.app_token,
                             slack_signing_secret=None, slack_api_url=slack.base_url, baton_metrics_port=port,
                             baton_front_agent="grammar", baton_notify_task_queue=f"slack-{uuid.uuid4().hex[:10]}")
    url = f"http://127.0.0.1:{port}"
    async with FakeSocketMode(slack) as socket_mode, BotRuntime(settings, temporal_client) as bot:
        await socket_mode.wait_connected()
        assert bot.port is None, "no HTTP server in Socket Mode"
        _, ready = await wait_ready(http, url)
        assert ready["checks"] == {"temporal": "ok", "slack": "ok"}
        before = total(await samples(http, url), "baton_slack_ack_seconds_count", kind="slash_command")
        ack = await socket_mode.send_slash_command("help", USER, CHANNEL)
        assert ack.type == "slash_commands"
        after = total(await samples(http, url), "baton_slack_ack_seconds_count", kind="slash_command")
        assert after == before + 1
        assert await get(http, f"{url}/healthz") == (200, {"ok": True})
