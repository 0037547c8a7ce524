"""`python -m workers`: run a Baton worker until SIGTERM or SIGINT, then drain in-flight activities and exit."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from pydantic import ValidationError

from baton.redaction import scrub
from baton.telemetry import configure_tracing, shutdown_tracing
from baton.temporal import TemporalSettingsError, TemporalUnavailable, settings_problems
from workers.config import WorkerSettings
from workers.logs import configure_logging, worker_redactor
from workers.worker import run_until


async def _main() -> int:
    try:
        settings = WorkerSettings()
    except ValidationError as exc:
        print(f"baton worker: {settings_problems(exc, 'invalid configuration')}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, redactor=worker_redactor(settings))
    configure_tracing("baton-worker")  # before connecting: the client's interceptors are chosen then
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_until(stop, settings)
    except TemporalSettingsError as exc:  # e.g. an mTLS file that is not there: no retry can fix it
        print(f"baton worker: {scrub(str(exc))}", file=sys.stderr)
        return 2
    except (TemporalUnavailable, RuntimeError) as exc:
        print(f"baton worker: cannot start: {scrub(str(exc))}", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    code = asyncio.run(_main())
    shutdown_tracing()  # the spans still batched: os._exit below runs no atexit hook
    # Leave without interpreter finalization, where temporalio's core can abort the process (exit 134/139) after
    # a clean drain: the exit code must say what happened. (baton.process_exit does the same for the bot and CLI.)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
