"""Where the bot's /slack/events would be: a real HTTP endpoint that checks signatures with slack_sdk's verifier."""

from __future__ import annotations

from dataclasses import dataclass, field

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    valid: bool


@dataclass
class SignedReceiver:
    """Stands where the bot's /slack/events is: checks signatures with slack_sdk's verifier, 401 when wrong."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answer: str = ""
