"""aiohttp's refusals of requests it cannot parse, as one warning line.

A header or request line over aiohttp's limits (8,190 bytes: a 10 kB `X-Slack-Signature`, say), a malformed chunk
size or request line fails in aiohttp's HTTP parser before any handler runs. aiohttp answers 400, then logs it on
`aiohttp.server` at ERROR with the parser's traceback and a quote of the offending bytes: noise that names no Baton
frame, from whoever can reach the port. Raising aiohttp's limits would only move the line; this keeps the refusal,
and says it in a line like the guard's own, without the traceback or the quote.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import BadHttpMessage

__all__ = ["ParserRefusals", "install"]

SERVER_LOGGER = "aiohttp.server"


class ParserRefusals(logging.Filter):
    """Rewrites a record whose exception is aiohttp's BadHttpMessage (LineTooLong, BadStatusLine, InvalidHeader,
    TransferEncodingError...) into one WARNING line naming the client, the status and the exception class; a record
    below WARNING (aiohttp logs a non-HTTP first request at DEBUG) keeps its level. Any other record passes as is."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, BadHttpMessage):
            return True
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg = "Refused an HTTP request from %s with %s: aiohttp could not parse it (%s)"
        record.args = (remote, error.code, type(error).__name__)
        record.exc_info = record.exc_text = None
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


def install() -> None:
    """Adds the filter to aiohttp's server logger, once (a process may build several web apps)."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(f, ParserRefusals) for f in logger.filters):
        logger.addFilter(ParserRefusals())
