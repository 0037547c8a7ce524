"""The worker's logging: baton.logfmt's (text, or one JSON object a line with task, workflow, trace and Slack
context), with the secrets the worker's settings hold given to the redaction filter.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from baton import logfmt
from baton.logfmt import JsonLogFormatter as JsonFormatter
from baton.redaction import Redactor
from workers.config import WorkerSettings

__all__ = ["JsonFormatter", "configure_logging", "worker_redactor"]


def configure_logging(log_format: str, level: int = logging.INFO, redactor: Redactor | None = None) -> None:
    """Root logging to stdout, with `redactor` (default: token shapes only) scrubbing every record."""
    logfmt.configure_logging("worker", log_format, level=level, redactor=redactor)


def worker_redactor(settings: WorkerSettings, environ: Mapping[str, str] = os.environ) -> Redactor:
    """The worker's secrets: the ones its settings hold (which may come from its YAML file, not the environment),
    and the bot's and the codec's from the environment it shares with them."""
    return Redactor.from_variables({
        **environ,
        "OPENAI_API_KEY": settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
        "TEMPORAL_API_KEY": settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
        "BATON_CHECKPOINTER": settings.checkpointer,
    })
