"""`python -m bot`: the Slack app (HTTP or Socket Mode) and the notify worker, until SIGTERM / SIGINT."""

from __future__ import annotations

import logging
import sys

from bot.catalog import parse_catalog
from bot.process_entry import connect_from_environment, run_process, stop_requested
from bot.runtime import BotRuntime
from bot.settings import SettingsError, load_settings


async def serve() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    temporal = await connect_from_environment()
    if isinstance(temporal, int):
        return temporal
    runtime = BotRuntime(settings, temporal.client, namespace=temporal.settings.temporal_namespace,
                         temporal_ui_url=temporal.settings.temporal_ui_url,
                         agents=parse_catalog(settings.baton_agent_catalog),
                         agents_task_queue=temporal.settings.task_queue, temporal_metrics=temporal.metrics)
    stop = stop_requested()
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
    run_process("bot", "baton-bot", serve)


if __name__ == "__main__":
    main()
