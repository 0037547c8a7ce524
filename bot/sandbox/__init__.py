"""The offline Slack: a fake Web API (tests' Slack, and the browser sandbox's) and signed delivery to the bot."""

from __future__ import annotations

from bot.sandbox.changes import ChangeStream
from bot.sandbox.delivery import DEFAULT_SIGNING_SECRET, DeliveryResult, SlackDelivery
from bot.sandbox.fake_slack import DEFAULT_BOT_TOKEN, DEFAULT_CHANNELS, FakeSlackApi
from bot.sandbox.recording import RecordedCall
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
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_CHANNELS",
    "DEFAULT_SIGNING_SECRET",
    "DEFAULT_USERGROUPS",
    "DEFAULT_USERS",
    "ChangeStream",
    "DeliveryResult",
    "Ephemeral",
    "FakeSlackApi",
    "Message",
    "RecordedCall",
    "SlackDelivery",
    "SlackUser",
    "SlackUserGroup",
    "StateChange",
    "UploadedFile",
    "View",
]
