"""baton.redaction: configured secrets and token shapes leave no text, no log line and no traceback."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from baton import redaction
from baton.redaction import REDACTED, RedactingFilter, Redactor, install

BOT_TOKEN = "xoxb-1111111111-2222222222-AbCdEfGhIjKlMnOp"
SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"
MODEL_KEY = "sk-proj-Zr83Kq0PwXyLm29"
DSN = "postgresql://baton:p%40ss-W0rd!x@db.internal:5432/baton"
ENVIRONMENT = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "SLACK_APP_TOKEN": "xapp-1-A0B1C2-3333333333-deadbeefcafe",
    "OPENAI_API_KEY": MODEL_KEY,
    "TEMPORAL_API_KEY": "tmprl-api-key-0123456789abcdef",
    "BATON_PAYLOAD_KEYS": "k1:c2VjcmV0LWtleS1vbmUtMzI=,k2:c2VjcmV0LWtleS10d28tMzI=",
    "BATON_CHECKPOINTER": DSN,
    "BATON_MODEL": "gpt-4o-mini",
}


@pytest.fixture
def redactor() -> Redactor:
    return Redactor.from_variables(ENVIRONMENT)


@pytest.fixture
def installed(redactor: Redactor) -> Iterator[Redactor]:
    """`redactor` installed as the process's, and the previous one back afterwards."""
    previous = redaction.current()
    install(redactor, logger=logging.getLogger("no-handlers-here"))
    try:
        yield redactor
    finally:
        install(previous, logger=logging.getLogger("no-handlers-here"))


@pytest.mark.parametrize("secret", [
    BOT_TOKEN, SIGNING_SECRET, "xapp-1-A0B1C2-3333333333-deadbeefcafe", MODEL_KEY, "tmprl-api-key-0123456789abcdef",
    "c2VjcmV0LWtleS1vbmUtMzI=", "c2VjcmV0LWtleS10d28tMzI=", "p%40ss-W0rd!x", "p@ss-W0rd!x",
])
def test_every_configured_secret_is_removed_wherever_it_stands(redactor: Redactor, secret: str) -> None:
    for text in (secret, f"before {secret} after", f"x={secret};", json.dumps({"value": secret})):
        scrubbed = redactor.scrub(text)
        assert secret not in scrubbed and REDACTED in scrubbed, (text, scrubbed)


def test_only_the_password_of_the_checkpointer_dsn_is_secret(redactor: Redactor) -> None:
    assert redactor.scrub(f"cannot open {DSN}") == f"cannot open postgresql://baton:{REDACTED}@db.internal:5432/baton"
    assert redactor.scrub("checkpoints in /var/lib/baton/checkpoints.sqlite") == (
        "checkpoints in /var/lib/baton/checkpoints.sqlite")


@pytest.mark.parametrize(("text", "expected"), [
    ("token xoxb-9999999999-8888888888-ZyXwVuTs in a log", f"token {REDACTED} in a log"),
    ("user token xoxp-1-2-3-abcdefabcdef", f"user token {REDACTED}"),
    ("refresh xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4", f"refresh {REDACTED}"),
    ("app token xapp-1-A111-222-abcdef0123", f"app token {REDACTED}"),
    ("Incorrect API key provided: sk-abc123def456ghi789.", f"Incorrect API key provided: {REDACTED}"),
    ("masked sk-proj-********************abcd", f"masked {REDACTED}"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", f"Authorization: {REDACTED}"),
    ("headers {'Authorization': 'Basic dXNlcjpwYXNz'}", f"headers {{'Authorization': '{REDACTED}'}}"),
    ('{"authorization": "Token abcdef123456"}', f'{{"authorization": "{REDACTED}"}}'),
    ("sent Bearer abcdefghijklmnop to the proxy", f"sent Bearer {REDACTED} to the proxy"),
    ("postgresql://report:hunter2hunter2@warehouse:5432/sales", f"postgresql://report:{REDACTED}@warehouse:5432/sales"),
    ("amqp://guest:guest-pw@rabbit/", f"amqp://guest:{REDACTED}@rabbit/"),
])
def test_common_token_shapes_are_removed_without_any_configuration(text: str, expected: str) -> None:
    assert Redactor().scrub(text) == expected


@pytest.mark.parametrize("text", [
    "must be a bot token (xoxb-...)",
    "https://temporal.internal:7233/namespaces/default",
    "postgresql://baton@db.internal:5432/baton",
    "risk-assessment task-7f3a sk-learn",
    "The model provider rejected Baton's API key (401). Check OPENAI_API_KEY.",
    "",
])
def test_ordinary_text_is_left_alone(redactor: Redactor, text: str) -> None:
    assert redactor.scrub(text) == text


def test_values_too_short_to_be_secrets_are_not_searched_for() -> None:
    redactor = Redactor.from_variables({"SLACK_SIGNING_SECRET": "abc", "OPENAI_API_KEY": "test"})
    assert redactor.secrets == frozenset()
    assert redactor.scrub("a test of abc") == "a test of abc"


def test_a_secret_inside_a_json_string_is_found_in_its_escaped_form() -> None:
    secret = 'pa"ss\\word-123'
    redactor = Redactor([secret])
    assert secret not in redactor.scrub(f"raw {secret}")
    assert json.dumps(secret)[1:-1] not in redactor.scrub(json.dumps({"password": secret}))


def _logger_with_stream(redactor: Redactor | None, formatter: logging.Formatter | None = None,
                        ) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter or logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter(redactor))
    logger = logging.getLogger(f"test-redaction-{id(stream)}")
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.DEBUG
    return logger, stream


def test_the_filter_scrubs_messages_arguments_and_every_exception_in_a_traceback(redactor: Redactor) -> None:
    logger, stream = _logger_with_stream(redactor)
    logger.info("calling Slack with %s and %r", BOT_TOKEN, {"key": MODEL_KEY})
    try:
        try:
            raise ConnectionError(f"refused {DSN}")
        except ConnectionError as inner:
            raise RuntimeError(f"signing with {SIGNING_SECRET}") from inner
    except RuntimeError:
        logger.exception("failed with %s", MODEL_KEY)
    logger.warning("stack", stack_info=True, extra={"unused": BOT_TOKEN})
    output = stream.getvalue()
    for secret in (BOT_TOKEN, MODEL_KEY, SIGNING_SECRET, "p%40ss-W0rd!x"):
        assert secret not in output, output
    assert "ConnectionError: refused postgresql://baton:[redacted]@db.internal" in output
    assert "RuntimeError: signing with [redacted]" in output
    assert "The above exception was the direct cause" in output, "the traceback itself is kept"


def test_the_filter_never_raises_on_a_bad_format_string(redactor: Redactor) -> None:
    logger, stream = _logger_with_stream(redactor)
    logger.info("two %s %s but one argument", MODEL_KEY)
    assert MODEL_KEY not in stream.getvalue() and "two %s %s but one argument" in stream.getvalue()


def test_the_workers_json_logs_carry_the_scrubbed_traceback(redactor: Redactor) -> None:
    from workers.logs import JsonFormatter

    logger, stream = _logger_with_stream(redactor, JsonFormatter())
    try:
        raise ValueError(f"bad key {MODEL_KEY}")
    except ValueError:
        logger.exception("boom %s", BOT_TOKEN)
    entry = json.loads(stream.getvalue())
    assert entry["message"] == f"boom {REDACTED}"
    assert f"ValueError: bad key {REDACTED}" in entry["exc"]


def test_a_filter_without_its_own_redactor_follows_the_installed_one(installed: Redactor) -> None:
    logger, stream = _logger_with_stream(None)
    logger.info("secret %s", SIGNING_SECRET)
    assert stream.getvalue() == f"INFO secret {REDACTED}\n"
    assert redaction.scrub(f"key={MODEL_KEY}") == f"key={REDACTED}"


def test_install_puts_one_filter_on_each_handler_of_the_logger() -> None:
    logger = logging.getLogger("test-redaction-install")
    handlers = [logging.NullHandler(), logging.NullHandler()]
    logger.handlers = list(handlers)
    previous = redaction.current()
    try:
        install(Redactor(), logger=logger)
        install(Redactor(), logger=logger)
    finally:
        install(previous, logger=logger)
        logger.handlers = []
    assert [sum(isinstance(f, RedactingFilter) for f in h.filters) for h in handlers] == [1, 1]


def test_the_worker_reads_its_secrets_from_its_settings_not_only_the_environment() -> None:
    from workers.config import WorkerSettings
    from workers.logs import worker_redactor

    settings = WorkerSettings(openai_api_key="sk-from-the-yaml-file-123456", checkpointer=DSN)
    redactor = worker_redactor(settings, environ={"SLACK_BOT_TOKEN": BOT_TOKEN})
    assert {"sk-from-the-yaml-file-123456", "p%40ss-W0rd!x", "p@ss-W0rd!x", BOT_TOKEN} <= redactor.secrets



def test_each_otlp_header_value_is_secret_since_tracing_vendors_put_their_api_key_there() -> None:
    headers = "x-honeycomb-team=hc-key-0123456789,x-dataset=baton%20prod"
    redactor = Redactor.from_variables({"OTEL_EXPORTER_OTLP_HEADERS": headers})
    line = "exporting with x-honeycomb-team=hc-key-0123456789 to dataset baton prod"
    assert redactor.scrub(line) == "exporting with x-honeycomb-team=[redacted] to dataset [redacted]"
