"""Traces for every Baton process: OpenTelemetry, configured by the standard `OTEL_*` variables, off when unset.

One trace runs from the Slack request to the model call: the bot's `slack <kind>` span (bot.request_trace), Temporal's
own spans (`StartWorkflow`, `RunWorkflow`, `StartActivity`, `RunActivity`: temporalio's TracingInterceptor, which
carries the context through Temporal headers from the client into workflows and activities), then one span per
LangGraph node and per model call (baton.graph_tracing).

Tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, unless
`OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`; spans then go over OTLP/HTTP in batches. Off, no
interceptor is installed and no span is made, so an untraced deployment pays nothing. Tests hand in their own
provider with `use_tracer_provider` instead of touching OpenTelemetry's global one (which can be set once a process).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace
from temporalio.client import Interceptor

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

__all__ = [
    "configure_tracing",
    "otlp_tracer_provider",
    "shutdown_tracing",
    "tracer",
    "tracing_enabled",
    "tracing_interceptors",
    "tracing_requested",
    "use_tracer_provider",
]

log = logging.getLogger(__name__)
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_provider: trace.TracerProvider | None = None


def tracing_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces: an OTLP endpoint is set and the SDK is not switched off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in _ENDPOINT_VARIABLES)


def configure_tracing(service_name: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Install an SDK TracerProvider exporting over OTLP/HTTP when the environment asks for traces; True if it did.

    Call it before connecting to Temporal: the client's interceptors are chosen then."""
    if not tracing_requested(environ):
        return False
    provider = otlp_tracer_provider(service_name, environ)
    trace.set_tracer_provider(provider)
    use_tracer_provider(provider)
    log.info("Tracing on: spans go to the OTLP endpoint of OTEL_EXPORTER_OTLP_*")
    return True


def otlp_tracer_provider(service_name: str, environ: Mapping[str, str] = os.environ) -> SdkTracerProvider:
    """An SDK TracerProvider whose spans go, in batches, to the OTLP/HTTP exporter (which reads its own variables:
    endpoint, headers, timeout, compression, certificate).

    `service_name` (e.g. `baton-worker`) names the process unless OTEL_SERVICE_NAME or a `service.name` in
    OTEL_RESOURCE_ATTRIBUTES says otherwise (the SDK reads those from the process's environment)."""
    # Imported here: a process without tracing never loads the SDK or the exporter's HTTP stack.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(",")
    named = environ.get("OTEL_SERVICE_NAME") or any(a.split("=")[0].strip() == "service.name" for a in attributes)
    provider = TracerProvider(resource=Resource.create({} if named else {SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def use_tracer_provider(provider: trace.TracerProvider | None) -> None:
    """Make `provider` the one Baton's spans and Temporal interceptors use (None: tracing off). For tests, which
    cannot replace OpenTelemetry's global provider once it is set; processes call `configure_tracing`."""
    global _provider
    _provider = provider


def tracing_enabled() -> bool:
    return _provider is not None


def tracer(name: str) -> trace.Tracer:
    """A tracer from the configured provider; a no-op one while tracing is off."""
    if _provider is None:
        return trace.NoOpTracer()
    return _provider.get_tracer(name)


def tracing_interceptors() -> list[Interceptor]:
    """The interceptors every Temporal client gets (workers built on a client inherit them): temporalio's
    TracingInterceptor when tracing is on, nothing otherwise."""
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(tracer("temporalio"))]


def shutdown_tracing() -> None:
    """Export the spans still batched. Baton's processes leave through os._exit (baton.process_exit), which runs no
    atexit hook, so they call this first."""
    shutdown = getattr(_provider, "shutdown", None)
    if callable(shutdown):
        shutdown()
