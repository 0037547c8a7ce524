"""`python -m bot`: the Slack app (HTTP or Socket Mode) and the notify worker, until SIGTERM / SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from baton.errors import BatonError
from baton.logfmt import LogSettingsError, configure_logging
from baton.process_exit import exit_now
from baton.redaction import Redactor, scrub
from baton.telemetry import configure_tracing, shutdown_tracing
from baton.temporal import TemporalSettingsError, connect, load_temporal_settings
from baton.temporal_metrics import TemporalMetrics
from bot.catalog import parse_catalog
from bot.runtime import BotRuntime
from bot.settings import SettingsError, load_settings


async def serve() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        temporal_settings = load_temporal_settings()
        temporal_metrics = TemporalMetrics()  # the SDK's metrics, served on /metrics with the bot's
        client = await connect(temporal_settings, runtime=temporal_metrics.runtime)
    except TemporalSettingsError as exc:  # e.g. an mTLS file that is not there: no retry can fix it
        print(scrub(str(exc)), file=sys.stderr)
        return 2
    except BatonError as exc:
        print(scrub(str(exc)), file=sys.stderr)
        return 3
    runtime = BotRuntime(settings, client, namespace=temporal_settings.temporal_namespace,
                         temporal_ui_url=temporal_settings.temporal_ui_url,
                         agents=parse_catalog(settings.baton_agent_catalog),
                         agents_task_queue=temporal_settings.task_queue, temporal_metrics=temporal_metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.start()
    except SettingsError as exc:  # found only by asking Slack (a refused SLACK_APP_TOKEN)
        print(exc, file=sys.stderr)
        return 2
    try:
        await stop.wait()
        logging.getLogger("bot").info("Shutting down")
    finally:
        await runtime.stop()
    return 0


def main() -> None:
    try:  # the bot's settings all come from the environment, its secrets too
        configure_logging("bot", redactor=Redactor.from_variables(os.environ))
    except LogSettingsError as exc:
        print(exc, file=sys.stderr)
        exit_now(2)
    configure_tracing("baton-bot")  # before connecting: the client's interceptors are chosen then
    code = asyncio.run(serve())
    shutdown_tracing()  # the spans still batched: exit_now runs no atexit hook
    exit_now(code)  # skips finalization, where temporalio's core can abort (baton.process_exit)


if __name__ == "__main__":
    main()
