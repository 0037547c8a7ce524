"""Offline stand-ins for the remote services Baton talks to, for `baton dev`, the tests and the benches: the fake
Slack (Web API, Socket Mode side, signed delivery to the bot, and the browser sandbox `baton dev` starts without a
workspace), the scripted OpenAI-compatible model server, and the scripted chat model's shell.

It imports nothing from the project. The product may import only the scripted chat model's shell (the import-boundary
test says so); `baton dev` wires the rest. Every submodule imports its siblings directly (never this package), so
importing any of them first is safe.
"""

from __future__ import annotations

from sandbox.changes import ChangeStream
from sandbox.delivery import DEFAULT_SIGNING_SECRET, DeliveryResult, SlackDelivery
from sandbox.fake_slack import DEFAULT_APP_TOKEN, DEFAULT_BOT_TOKEN, DEFAULT_CHANNELS, FakeSlackApi
from sandbox.recording import RecordedCall
from sandbox.socket_mode import FakeSocketMode
from sandbox.web_run import Sandbox, SandboxSecrets, run_sandbox
from sandbox.workspace import (
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
