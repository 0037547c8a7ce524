"""When Baton traces (the standard OTEL_* variables decide), what it names its processes, and that tracing off costs
no interceptor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from temporalio.contrib.opentelemetry import TracingInterceptor

from baton import telemetry

ENDPOINT = "http://127.0.0.1:4318"


@pytest.fixture(autouse=True)
def tracing_off() -> Iterator[None]:
    telemetry.use_tracer_provider(None)
    yield
    telemetry.use_tracer_provider(None)


@pytest.mark.parametrize("environ, requested", [
    ({}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{ENDPOINT}/v1/traces"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_SDK_DISABLED": "TRUE"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_SDK_DISABLED": "false"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}, False),
], ids=["unset", "endpoint", "traces-endpoint", "blank", "sdk-disabled", "sdk-enabled", "exporter-none"])
def test_tracing_is_on_only_when_an_otlp_endpoint_is_set_and_the_sdk_is_not_disabled(
        environ: dict[str, str], requested: bool) -> None:
    assert telemetry.tracing_requested(environ) is requested


def test_unconfigured_tracing_sets_nothing_up_and_adds_no_interceptor() -> None:
    assert telemetry.configure_tracing("baton-bot", environ={}) is False
    assert not telemetry.tracing_enabled() and telemetry.tracing_interceptors() == []
    assert not telemetry.tracer("probe").start_span("x").get_span_context().is_valid, "a no-op tracer"


def test_a_provider_in_use_gives_clients_temporals_tracing_interceptor_with_its_tracer() -> None:
    provider = TracerProvider()
    telemetry.use_tracer_provider(provider)
    try:
        [interceptor] = telemetry.tracing_interceptors()
        assert isinstance(interceptor, TracingInterceptor)
        with interceptor.tracer.start_as_current_span("x") as span:
            assert span.get_span_context().is_valid
    finally:
        provider.shutdown()


@pytest.mark.parametrize("variable, value, expected", [
    (None, None, "baton-worker"),
    ("OTEL_SERVICE_NAME", "acme-agents", "acme-agents"),
    ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=acme-ops", "acme-ops"),
], ids=["default", "service-name", "resource-attributes"])
def test_the_process_is_named_by_baton_unless_the_environment_names_it(
        monkeypatch: pytest.MonkeyPatch, variable: str | None, value: str | None, expected: str) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    if variable is not None and value is not None:
        monkeypatch.setenv(variable, value)
    provider = telemetry.otlp_tracer_provider("baton-worker")
    try:
        assert provider.resource.attributes["service.name"] == expected
    finally:
        provider.shutdown()
