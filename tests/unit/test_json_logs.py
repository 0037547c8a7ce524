"""BATON_LOG_FORMAT=json: one JSON object a line, carrying where it was logged, with secrets scrubbed.

Logging is configured in a child process (it replaces the root logger's handlers, which this test session's own
logging must keep), the way the bot, the worker and the notifier configure theirs at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "xoxb-json-logs-1234567890-abcdef"
MODEL_KEY = "my-configured-model-key-42"  # no token shape: only the configured value can be found

PROBE = r'''
import asyncio, dataclasses, logging, os
from opentelemetry.sdk.trace import TracerProvider
from temporalio import activity
from temporalio.testing import ActivityEnvironment
from baton.logfmt import configure_logging, slack_scope
from baton.redaction import Redactor

configure_logging("bot", redactor=Redactor.from_variables(os.environ))
log = logging.getLogger("probe")
log.info("outside anything")
with slack_scope("T01TEAM", "C01CHAN"), TracerProvider().get_tracer("probe").start_as_current_span("request"):
    log.info("in a request, with %s", os.environ["SLACK_BOT_TOKEN"])

@activity.defn(name="run_agent")
async def run_agent() -> None:
    log.info("from a module logger inside the activity")
    activity.logger.info("from temporalio's activity logger")

env = ActivityEnvironment()
env.info = dataclasses.replace(env.info, workflow_id="ops_audit-0123abcd", workflow_run_id="run-1",
                               workflow_type="AgentWorkflow", activity_type="run_agent")
asyncio.run(env.run(run_agent))
try:
    raise ValueError("the model refused " + os.environ["OPENAI_API_KEY"])
except ValueError:
    log.exception("a failure")
log.warning("extra fields", extra={"detail": {"key": os.environ["OPENAI_API_KEY"]}, "task_id": "given"})
logging.shutdown()
os._exit(0)  # as the processes leave (baton.process_exit): temporalio's core can abort at finalization
'''


def _run_probe(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "OPENAI_API_KEY": MODEL_KEY, **env}
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=60, check=True)


@pytest.fixture(scope="module")
def json_output() -> str:
    return _run_probe(BATON_LOG_FORMAT="json").stdout


@pytest.fixture(scope="module")
def lines(json_output: str) -> dict[str, dict[str, Any]]:
    """Each line by its message's first words (temporalio's activity logger appends its details in parentheses)."""
    entries = [json.loads(line) for line in json_output.splitlines()]  # every line is one JSON object
    return {entry["message"].split(",")[0].split(" (")[0]: entry for entry in entries}


def test_json_lines_carry_the_process_level_logger_and_a_utc_timestamp(lines: dict[str, dict[str, Any]]) -> None:
    entry = lines["outside anything"]
    assert entry["process"] == "bot" and entry["level"] == "info" and entry["logger"] == "probe"
    assert entry["ts"].endswith("+00:00")
    assert not {"task_id", "workflow_id", "trace_id", "slack_team", "slack_channel"} & entry.keys(), \
        "a field with no value is left out"


def test_a_line_logged_in_a_slack_request_names_its_team_channel_and_trace(lines: dict[str, dict[str, Any]]) -> None:
    entry = lines["in a request"]
    assert entry["slack_team"] == "T01TEAM" and entry["slack_channel"] == "C01CHAN"
    assert len(entry["trace_id"]) == 32 and len(entry["span_id"]) == 16 and int(entry["trace_id"], 16)
    assert entry["message"] == "in a request, with [redacted]"


def test_a_line_logged_inside_an_activity_names_its_task_and_workflow(lines: dict[str, dict[str, Any]]) -> None:
    for message in ("from a module logger inside the activity", "from temporalio's activity logger"):
        entry = lines[message]
        assert entry["task_id"] == "ops_audit-0123abcd" and entry["workflow_id"] == "ops_audit-0123abcd"
        assert entry["run_id"] == "run-1" and entry["activity"] == "run_agent"
        assert "temporal_activity" not in entry, "temporalio's details are flattened into the fields, not repeated"


def test_secrets_are_scrubbed_from_messages_tracebacks_and_extra_fields(
        json_output: str, lines: dict[str, dict[str, Any]]) -> None:
    assert BOT_TOKEN not in json_output and MODEL_KEY not in json_output
    assert "ValueError: the model refused [redacted]" in lines["a failure"]["exc"]
    assert lines["extra fields"]["detail"] == {"key": "[redacted]"}
    assert lines["extra fields"]["task_id"] == "given", "a field passed in `extra` wins over the context"


def test_text_stays_the_default_human_format() -> None:
    out = _run_probe(BATON_LOG_FORMAT="").stdout
    first = out.splitlines()[0]
    assert first.endswith(" INFO probe: outside anything") and not first.startswith("{")
    assert BOT_TOKEN not in out and MODEL_KEY not in out


@pytest.mark.parametrize("module", ["bot", "bot.notifier_main"])
def test_an_unknown_log_format_stops_the_process_with_one_line_naming_the_variable(module: str) -> None:
    result = subprocess.run([sys.executable, "-m", module], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BATON_LOG_FORMAT": "xml"})
    assert result.returncode == 2
    assert result.stderr.strip() == "Invalid settings: BATON_LOG_FORMAT (one of text, json, not 'xml')"
