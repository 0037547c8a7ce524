"""No configured secret, and no common token shape, ever leaves a Baton process: not in its logs, not in a Temporal
history, not in a Slack call.

The worker (`python -m workers`, PostgreSQL checkpoints through a DSN with a password) and the bot (`python -m bot`)
run as real processes with known, distinctive secrets in their environment, against the fake Slack (which accepts
only that bot token), the fake OpenAI server (which accepts only that key) and a real Temporal dev server. The main
flows run through them: a `/baton run` that stops at a checkpoint and completes once approved, a mention answered
by the front agent, a mention whose model call is refused with a 401 that echoes the key, a task whose agent raises
exceptions quoting the key and DSNs, and a task whose model call gets that 401; the CLI then reads the failed task,
and tries a Temporal API key. Everything they said is then scanned: every log line (the processes' own output, the
CLI's, and this test process at DEBUG), every event and payload of every workflow on the test's task queue (decoded
with the data converter, and as raw bytes), and every call the fake Slack received, with the workspace's state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message as ProtoMessage
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from baton.devserver import DevServer, free_port
from baton.redaction import REDACTED
from sandbox import FakeSlackApi, Message, SlackDelivery
from sandbox.openai_server import FakeOpenAI, tool_call
from tests.fakes.leaky_agent import UNCONFIGURED_BEARER, WAREHOUSE_PASSWORD
from tests.support import fresh_postgres_database

REPO_ROOT = Path(__file__).resolve().parents[2]

BOT_TOKEN = "xoxb-4242424242-4242424242-HygieneBotTokenZq81"
SIGNING_SECRET = "hygiene-signing-secret-5f1c9e07d3"
MODEL_KEY = "sk-hygiene-model-key-Zr83Kq0PwX"
DB_PASSWORD = "hygiene-db-pw-Nq47Lx"
TEMPORAL_API_KEY = "hygiene-temporal-api-key-Tk29Vb"
SECRETS = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "OPENAI_API_KEY": MODEL_KEY,
    "password in BATON_CHECKPOINTER": DB_PASSWORD,
    "TEMPORAL_API_KEY": TEMPORAL_API_KEY,
    "unconfigured DSN password": WAREHOUSE_PASSWORD,
    "unconfigured bearer token": UNCONFIGURED_BEARER,
}
"""Every value no output may contain: the configured ones, and two only a token-shape pattern can recognise."""

CHANNEL = "C02OPS"
REQUESTER = "U02BOB"
APPROVER = "U01ALICE"
APPROVE = "baton.decide.accept"
PROPOSAL = {
    "summary": "Close telnet on the CI runner.",
    "steps": [{"finding_id": "F1", "host": "ci-runner-1", "action": "close_port", "target": "23", "reason": "telnet"}],
}
FRONT_REPLY = "Nothing is running for you right now."
KEY_ECHO = f"Incorrect API key provided: {MODEL_KEY}. You can find your API key at https://platform.openai.com."


def model_replies(body: dict[str, Any]) -> Any:
    """The fake model answers by what is asked: ops_audit's two calls, and the front agent's."""
    tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
    if "ProposeRemediation" in tools:
        return tool_call("ProposeRemediation", PROPOSAL)
    if "temporal_submit" in tools:
        return FRONT_REPLY
    return "Audit done: telnet is closed."


# --- processes -----------------------------------------------------------------------------------------------------


@dataclass
class Process:
    """`python -m <module>` with its stdout and stderr in one log file; ready once the log shows `ready_line`."""

    module: str
    env: dict[str, str]
    log_path: Path
    ready_line: str
    process: asyncio.subprocess.Process | None = None

    async def start(self, timeout_s: float = 60) -> Process:
        with open(self.log_path, "wb") as log:  # noqa: ASYNC230 - once per start; the child inherits it
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while self.ready_line not in self.log:
            assert self.process.returncode is None, f"{self.module} exited early:\n{self.log}"
            assert time.monotonic() < deadline, f"{self.module} not ready in {timeout_s}s:\n{self.log}"
            await asyncio.sleep(0.05)  # another process writes the file: there is no event to wait on
        return self

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop(self) -> None:
        """SIGTERM, so the process drains and flushes its last log lines; SIGKILL if it hangs."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def process_env(**settings: str) -> dict[str, str]:
    """This environment without any Baton, Slack, OpenAI or Temporal setting a developer may have, plus `settings`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BATON_", "OPENAI_", "TEMPORAL_"))}
    return {**kept, "PYTHONUNBUFFERED": "1", **settings}


@pytest.fixture
def checkpoint_dsn() -> Iterator[str]:
    """A fresh PostgreSQL database, reached through a DSN with a password (trust auth accepts any password)."""
    with fresh_postgres_database("baton_hygiene", password=DB_PASSWORD) as dsn:
        yield dsn


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=MODEL_KEY) as fake:
        fake.respond_with(model_replies)
        yield fake


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    """The fake Slack, accepting only this test's bot token."""
    async with FakeSlackApi(bot_token=BOT_TOKEN) as fake:
        yield fake


# --- scanning ------------------------------------------------------------------------------------------------------


@dataclass
class Scan:
    """Where each secret was found, and how much was looked at."""

    looked_at: dict[str, int] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def text(self, where: str, text: str, kind: str) -> None:
        self.looked_at[kind] = self.looked_at.get(kind, 0) + 1
        for name, secret in SECRETS.items():
            if secret in text:
                start = text.index(secret)
                self.hits.append(f"{name} in {where}: ...{text[max(0, start - 80):start + len(secret) + 20]!r}...")

    def raw(self, where: str, data: bytes, kind: str) -> None:
        self.looked_at[kind] = self.looked_at.get(kind, 0) + 1
        for name, secret in SECRETS.items():
            if secret.encode() in data:
                self.hits.append(f"{name} in the raw bytes of {where}")


def payloads_in(message: ProtoMessage) -> Iterator[Payload]:
    """Every Payload anywhere inside a history event (inputs, results, failures' details, headers, memo...)."""
    if isinstance(message, Payload):
        yield message
        return
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.is_repeated:
            items = value.values() if descriptor.message_type.GetOptions().map_entry else value
            for item in items:
                if isinstance(item, ProtoMessage):
                    yield from payloads_in(item)
        else:
            yield from payloads_in(value)


async def scan_histories(client: Client, task_queue: str, scan: Scan) -> list[str]:
    """Every workflow on the test's task queue: each event as raw bytes, each payload decoded."""
    ids = [execution.id async for execution in client.list_workflows(f"TaskQueue = '{task_queue}'")]
    for workflow_id in ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            where = f"{workflow_id} event {event.event_id} ({event.WhichOneof('attributes')})"
            scan.raw(where, event.SerializeToString(), "history events")
            for payload in payloads_in(event):
                [value] = client.data_converter.payload_converter.from_payloads([payload])
                scan.text(f"a payload of {where}", json.dumps(value, default=str), "history payloads")
    return ids


def scan_slack(slack: FakeSlackApi, scan: Scan) -> None:
    for number, call in enumerate(slack.calls):
        text = json.dumps({"method": call.method, "args": call.args, "response": call.response}, default=str)
        scan.text(f"Slack call #{number} ({call.method})", text, "Slack calls")
    workspace = slack.workspace
    state = [*(m for messages in workspace.messages.values() for m in messages), *workspace.ephemerals,
             *workspace.views.values(), *workspace.home_views.values()]
    for item in state:
        scan.text(f"Slack state {type(item).__name__}", json.dumps(item.__dict__, default=str), "Slack state objects")


def scan_log(name: str, text: str, scan: Scan) -> None:
    scan.looked_at.setdefault(f"log lines: {name}", 0)
    for number, line in enumerate(text.splitlines(), 1):
        scan.text(f"{name} line {number}", line, f"log lines: {name}")


# --- helpers for the flows -----------------------------------------------------------------------------------------


def _metadata(message: Message) -> dict[str, Any]:
    return (message.metadata or {}).get("event_payload") or {}


def cards(slack: FakeSlackApi) -> list[Message]:
    return [m for m in slack.messages_in(CHANNEL) if str(_metadata(m).get("part", "")).startswith("checkpoint:")
            and "Approve" in json.dumps(m.blocks)]


def final_of(slack: FakeSlackApi, task_id: str) -> Message | None:
    return next((m for m in slack.messages_in(CHANNEL)
                 if _metadata(m).get("task_id") == task_id and _metadata(m).get("part") == "final"), None)


async def final_blocks(slack: FakeSlackApi, task_id: str) -> str:
    """The task's final message, once posted, as JSON."""
    message = await slack.wait_for(lambda: final_of(slack, task_id), timeout=60)
    assert message is not None
    return json.dumps(message.blocks)


def tasks_of(slack: FakeSlackApi, agent: str) -> list[str]:
    return sorted({str(_metadata(m)["task_id"]) for m in slack.messages_in(CHANNEL)
                   if str(_metadata(m).get("task_id", "")).startswith(f"{agent}-")})


async def run_task(sender: SlackDelivery, slack: FakeSlackApi, agent: str, text: str) -> str:
    """`/baton run` from Slack; returns the task id once the thread shows the task."""
    before = set(tasks_of(slack, agent))
    assert (await sender.send_slash_command(f"run {agent} {text}", REQUESTER, CHANNEL)).status == 200
    [task_id] = await slack.wait_for(lambda: [t for t in tasks_of(slack, agent) if t not in before], timeout=60)
    return task_id


def checkpoints_in(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as connection:
        row = connection.execute("SELECT count(*) FROM checkpoints").fetchone()
    return int(row[0]) if row else 0


async def baton_cli(env: Mapping[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "baton.cli", *args, cwd=REPO_ROOT, env=dict(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return out.decode(errors="replace")


# --- the test ------------------------------------------------------------------------------------------------------


@pytest.mark.timeout(300)
async def test_no_secret_reaches_a_log_a_history_or_slack(
    temporal_server: DevServer, temporal_client: Client, task_queue: str, tmp_path: Path, slack: FakeSlackApi,
    model: FakeOpenAI, checkpoint_dsn: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    shared = {  # one environment file for the whole deployment, as operators keep it
        "TEMPORAL_ADDRESS": temporal_server.address, "BATON_TASK_QUEUE": task_queue,
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.base_url,
        "OPENAI_API_KEY": MODEL_KEY, "OPENAI_BASE_URL": model.base_url, "BATON_MODEL": "fake-model",
        "BATON_CHECKPOINTER": checkpoint_dsn,
    }
    worker = Process("workers", process_env(
        **shared, BATON_AGENTS="ops_audit,tests.fakes.leaky_agent:SPEC", BATON_STICKY_QUEUE_TIMEOUT_S="1",
        BATON_HEARTBEAT_THROTTLE_S="0.5", 
        BATON_HEARTBEAT_INTERVAL_S="0.5", BATON_PROGRESS_INTERVAL_S="0.05", BATON_DRAIN_TIMEOUT_S="5",
    ), tmp_path / "worker.log", "Worker on task queue")
    bot = Process("bot", process_env(
        **shared, BATON_HTTP_HOST="127.0.0.1", BATON_HTTP_PORT=str(port), BATON_SLACK_TEAM_ID=slack.team_id,
        BATON_NOTIFY_TASK_QUEUE=f"{task_queue}-slack", BATON_APPROVERS=APPROVER,
    ), tmp_path / "bot.log", "Baton bot listening on port")
    cli_output: list[str] = []
    try:
        await worker.start()
        await bot.start()
        async with SlackDelivery(SIGNING_SECRET, f"http://127.0.0.1:{port}/slack/events", slack=slack) as sender:
            # 1. A task through a checkpoint and an approval to completion.
            audit = await run_task(sender, slack, "ops_audit", "check the CI runners")
            [card] = await slack.wait_for(lambda: cards(slack), timeout=60)
            clicked = await sender.send_block_actions(user_id=APPROVER, action_id=APPROVE, channel_id=CHANNEL,
                                                      message_ts=card.ts)
            assert clicked.status == 200
            assert "Completed" in await final_blocks(slack, audit)

            # 2. A mention the front agent answers, then one whose model call is refused with the key echoed.
            await sender.say(REQUESTER, CHANNEL, f"<@{slack.bot_user_id}> what is running?")
            await slack.wait_for(lambda: [m for m in slack.messages_in(CHANNEL) if m.text == FRONT_REPLY], 60)
            model.fail_next(status=401, message=KEY_ECHO)
            _, asked = await sender.say(REQUESTER, CHANNEL, f"<@{slack.bot_user_id}> and now?")
            await slack.wait_for(lambda: slack.messages_in(CHANNEL, asked["ts"]), timeout=60)

            # 3. An agent whose exceptions quote the key, the checkpointer DSN, another DSN and a bearer token.
            leaky = await run_task(sender, slack, "leaky", "connect to the warehouse")
            failed = await final_blocks(slack, leaky)
            assert "AgentFailed" in failed and f"refused key {REDACTED} at postgresql://" in failed, failed

            # 4. A worker model call refused with a 401 that echoes the key.
            model.fail_next(status=401, message=KEY_ECHO)
            refused = await run_task(sender, slack, "ops_audit", "check the web tier")
            assert "LLMAuthError" in await final_blocks(slack, refused)

        # 5. The CLI reads the failed task, and tries a Temporal API key (the dev server speaks no TLS, which an
        #    API key turns on: this only shows that the refusal does not print the key).
        cli_output.append(await baton_cli(process_env(**shared), "status", leaky))
        assert "AgentFailed" in cli_output[-1], cli_output[-1]
        cli_output.append(await baton_cli(process_env(**shared, TEMPORAL_API_KEY=TEMPORAL_API_KEY), "status", leaky))
        assert "Cannot reach the Temporal server" in cli_output[-1], cli_output[-1]
    finally:
        await bot.stop()
        await worker.stop()

    scan = Scan()
    scan_log("worker log", worker.log, scan)
    scan_log("bot log", bot.log, scan)
    for number, output in enumerate(cli_output, 1):
        scan_log(f"CLI run {number}", output, scan)
    scan_log("this test process's log (DEBUG)", caplog.text, scan)
    workflows = await scan_histories(temporal_client, task_queue, scan)
    scan_slack(slack, scan)

    assert {audit, leaky, refused} <= set(workflows), workflows
    assert checkpoints_in(checkpoint_dsn) > 0, "the worker really kept its checkpoints behind the DSN"
    # The leaking texts were really produced, and logged scrubbed: the zero below is not for want of trying.
    assert "The front agent's model failed" in bot.log and f"Incorrect API key provided: {REDACTED}" in bot.log
    assert f"Incorrect API key provided: {REDACTED}" in worker.log and f"key {REDACTED} at postgresql://" in worker.log
    print(f"\nsecret hygiene scan: {scan.looked_at}, hits: {len(scan.hits)}")
    assert not scan.hits, f"{len(scan.hits)} leaks:\n" + "\n".join(scan.hits[:60])


async def test_an_error_text_the_bot_answers_with_is_scrubbed_on_its_way_to_slack(slack: FakeSlackApi) -> None:
    """The bot's private answers quote errors (a refused decision, an outage): whatever they quote, what Slack gets
    carries no token shape, even in a process that was told no secret values."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.listeners.replies import tell

    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
    leaked = f"Temporal refused: Authorization: Bearer {UNCONFIGURED_BEARER} for postgresql://u:{WAREHOUSE_PASSWORD}@db/x"
    await tell(client, CHANNEL, REQUESTER, leaked)
    [call] = slack.calls_to("chat.postEphemeral", ok=True)
    assert call.args["text"] == f"Temporal refused: Authorization: {REDACTED} for postgresql://u:{REDACTED}@db/x"
