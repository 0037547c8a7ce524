"""The Slack front door as an AWS Lambda function: `bot.serverless.handler`, behind an API Gateway HTTP API route
`POST /slack/events` (deploy/serverless/template.yaml). The notify worker runs elsewhere: `baton notifier`.

This works because the bot's HTTP side keeps no state (bot.intake: every listener makes its work durable in Temporal
before the ack), so any container can answer any request. Three things make it fit Lambda:

* `process_before_response`: a container is frozen once it has answered, so bolt is told to finish every listener,
  the events' too, before its response. Where Temporal took longer than BATON_INTAKE_TIMEOUT_S and a call goes on
  after the ack (bot.intake), the handler waits for it, up to the time the invocation has left, before returning:
  the answer then comes after Slack's 3 s, but the work is not frozen half-done.
* bolt's AWS Lambda adapter drives the synchronous `App`; Baton's is an `AsyncApp`. So the handler is synchronous
  (what the Lambda runtime calls) and runs `AsyncApp.async_dispatch` on one event loop kept for the container's life:
  the Temporal client, the Slack clients and their connections are bound to it and reused by warm invocations
  (`asyncio.run` would close them after each one). The event's conversion and the checks before bolt are
  bot.api_gateway's, which says what it takes from the adapter and why not the rest.
* The Temporal connection (baton.temporal: the same TEMPORAL_* variables as every process) and the app are made once
  per container, at its first request; a Temporal that cannot be reached is answered 503 (Slack delivers an event
  again) and tried again at the next request.

Call `handler` from a thread with no running event loop (the Lambda runtime's; a test's `asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry import trace
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from baton.errors import BatonError
from baton.gateway import TaskGateway
from baton.logfmt import LogSettingsError, configure_logging
from baton.redaction import Redactor, scrub
from baton.telemetry import configure_tracing, tracing_enabled
from baton.temporal import connect, load_temporal_settings
from bot.api_gateway import dispatch_checked, not_found, read_event, to_aws_response
from bot.app import build_app
from bot.catalog import parse_catalog
from bot.intake import DRAIN_S
from bot.services import BotServices
from bot.settings import BotSettings, SettingsError, load_settings

__all__ = ["handler", "reset"]

log = logging.getLogger(__name__)
_MARGIN_S = 1.0
"""Kept from an invocation's remaining time when waiting for calls that outlived their ack: enough to answer."""


class LambdaContext(Protocol):
    """What the handler reads of the Lambda runtime's context object."""

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass
class _FrontDoor:
    """What a container builds once: the app, its services and the verifier for Slack's signatures."""

    app: AsyncApp
    services: BotServices
    verifier: SignatureVerifier

    @classmethod
    async def open(cls) -> _FrontDoor:
        """From the environment; SettingsError or BatonError (Temporal unreachable, a bad TEMPORAL_* setting)."""
        settings = load_settings()
        if settings.socket_mode:
            raise SettingsError("Invalid bot settings: SLACK_APP_TOKEN (a Lambda front door serves HTTP; unset it)")
        temporal_settings = load_temporal_settings()
        client = await connect(temporal_settings)
        gateway = TaskGateway(client, task_queue=temporal_settings.task_queue)
        app, services = build_app(settings, gateway, agents=parse_catalog(settings.baton_agent_catalog),
                                  namespace=temporal_settings.temporal_namespace,
                                  temporal_ui_url=temporal_settings.temporal_ui_url, process_before_response=True)
        gc.freeze()  # built once, kept for the container's life: out of the collector's full passes
        return cls(app, services, SignatureVerifier(_signing_secret(settings)))

    async def answer(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        request = read_event(event)
        if request.method != "POST":
            return not_found()
        response = await dispatch_checked(self.app, self.verifier, request)
        if self.services.intakes.running:  # acked while Temporal was slow: finish before the container freezes
            await self.services.intakes.drain(_time_left(context))
        if tracing_enabled():  # the batched spans too: a frozen container exports nothing
            await asyncio.to_thread(_flush_spans)
        return to_aws_response(response)

    async def close(self) -> None:
        await self.services.intakes.drain(0)
        await self.services.responder.close()


class _Container:
    """The event loop and the front door a container keeps between invocations."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.configured = False
        self.door: _FrontDoor | None = None

    async def answer(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        if self.door is None:
            try:
                if not self.configured:
                    _configure_process()
                    self.configured = True
                self.door = await _FrontDoor.open()
            except (SettingsError, LogSettingsError) as exc:
                log.error("%s", exc)
                return to_aws_response(BoltResponse(status=500, body="Baton is not configured"))
            except BatonError as exc:  # Temporal unreachable or misconfigured: Slack delivers an event again
                log.error("%s", scrub(str(exc)))
                return to_aws_response(BoltResponse(status=503, body="Baton cannot reach Temporal"))
        return await self.door.answer(event, context)

    def close(self) -> None:
        if self.door is not None:
            self.loop.run_until_complete(self.door.close())
        self.loop.close()


_container: _Container | None = None
_lock = threading.Lock()
"""A container runs one invocation at a time; the lock keeps it so for callers that could overlap (tests)."""


def handler(event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
    """The Lambda entry point: an API Gateway proxy event in, its proxy result out."""
    global _container
    with _lock:
        if _container is None:
            _container = _Container()
        return _container.loop.run_until_complete(_container.answer(event, context))


def reset() -> None:
    """Drop the container's state (its loop, Temporal connection and app), as a new container would start. For tests
    that change the environment between invocations; a Lambda container never needs it."""
    global _container
    with _lock:
        if _container is not None:
            _container.close()
            _container = None


def _signing_secret(settings: BotSettings) -> str:
    assert settings.slack_signing_secret is not None  # BotSettings requires it outside Socket Mode
    return settings.slack_signing_secret.get_secret_value()


def _time_left(context: LambdaContext | None) -> float:
    if context is None:
        return DRAIN_S
    return max(context.get_remaining_time_in_millis() / 1000 - _MARGIN_S, 0.0)


def _configure_process() -> None:
    """Under the Lambda runtime, logging (BATON_LOG_FORMAT, secrets scrubbed) and tracing (OTEL_*) as every Baton
    process sets them up at start, tracing before the Temporal client is made. Elsewhere (tests) the host process
    owns both. Raises LogSettingsError for an unknown BATON_LOG_FORMAT."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        configure_logging("lambda", redactor=Redactor.from_variables(os.environ))
        configure_tracing("baton-lambda")


def _flush_spans() -> None:
    flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if callable(flush):
        flush()
