"""The bot's Prometheus metrics (prometheus_client's default registry, served on `/metrics` by baton.ops_server).

    baton_slack_ack_seconds{kind}               histogram: a Slack request's arrival to its ack (HTTP response or
                                                Socket Mode ack); Slack gives up at 3 s
    baton_slack_api_calls_total{method,result}  every HTTP attempt at the Web API: ok, error, ratelimited (a 429,
                                                counted even when the retry after it succeeds), network
    baton_decisions_total{outcome}              clicks and modal submissions deciding a checkpoint (DECISION_OUTCOMES)
    baton_tasks_started_total{agent}            tasks this bot started (not a redelivery that found its task)
    baton_feedback_total{agent,rating}          ratings recorded from the feedback buttons of a final message (a
                                                first rating or a changed one; not a repeat or a redelivery)

Known label values are created at import, so each series exists at 0 before its first event (rate() sees the
first increment, and a dashboard shows 0 rather than no data).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Literal

from aiohttp import web
from prometheus_client import Counter, Histogram
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["ACK_KINDS", "DECISION_OUTCOMES", "SLACK_KIND", "DecisionOutcome", "SlackCallCounter",
           "count_slack_calls", "observe_ack", "record_decision", "record_feedback", "record_task_started",
           "request_kind", "time_acks"]

ACK_KINDS: Final = ("slash_command", "block_actions", "view_submission", "view_closed", "shortcut", "block_suggestion",
                    "event", "url_verification", "other")
DecisionOutcome = Literal["decided", "approval_recorded", "refused", "not_pending", "busy", "failed"]
DECISION_OUTCOMES: Final[tuple[DecisionOutcome, ...]] = (
    "decided", "approval_recorded", "refused", "not_pending", "busy", "failed",
)
"""decided: the checkpoint is decided; approval_recorded: one approval toward a quorum; refused: the person may not
decide it (the bot's check or the workflow's validator); not_pending: decided already, stale, or the task ended;
busy: no worker answered, nothing sent; failed: Temporal could not be reached, or another error."""
SLACK_KIND: Final = web.RequestKey("baton_slack_kind", str)
"""Set by the guard (bot.http_guard) on a request it hands to bolt: its kind, for `time_acks`."""

ACK_SECONDS = Histogram(
    "baton_slack_ack_seconds", "Time from a Slack request's arrival to its ack, by kind of request.", ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0),
)
SLACK_API_CALLS = Counter(
    "baton_slack_api_calls", "HTTP attempts at Slack's Web API, by method and result (ok, error, ratelimited, network)",
    ["method", "result"],
)
DECISIONS = Counter("baton_decisions", "Decisions people sent from Slack, by outcome.", ["outcome"])
TASKS_STARTED = Counter("baton_tasks_started", "Tasks this bot started, by agent.", ["agent"])
FEEDBACK = Counter("baton_feedback", "Ratings recorded from final messages' feedback buttons, by agent and rating.",
                   ["agent", "rating"])

for _kind in ACK_KINDS:
    ACK_SECONDS.labels(_kind)
for _outcome in DECISION_OUTCOMES:
    DECISIONS.labels(_outcome)

_INTERACTIVE = frozenset(ACK_KINDS) - {"slash_command", "event", "url_verification", "other"}


def request_kind(body: Mapping[str, Any]) -> str:
    """The ack kind of a Slack request body (one of ACK_KINDS: a bounded label, whatever the body says)."""
    if "command" in body:
        return "slash_command"
    kind = body.get("type")
    if kind == "event_callback":
        return "event"
    if kind in _INTERACTIVE or kind == "url_verification":
        return str(kind)
    if kind == "message_action":
        return "shortcut"
    return "other"


def observe_ack(kind: str, seconds: float) -> None:
    ACK_SECONDS.labels(kind).observe(seconds)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def time_acks(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Times each request the guard let through to bolt (it names the kind in `request[SLACK_KIND]`); a refused one
    (401, 400, 413) is not an ack and is not timed."""
    started = time.perf_counter()
    response = await handler(request)
    kind = request.get(SLACK_KIND)
    if isinstance(kind, str):
        observe_ack(kind, time.perf_counter() - started)
    return response


class SlackCallCounter(AsyncRetryHandler):
    """Counts every HTTP attempt of the client it is installed on, and never asks for a retry.

    slack_sdk shows each attempt's response (or error) to the client's retry handlers in turn, stopping at the first
    that retries: installed first, this one sees them all, 429s the rate-limit handler retries included. slack_sdk
    has no other hook on its calls.
    """

    def __init__(self) -> None:
        super().__init__(max_retry_count=0)

    async def can_retry_async(self, *, state: RetryState, request: HttpRequest,
                              response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        SLACK_API_CALLS.labels(_method(request.url), _result(response)).inc()
        return False


def count_slack_calls(client: AsyncWebClient) -> AsyncWebClient:
    """Install a SlackCallCounter first among `client`'s retry handlers (once); returns the client."""
    if not any(isinstance(handler, SlackCallCounter) for handler in client.retry_handlers):
        client.retry_handlers.insert(0, SlackCallCounter())
    return client


def record_decision(outcome: DecisionOutcome) -> None:
    DECISIONS.labels(outcome).inc()


def record_task_started(agent: str) -> None:
    TASKS_STARTED.labels(agent).inc()


def record_feedback(agent: str, rating: str) -> None:
    FEEDBACK.labels(agent, rating).inc()


def _method(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1][:64] or "unknown"


def _result(response: HttpResponse | None) -> str:
    if response is None:
        return "network"
    if response.status_code == 429:
        return "ratelimited"
    if response.status_code >= 400:
        return "error"
    body = response.body
    if isinstance(body, dict) and body.get("ok") is False:
        return "ratelimited" if body.get("error") == "ratelimited" else "error"
    return "ok"
