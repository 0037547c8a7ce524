"""The offline Slack: a fake Web API (tests' Slack, and the browser sandbox's), its Socket Mode side, signed delivery
to the bot, and the browser sandbox that `baton dev` starts without a workspace.

Every submodule imports its siblings directly (never this package), so importing any of them first is safe.
"""

from __future__ import annotations

from bot.sandbox.changes import ChangeStream
from bot.sandbox.delivery import DEFAULT_SIGNING_SECRET, DeliveryResult, SlackDelivery
from bot.sandbox.fake_slack import DEFAULT_APP_TOKEN, DEFAULT_BOT_TOKEN, DEFAULT_CHANNELS, FakeSlackApi
from bot.sandbox.recording import RecordedCall
from bot.sandbox.socket_mode import FakeSocketMode
from bot.sandbox.web_run import Sandbox, SandboxSecrets, run_sandbox
from bot.sandbox.workspace import (
    DEFAULT_USERGROUPS,
    DEFAULT_USERS,
    Ephemeral,
    Message,
    SlackUser,
    SlackUserGroup,
    StateChange,
    UploadedFile,
    View,
)

__all__ = [
    "DEFAULT_APP_TOKEN",
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_CHANNELS",
    "DEFAULT_SIGNING_SECRET",
    "DEFAULT_USERGROUPS",
    "DEFAULT_USERS",
    "ChangeStream",
    "DeliveryResult",
    "Ephemeral",
    "FakeSlackApi",
    "FakeSocketMode",
    "Message",
    "RecordedCall",
    "Sandbox",
    "SandboxSecrets",
    "SlackDelivery",
    "SlackUser",
    "SlackUserGroup",
    "StateChange",
    "UploadedFile",
    "View",
    "run_sandbox",
]
