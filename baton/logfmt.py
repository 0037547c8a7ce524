"""Log lines for every Baton process: human text (default) or one JSON object a line (`BATON_LOG_FORMAT=json`), always
to stdout, always through baton.redaction's filter.

A JSON line says where it happened, when that is known:

    {"ts": "...", "level": "info", "logger": "...", "message": "...", "process": "worker",
     "task_id": "...", "workflow_id": "...", "run_id": "...", "activity": "run_agent",
     "trace_id": "<32 hex>", "span_id": "<16 hex>", "slack_team": "T...", "slack_channel": "C...", "exc": "..."}

The workflow fields come from the running activity (temporalio.activity) or from the `temporal_workflow` /
`temporal_activity` details temporalio's own loggers attach; the trace from the current OpenTelemetry span; Slack's
team and channel from `slack_scope`, which the bot opens around each Slack request (tasks it starts inherit it).
Fields a line has no value for are left out. A line's own `extra` fields are kept, scrubbed like the message.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter
from temporalio import activity

from baton.errors import BatonError
from baton.redaction import Redactor, install, scrub
from contracts.names import AGENT_WORKFLOW

__all__ = [
    "CONTEXT_FIELDS",
    "LOG_FORMATS",
    "ContextFilter",
    "JsonLogFormatter",
    "LogSettingsError",
    "configure_logging",
    "log_format_from",
    "slack_scope",
]

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONTEXT_FIELDS = ("task_id", "workflow_id", "run_id", "activity", "trace_id", "span_id", "slack_team",
                  "slack_channel")
"""The record attributes ContextFilter sets and JsonLogFormatter writes, in this order, after the message."""

_slack: ContextVar[tuple[str | None, str | None]] = ContextVar("baton_slack_scope", default=(None, None))
# temporalio's details dicts are flattened into CONTEXT_FIELDS, so a line does not say the same thing twice.
_TEMPORAL_EXTRAS = ("temporal_workflow", "temporal_activity")


class LogSettingsError(BatonError):
    """BATON_LOG_FORMAT names no known format; str() is one line naming the variable."""


def log_format_from(environ: Mapping[str, str] = os.environ) -> str:
    value = (environ.get("BATON_LOG_FORMAT") or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise LogSettingsError(f"Invalid settings: BATON_LOG_FORMAT (one of {', '.join(LOG_FORMATS)}, not {value!r})")
    return value


@contextmanager
def slack_scope(team: str | None, channel: str | None) -> Iterator[None]:
    """Lines logged inside (and in tasks started inside) name this Slack team and channel."""
    token = _slack.set((team, channel))
    try:
        yield
    finally:
        _slack.reset(token)


class ContextFilter(logging.Filter):
    """Sets CONTEXT_FIELDS on each record from where it was logged. Never drops a record, never raises."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            for key, value in _context(record).items():
                if not hasattr(record, key):  # a field the caller passed in `extra` wins
                    setattr(record, key, value)
        except Exception:  # a log line must never fail over its context
            pass
        return True


def _context(record: logging.LogRecord) -> dict[str, str]:
    found: dict[str, str] = {}
    details = getattr(record, "temporal_activity", None) or getattr(record, "temporal_workflow", None)
    if isinstance(details, Mapping):
        workflow_id, run_id = details.get("workflow_id"), details.get("workflow_run_id") or details.get("run_id")
        workflow_type, activity_type = details.get("workflow_type"), details.get("activity_type")
    elif activity.in_activity():
        info = activity.info()
        workflow_id, run_id, workflow_type = info.workflow_id, info.workflow_run_id, info.workflow_type
        activity_type = info.activity_type
    else:
        workflow_id = run_id = workflow_type = activity_type = None
    if workflow_id:
        found["workflow_id"] = str(workflow_id)
        if workflow_type == AGENT_WORKFLOW:  # an AgentWorkflow's id is its task's id
            found["task_id"] = str(workflow_id)
    if run_id:
        found["run_id"] = str(run_id)
    if activity_type:
        found["activity"] = str(activity_type)
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        found["trace_id"] = trace.format_trace_id(span.trace_id)
        found["span_id"] = trace.format_span_id(span.span_id)
    team, channel = _slack.get()
    if team:
        found["slack_team"] = team
    if channel:
        found["slack_channel"] = channel
    return found


class JsonLogFormatter(JsonFormatter):
    """python-json-logger's formatter with Baton's field names, its context fields, and every value scrubbed.

    The redaction filter has scrubbed the message and the traceback already; `extra` values are scrubbed here, since
    no filter sees them. The traceback is taken from the filter's scrubbed copy, never formatted again."""

    def __init__(self, process: str | None = None) -> None:
        super().__init__(static_fields={"process": process} if process else None)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        log_data["ts"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        log_data["level"] = record.levelname.lower()
        log_data["logger"] = record.name
        log_data["message"] = record.message
        extras: dict[str, Any] = {}
        super().add_fields(extras, record, {})
        for key in _TEMPORAL_EXTRAS:
            extras.pop(key, None)
        for key in CONTEXT_FIELDS:
            value = extras.pop(key, None)
            if value is not None:
                log_data[key] = value
        for key, value in extras.items():
            log_data.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)  # type: ignore[assignment]
        if record.exc_text:
            log_data["exc"] = record.exc_text
        if record.stack_info:
            log_data["stack"] = record.stack_info

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: _scrubbed(value) for key, value in log_data.items()}


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item) for item in value]
    return value


def configure_logging(process: str, log_format: str | None = None, *, level: int = logging.INFO,
                      redactor: Redactor | None = None, stream: IO[str] | None = None) -> None:
    """Root logging for a Baton process named `process` (bot, worker, notifier...): one handler on stdout, text or
    JSON (`log_format`, default BATON_LOG_FORMAT), with the context filter and `redactor`'s filter (default: token
    shapes only) on it. Raises LogSettingsError for an unknown format."""
    chosen = log_format_from({"BATON_LOG_FORMAT": log_format} if log_format else os.environ)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonLogFormatter(process) if chosen == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(ContextFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install(redactor or Redactor())
