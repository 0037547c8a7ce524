"""run_agent's failures reach Temporal scrubbed: the message, the details and every chained exception, with the
types, retry flags and tracebacks intact."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from baton import redaction
from baton.redaction import REDACTED, Redactor, install
from workers.activities import scrubbed, scrubbed_chain

MODEL_KEY = "sk-proj-Zr83Kq0PwXyLm29"
BOT_TOKEN = "xoxb-1111111111-2222222222-AbCdEfGhIjKlMnOp"
DSN = "postgresql://baton:p%40ss-W0rd!x@db.internal:5432/baton"


@pytest.fixture
def installed() -> Iterator[Redactor]:
    """A redactor that knows the bot token, installed as the process's (as the worker's start does)."""
    previous = redaction.current()
    try:
        yield install(Redactor([BOT_TOKEN]), logger=logging.getLogger("no-handlers-here"))
    finally:
        install(previous, logger=logging.getLogger("no-handlers-here"))


def test_an_activity_failure_keeps_its_shape_and_loses_its_secrets(installed: Redactor) -> None:
    """What run_agent raises: Temporal stores the message, details and every cause; each is scrubbed, and the types,
    retry flags, delays and tracebacks a person needs to debug survive."""
    try:
        try:
            raise ConnectionError(f"Authorization: Bearer {MODEL_KEY}")
        except ConnectionError as inner:
            raise RuntimeError(f"cannot open {DSN}") from inner
    except RuntimeError as exc:
        original = exc
    error = ApplicationError(f"failed with {BOT_TOKEN}", {"token": BOT_TOKEN, "n": 1}, type="LLMRateLimited",
                             next_retry_delay=timedelta(seconds=7))
    clean = scrubbed(error)
    chain = scrubbed_chain(original)
    assert (clean.message, clean.details, clean.type, clean.non_retryable, clean.next_retry_delay) == (
        f"failed with {REDACTED}", ({"token": REDACTED, "n": 1},), "LLMRateLimited", False, timedelta(seconds=7))
    assert chain is not None and isinstance(chain.__cause__, ApplicationError)
    assert (chain.type, chain.message) == ("RuntimeError", f"cannot open postgresql://baton:{REDACTED}@db.internal:5432/baton")
    assert (chain.__cause__.type, chain.__cause__.message) == ("ConnectionError", f"Authorization: {REDACTED}")
    assert chain.__traceback__ is original.__traceback__, "the stack trace Temporal records is the original's"
    assert scrubbed_chain(None) is None
