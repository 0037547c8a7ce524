"""What `python -m bot` and `baton notifier` do alike around their own work: logs and traces set up before anything
connects, Temporal reached from the environment with its SDK metrics kept for /metrics, SIGTERM / SIGINT awaited,
and an exit that skips the interpreter's finalization.

Exit codes: 2 for a setting no retry can fix (an invalid variable, an mTLS file that is not there), 3 for Temporal
not answering.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from baton.errors import BatonError
from baton.logfmt import LogSettingsError, configure_logging
from baton.process_exit import exit_now
from baton.redaction import Redactor, scrub
from baton.telemetry import configure_tracing, shutdown_tracing
from baton.temporal import TemporalSettings, TemporalSettingsError, connect, load_temporal_settings
from baton.temporal_metrics import TemporalMetrics

__all__ = ["TemporalConnection", "connect_from_environment", "run_process", "stop_requested"]


@dataclass(frozen=True)
class TemporalConnection:
    settings: TemporalSettings
    client: Client
    metrics: TemporalMetrics
    """The SDK's metrics, served on the process's /metrics with its own."""


async def connect_from_environment() -> TemporalConnection | int:
    """The connection the TEMPORAL_* settings describe, or the exit code after one line on stderr."""
    try:
        settings = load_temporal_settings()
        metrics = TemporalMetrics()
        client = await connect(settings, runtime=metrics.runtime)
    except TemporalSettingsError as exc:  # e.g. an mTLS file that is not there: no retry can fix it
        print(scrub(str(exc)), file=sys.stderr)
        return 2
    except BatonError as exc:
        print(scrub(str(exc)), file=sys.stderr)
        return 3
    return TemporalConnection(settings, client, metrics)


def stop_requested() -> asyncio.Event:
    """An event set by the first SIGTERM or SIGINT (a deploy's stop, or Ctrl-C)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def run_process(process: str, service_name: str, serve: Callable[[], Coroutine[Any, Any, int]]) -> None:
    """Set up logs (BATON_LOG_FORMAT) and traces (OTEL_*), run `serve`, flush the spans and exit with its code."""
    try:  # the process's settings all come from the environment, its secrets too
        configure_logging(process, redactor=Redactor.from_variables(os.environ))
    except LogSettingsError as exc:
        print(exc, file=sys.stderr)
        exit_now(2)
    configure_tracing(service_name)  # before connecting: the client's interceptors are chosen then
    code = asyncio.run(serve())
    shutdown_tracing()  # the spans still batched: exit_now runs no atexit hook
    exit_now(code)  # skips finalization, where temporalio's core can abort (baton.process_exit)
