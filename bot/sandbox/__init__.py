"""The offline Slack: a fake Web API (tests' Slack, and the browser sandbox's) and signed delivery to the bot."""

from __future__ import annotations

from bot.sandbox.changes import ChangeStream
from bot.sandbox.fake_slack import DEFAULT_BOT_TOKEN, DEFAULT_CHANNELS, FakeSlackApi, RecordedCall
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
    "DEFAULT_USERGROUPS",
    "DEFAULT_USERS",
    "ChangeStream",
    "Ephemeral",
    "FakeSlackApi",
    "Message",
    "RecordedCall",
    "SlackUser",
    "SlackUserGroup",
    "StateChange",
    "UploadedFile",
    "View",
]
