"""Logging to stdout, as text or one JSON object a line, for every Baton process run from the worker package.

Every line passes baton.redaction's filter first: no configured secret or token shape reaches the output, whether it
came in a message, an argument or a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping

from baton.redaction import Redactor, install
from workers.config import WorkerSettings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # the redacting filter's scrubbed copy: never format the exception again here
            entry["exc"] = record.exc_text
        return json.dumps(entry)


def configure_logging(log_format: str, level: int = logging.INFO, redactor: Redactor | None = None) -> None:
    """Root logging to stdout, with `redactor` (default: token shapes only) scrubbing every record."""
    handler = logging.StreamHandler(sys.stdout)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install(redactor or Redactor())


def worker_redactor(settings: WorkerSettings, environ: Mapping[str, str] = os.environ) -> Redactor:
    """The worker's secrets: the ones its settings hold (which may come from its YAML file, not the environment),
    and the bot's and the codec's from the environment it shares with them."""
    return Redactor.from_variables({
        **environ,
        "OPENAI_API_KEY": settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
        "TEMPORAL_API_KEY": settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
        "BATON_CHECKPOINTER": settings.checkpointer,
    })
