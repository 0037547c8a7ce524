"""The Temporal SDK's metrics in prometheus_client's registry, so a process serves one `/metrics` with Baton's own.

Why not the SDK's `PrometheusConfig`: its exporter binds a port of its own, which it never releases, and serves only
the SDK's metrics. Baton's processes serve `/metrics`, `/healthz` and `/readyz` together on one port (the bot on its
HTTP port), so the SDK records into a `MetricBuffer` instead and this collector turns the buffered updates into
Prometheus families when scraped (and drains the buffer in between, `drain_every`, so it never fills).

Names and units are the ones the SDK's own exporter gives with `counters_total_suffix=True` (the OpenMetrics
convention prometheus_client follows): `temporal_request_total`, `temporal_workflow_task_schedule_to_start_latency`
in milliseconds, its `_bucket` / `_sum` / `_count`. Metrics a workflow records through `workflow.metric_meter()` (as
`workers.metrics` does; replay-safe) arrive the same way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_HISTOGRAM,
    BufferedMetricUpdate,
    MetricBuffer,
    MetricBufferDurationFormat,
    Runtime,
    TelemetryConfig,
)

__all__ = ["BUCKETS_MS", "TemporalMetrics"]

BUCKETS_MS: tuple[float, ...] = (
    1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 1_800_000, 3_600_000,
)
"""Histogram bounds for the SDK's durations (milliseconds): from a fast RPC to an hour-long workflow."""
_BUFFER_SIZE = 100_000
"""Updates held between drains; the SDK drops (and logs) what does not fit."""

Labels = tuple[tuple[str, str], ...]


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS_MS))
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(BUCKETS_MS):
            if value <= bound:
                self.buckets[index] += 1
                break
        self.total += value
        self.count += 1


@dataclass
class _Family:
    kind: int
    description: str
    values: dict[Labels, float] = field(default_factory=dict)
    histograms: dict[Labels, _Histogram] = field(default_factory=dict)


class TemporalMetrics(Collector):
    """A Temporal `Runtime` that records into a buffer, and the prometheus_client collector that exports it.

    Connect the process's Temporal client with `runtime`, register this on the registry `/metrics` serves, and run
    `drain_every` beside it. Safe to scrape from any thread.
    """

    def __init__(self, buffer_size: int = _BUFFER_SIZE) -> None:
        self._buffer = MetricBuffer(buffer_size, MetricBufferDurationFormat.MILLISECONDS)
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=self._buffer))
        self._families: dict[str, _Family] = {}
        self._lock = threading.Lock()

    def drain(self) -> None:
        """Fold the updates buffered since the last drain into the running totals."""
        with self._lock:
            for update in self._buffer.retrieve_updates():
                self._fold(update)

    async def drain_every(self, interval_s: float = 1.0) -> None:
        """Drain until cancelled: the buffer must not fill up while nobody scrapes."""
        while True:
            self.drain()
            await asyncio.sleep(interval_s)

    def collect(self) -> Iterable[Metric]:
        self.drain()
        with self._lock:
            return [_export(name, family) for name, family in sorted(self._families.items())]

    def _fold(self, update: BufferedMetricUpdate) -> None:
        metric = update.metric
        family = self._families.get(metric.name)
        if family is None:
            family = self._families[metric.name] = _Family(metric.kind, metric.description or metric.name)
        labels = _labels(update.attributes)
        if family.kind == BUFFERED_METRIC_KIND_COUNTER:
            family.values[labels] = family.values.get(labels, 0.0) + update.value
        elif family.kind == BUFFERED_METRIC_KIND_HISTOGRAM:
            family.histograms.setdefault(labels, _Histogram()).observe(update.value)
        else:  # a gauge: the last value set is the value
            family.values[labels] = float(update.value)


def _labels(attributes: Mapping[str, str | int | float | bool]) -> Labels:
    return tuple(sorted((key, _label_value(value)) for key, value in attributes.items()))


def _label_value(value: str | int | float | bool) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _export(name: str, family: _Family) -> Metric:
    if family.kind == BUFFERED_METRIC_KIND_COUNTER:
        counter = Metric(name, family.description, "counter")
        for labels, value in family.values.items():
            counter.add_sample(f"{name}_total", dict(labels), value)
        return counter
    if family.kind == BUFFERED_METRIC_KIND_HISTOGRAM:
        histogram = Metric(name, family.description, "histogram")
        for labels, observed in family.histograms.items():
            cumulative = 0
            for bound, count in zip(BUCKETS_MS, observed.buckets, strict=True):
                cumulative += count
                histogram.add_sample(f"{name}_bucket", {**dict(labels), "le": _le(bound)}, cumulative)
            histogram.add_sample(f"{name}_bucket", {**dict(labels), "le": "+Inf"}, observed.count)
            histogram.add_sample(f"{name}_sum", dict(labels), observed.total)
            histogram.add_sample(f"{name}_count", dict(labels), observed.count)
        return histogram
    gauge = Metric(name, family.description, "gauge")
    for labels, value in family.values.items():
        gauge.add_sample(name, dict(labels), value)
    return gauge


def _le(bound: float) -> str:
    return f"{float(bound)}"
