"""Secret hygiene for every Baton process: scrub configured secrets and token-shaped strings out of text.

A process builds one `Redactor` at start from its settings (`Redactor.from_variables`), then `install`s it: the
`RedactingFilter` goes on the root logger's handlers, so every log line (message, arguments, traceback) is scrubbed,
and `scrub()` uses it wherever foreign text becomes something people or Temporal keep: a failure message, a
payload, a Slack message. Besides the configured values it always removes the shapes of common credentials:

    xoxb-/xoxp-/xoxa-/xoxs-/xoxr-/xoxe-... (Slack tokens)    xapp-... (Slack app tokens)    sk-... (model keys)
    Bearer <token>    Authorization: <value>    scheme://user:<password>@host

Pure standard library (no Temporal, no Slack), so workers, the bot and the CLI all import it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

__all__ = [
    "REDACTED",
    "SECRET_VARIABLES",
    "RedactingFilter",
    "Redactor",
    "current",
    "install",
    "scrub",
]

REDACTED = "[redacted]"

SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "OPENAI_API_KEY",
    "TEMPORAL_API_KEY",
    "BATON_PAYLOAD_KEYS",
    "BATON_CODEC_AUTH_TOKEN",
    "BATON_CHECKPOINTER",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
)
"""The settings whose values are secret (for a DSN, its password; for the payload keys, each key; for the OTLP
headers, which carry a tracing vendor's API key, each header's value)."""

MIN_SECRET_LENGTH = 6
"""Shorter configured values are not searched for: scrubbing every "test" or "1234" from every log line would
destroy the logs, and a value that short is not much of a secret anyway."""

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # A password in a URL or DSN: keep the scheme, user and host, so the line still says where it was going.
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]*:)[^\s@/'\"]+(@)"), rf"\1{REDACTED}\2"),
    # Authorization headers, in HTTP, dict or JSON spelling, whatever the scheme (Bearer, Basic, Token...).
    (re.compile(r"(?i)(\bauthorization['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|basic|token)\s+)?[^\s'\",;}]+"),
     rf"\1{REDACTED}"),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\1{REDACTED}"),
    # Slack tokens (bot, user, legacy workspace, refresh, configuration, app-level).
    (re.compile(r"\bxox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]{8,}"), REDACTED),
    (re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"), REDACTED),
    # OpenAI-style keys (sk-..., sk-proj-...), and the pk-/rk- of other providers; masked echoes (sk-ab***yz) too.
    (re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-*.]{8,}"), REDACTED),
)


class Redactor:
    """Removes known secret values and token shapes from text. Immutable; build one per process at start."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                values.add(secret)
                values.add(json.dumps(secret)[1:-1])  # as it reads inside a JSON string (a payload, a log)
        self._secrets = frozenset(values)
        # Longest first, so a secret that contains another is removed whole.
        ordered = sorted(self._secrets, key=len, reverse=True)
        self._known = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @classmethod
    def from_variables(cls, variables: Mapping[str, str | None], extra: Iterable[str | None] = ()) -> Redactor:
        """The secrets among `variables` (an environment, or a process's settings by variable name), plus `extra`.

        `BATON_CHECKPOINTER` is secret only for its password; `BATON_PAYLOAD_KEYS` ("id:key,id:key") for each key.
        """
        found: list[str | None] = list(extra)
        for name in SECRET_VARIABLES:
            value = variables.get(name)
            if not value:
                continue
            if name == "BATON_CHECKPOINTER":
                found.extend(url_passwords(value))
            elif name.startswith("OTEL_EXPORTER_OTLP"):  # "api-key=abc,x-team=def", values percent-encoded
                found.append(value)
                found.extend(unquote(entry.partition("=")[2]).strip() for entry in value.split(","))
            elif name == "BATON_PAYLOAD_KEYS":
                found.append(value)
                for entry in re.split(r"[,;\s]+", value):
                    found.append(re.split(r"[:=]", entry, maxsplit=1)[-1])
            else:
                found.append(value)
        return cls(found)

    @property
    def secrets(self) -> frozenset[str]:
        """The configured values searched for (as given, and JSON-escaped)."""
        return self._secrets

    def scrub(self, text: str) -> str:
        """`text` with every configured secret and every token shape replaced by "[redacted]"."""
        if not text:
            return text
        if self._known is not None:
            text = self._known.sub(REDACTED, text)
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
        return text


def url_passwords(value: str) -> list[str]:
    """The password of a URL or DSN (as written and percent-decoded), or nothing."""
    try:
        password = urlsplit(value).password
    except ValueError:
        return []
    if not password:
        return []
    return [password, unquote(password)]


class RedactingFilter(logging.Filter):
    """Scrubs a record before any handler formats it: the message with its arguments, the exception's traceback
    (every message in its chain) and the stack. It never drops a record.

    Without a redactor of its own it uses the process's installed one, looked up per record, so a filter put on
    handlers early still knows the secrets `install` is given later."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = self._redactor or current()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, scrubbed, rather than raise into the caller
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redactor.scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redactor.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = redactor.scrub(record.stack_info)
        return True


_FORMATTER = logging.Formatter()
_installed = Redactor()


def install(redactor: Redactor, *, logger: logging.Logger | None = None) -> Redactor:
    """Make `redactor` this process's (for `scrub`) and put a RedactingFilter on every handler of `logger` (the
    root logger by default) that lacks one. Call it after the logging set-up, which creates those handlers."""
    global _installed
    _installed = redactor
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    return redactor


def current() -> Redactor:
    """The installed redactor; before `install`, one that knows no values and removes only token shapes."""
    return _installed


def scrub(text: str) -> str:
    """`text` scrubbed by the process's installed redactor."""
    return _installed.scrub(text)
