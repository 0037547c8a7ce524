"""Start the offline Slack (fake Web API + the browser page) for `baton dev` / `make run` without a workspace.

    secrets = SandboxSecrets.generate()
    async with run_sandbox(secrets=secrets, events_url="http://127.0.0.1:3000/slack/events") as sandbox:
        env = {**os.environ, **sandbox.bot_env()}    # SLACK_API_URL, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, ...
        ... start `python -m bot` with env, then tell the person to open sandbox.url

The bot cannot tell the sandbox from Slack: it is configured with the sandbox's API URL, token and signing secret,
and the sandbox signs every request it sends to the bot's events URL with that secret.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sandbox.delivery import SlackDelivery
from sandbox.fake_slack import FakeSlackApi
from sandbox.web import SandboxWeb

__all__ = [
    "DEFAULT_SANDBOX_PORT",
    "SANDBOX_ADMINS",
    "SANDBOX_APPROVER_GROUPS",
    "Sandbox",
    "SandboxSecrets",
    "run_sandbox",
    "sandbox_port",
]

DEFAULT_SANDBOX_PORT = 3100
SANDBOX_ADMINS = ("U01ALICE",)
"""Alice is the workspace admin: she may approve and cancel anything."""
SANDBOX_APPROVER_GROUPS = ("S01APPROVERS",)
"""@approvers (Alice and Carol) may decide checkpoints; Bob may not, so refusals can be tried."""


@dataclass(frozen=True)
class SandboxSecrets:
    """The bot token and signing secret the sandbox and the bot share; made fresh per run, never printed."""

    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)

    @classmethod
    def generate(cls) -> SandboxSecrets:
        return cls(bot_token=f"xoxb-sandbox-{secrets.token_hex(12)}", signing_secret=secrets.token_hex(32))


@dataclass
class Sandbox:
    """A running sandbox: the fake Slack (tests and the lead's wiring read it), the delivery and the page."""

    slack: FakeSlackApi
    delivery: SlackDelivery
    web: SandboxWeb
    secrets: SandboxSecrets

    @property
    def url(self) -> str:
        """The page to open in a browser."""
        return self.slack.root_url

    @property
    def api_url(self) -> str:
        """SLACK_API_URL for the bot."""
        return self.slack.base_url

    def connect_bot(self, events_url: str) -> None:
        """Point deliveries at the bot (when its port was only known after the sandbox started)."""
        self.delivery.events_url = events_url

    def bot_env(self) -> dict[str, str]:
        """The bot's environment for this sandbox: Slack settings, the workspace, and who approves.

        Contains the sandbox's token and signing secret: pass it to the bot process, never print it."""
        return {
            "SLACK_API_URL": self.api_url,
            "SLACK_BOT_TOKEN": self.secrets.bot_token,
            "SLACK_SIGNING_SECRET": self.secrets.signing_secret,
            "SLACK_APP_TOKEN": "",
            "BATON_SLACK_TEAM_ID": self.slack.team_id,
            "BATON_ADMINS": ",".join(SANDBOX_ADMINS),
            "BATON_APPROVER_GROUPS": ",".join(SANDBOX_APPROVER_GROUPS),
        }


def sandbox_port(default: int = DEFAULT_SANDBOX_PORT) -> int:
    """BATON_SANDBOX_PORT, else 3100."""
    raw = os.environ.get("BATON_SANDBOX_PORT", "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"BATON_SANDBOX_PORT must be a port number, not {raw!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"BATON_SANDBOX_PORT must be between 0 and 65535, not {port}")
    return port


@asynccontextmanager
async def run_sandbox(*, events_url: str = "http://127.0.0.1:3000/slack/events",
                      secrets: SandboxSecrets | None = None, host: str = "127.0.0.1",
                      port: int | None = None) -> AsyncIterator[Sandbox]:
    """The fake Slack Web API and the page on http://host:port/ (port None: BATON_SANDBOX_PORT or 3100; 0: any).

    Binds loopback by default: the sandbox has no authentication, anyone who reaches it acts as any user."""
    shared = secrets or SandboxSecrets.generate()
    slack = FakeSlackApi(bot_token=shared.bot_token, host=host, port=sandbox_port() if port is None else port)
    delivery = SlackDelivery(shared.signing_secret, events_url, slack=slack)
    page = SandboxWeb(slack, delivery)
    await slack.start()
    try:
        yield Sandbox(slack, delivery, page, shared)
    finally:
        await delivery.close()
        await slack.stop()
