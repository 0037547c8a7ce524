"""The Slack app manifests ask for exactly what bot/ uses, and each tells the truth about its mode.

What the code uses is read from the code: the Slack Web API methods bot/ calls (any call of an `AsyncWebClient`
method, found in the syntax tree, and bolt's `say`), the events and the command its listeners register (a recording
app handed to `register_listeners`). The scopes those need come from the small table below, written from Slack's
method and event reference pages; a method or event missing from the table fails the test, naming it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners import register_listeners
from bot.services import BotServices

ROOT = Path(__file__).resolve().parents[2]
SLACK = ROOT / "deploy" / "slack"
SOCKET_MODE, HTTP_MODE = SLACK / "manifest.yaml", SLACK / "manifest.http.yaml"

CONVERSATION_READ = frozenset({"channels:read", "groups:read", "im:read", "mpim:read"})
CONVERSATION_HISTORY = frozenset({"channels:history", "groups:history", "im:history", "mpim:history"})
"""Baton works in public and private channels, DMs and group DMs, so a conversations.* call needs each type's scope."""

METHOD_SCOPES: dict[str, frozenset[str]] = {
    # chat:write.public: /baton run in a public channel Baton was not invited to still gets its status message.
    "chat_postMessage": frozenset({"chat:write", "chat:write.public"}),
    "chat_update": frozenset({"chat:write"}),
    "chat_postEphemeral": frozenset({"chat:write"}),
    "chat_delete": frozenset({"chat:write"}),
    # Streamed answers (chat.startStream is tier 2, appendStream tier 4, stopStream tier 2).
    "chat_startStream": frozenset({"chat:write"}),
    "chat_appendStream": frozenset({"chat:write"}),
    "chat_stopStream": frozenset({"chat:write"}),
    "conversations_history": CONVERSATION_HISTORY,
    "conversations_replies": CONVERSATION_HISTORY,
    "conversations_members": CONVERSATION_READ,
    "files_upload_v2": frozenset({"files:write"}),  # files.getUploadURLExternal + files.completeUploadExternal
    "usergroups_users_list": frozenset({"usergroups:read"}),
    "reactions_add": frozenset({"reactions:write"}),
    "views_open": frozenset(),
    "views_publish": frozenset(),
    "auth_test": frozenset(),
    "apps_connections_open": frozenset(),  # the app-level token's connections:write, not a bot scope
    # assistant.threads.setStatus now asks for chat:write (assistant:write is accepted until Slack drops it).
    "assistant_threads_setStatus": frozenset({"chat:write"}),
    "assistant_threads_setSuggestedPrompts": frozenset({"assistant:write"}),
    "assistant_threads_setTitle": frozenset({"assistant:write"}),
    # A task's phase on its thread's agent session. The method page: "a token bearing the chat:write scope", a
    # granular bot token; the agent-sessions guide: chat:write manages thread-based sessions (declaring the app an
    # agent is what adds assistant:write).
    "agents_sessions_setStatus": frozenset({"chat:write"}),
}
MESSAGE_SUBSCRIPTIONS: dict[str, frozenset[str]] = {
    # A bolt "message" listener hears the message.* subscriptions the manifest asks for; which ones depends on what the
    # listener answers, so it is told here by the module that registers it.
    "bot.listeners.events": frozenset({"message.im"}),  # DMs only: in channels Baton answers mentions (app_mention)
    "bot.listeners.thread_replies": frozenset(  # a reply in a task's thread, wherever the task was started
        {"message.channels", "message.groups", "message.mpim", "message.im"}
    ),
}
EVENT_SCOPES: dict[str, frozenset[str]] = {
    "app_mention": frozenset({"app_mentions:read"}),
    "message.im": frozenset({"im:history"}),
    "message.channels": frozenset({"channels:history"}),
    "message.groups": frozenset({"groups:history"}),
    "message.mpim": frozenset({"mpim:history"}),
    "app_home_opened": frozenset(),
    "member_joined_channel": frozenset({"channels:read", "groups:read"}),
    "member_left_channel": frozenset({"channels:read", "groups:read"}),
    "channel_left": frozenset({"channels:read"}),
    "group_left": frozenset({"groups:read"}),
    "assistant_thread_started": frozenset({"assistant:write"}),
    "assistant_thread_context_changed": frozenset({"assistant:write"}),
    # The only event agent sessions deliver (payload: channel, thread_ts, user, streaming_message_ts, event_ts). Its
    # page lists no required scope, only the subscription, without which setStatus warns
    # missing_agent_session_stopped_event_subscription.
    "agent_session_stopped": frozenset(),
}
ASSISTANT_EVENTS = frozenset({"assistant_thread_started", "assistant_thread_context_changed", "message.im"})
"""What bolt's Assistant middleware (`app.assistant`) listens to: a person's message in its thread is a DM."""
BOLT_HELPERS = {"say": "chat_postMessage", "set_suggested_prompts": "assistant_threads_setSuggestedPrompts",
                "set_title": "assistant_threads_setTitle", "set_status": "assistant_threads_setStatus"}
"""bolt's injected helpers (a listener argument of that name) and the Web API method each calls."""
INTERACTIVE = frozenset({"action", "block_action", "view", "view_submission", "view_closed", "shortcut", "options"})


class RecordingApp:
    """Stands in for bolt's AsyncApp: records every listener registration (`app.event("x")(listener)`,
    `app.command(...)`, ...) with the module of the listener it registers."""

    def __init__(self) -> None:
        self.registered: list[tuple[str, object, str]] = []

    def __getattr__(self, kind: str) -> Callable[..., Callable[[Any], Any]]:
        def register(matcher: object, *args: object, **kwargs: object) -> Callable[[Any], Any]:
            def decorate(listener: Any) -> Any:
                self.registered.append((kind, matcher, str(getattr(listener, "__module__", "?"))))
                return listener

            return decorate

        return register

    def assistant(self, assistant: object) -> None:
        self.registered.append(("assistant", assistant, "bot.assistant"))

    def matchers(self, kind: str) -> set[str]:
        found = {matcher for k, matcher, _ in self.registered if k == kind}
        assert all(isinstance(m, str) for m in found), f"a non-literal {kind} matcher: extend this test ({found})"
        return cast(set[str], found)

    def subscriptions(self) -> set[str]:
        """The manifest's bot_events these listeners need: an event's own name, or for a "message" listener the
        message.* subscriptions its module answers."""
        found: set[str] = set()
        for kind, event, module in self.registered:
            if kind == "assistant":
                found |= ASSISTANT_EVENTS
            if kind != "event":
                continue
            if event != "message":
                found.add(str(event))
                continue
            assert module in MESSAGE_SUBSCRIPTIONS, f"{module} listens to messages: add it to MESSAGE_SUBSCRIPTIONS"
            found |= MESSAGE_SUBSCRIPTIONS[module]
        return found


def registered_listeners() -> RecordingApp:
    app = RecordingApp()
    register_listeners(cast(Any, app), cast(BotServices, SimpleNamespace(settings=SimpleNamespace())))
    return app


def web_api_methods_called() -> set[str]:
    """Every AsyncWebClient method bot/ calls, by its Python name; bolt's `say` is chat.postMessage."""
    called: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                if name == "api_call" and node.args and isinstance(node.args[0], ast.Constant):
                    called.add(str(node.args[0].value).replace(".", "_"))
                elif not name.startswith("_") and name != "api_call" and callable(getattr(AsyncWebClient, name, None)):
                    called.add(name)
            elif isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
                called |= {BOLT_HELPERS[a.arg] for a in node.args.args if a.arg in BOLT_HELPERS}
    return called


def load(path: Path) -> dict[str, Any]:
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(manifest, dict)
    return manifest


def test_the_code_is_read_the_way_this_test_expects() -> None:
    """A guard on the derivation itself: the calls and listeners known to exist are found."""
    assert {"chat_postMessage", "chat_update", "conversations_members", "views_publish"} <= web_api_methods_called()
    app = registered_listeners()
    assert {"app_mention", "message", "app_home_opened", "member_joined_channel"} <= app.matchers("event")
    assert app.matchers("command") == {"/baton"}


@pytest.mark.parametrize("path", [SOCKET_MODE, HTTP_MODE], ids=lambda p: p.name)
def test_the_manifest_asks_for_every_scope_event_and_command_the_code_uses_and_nothing_more(path: Path) -> None:
    manifest = load(path)
    app = registered_listeners()
    methods = web_api_methods_called()
    unknown = sorted(methods - METHOD_SCOPES.keys())
    assert not unknown, f"bot/ calls {unknown}: add them to METHOD_SCOPES with the scopes Slack's reference lists"
    events = app.subscriptions()
    assert not events - EVENT_SCOPES.keys(), f"add {sorted(events - EVENT_SCOPES.keys())} to EVENT_SCOPES"

    commands = app.matchers("command")
    needed = {scope for method in methods for scope in METHOD_SCOPES[method]}
    needed |= {scope for event in events for scope in EVENT_SCOPES[event]}
    needed |= {"commands"} if commands else set()

    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes)), "a scope is listed twice"
    assert not needed - set(scopes), f"{path.name} lacks scopes the code needs: {sorted(needed - set(scopes))}"
    assert not set(scopes) - needed, f"{path.name} asks for scopes nothing uses: {sorted(set(scopes) - needed)}"
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == events
    assert {c["command"] for c in manifest["features"]["slash_commands"]} == commands

    interactive = any(kind in INTERACTIVE for kind, _, _ in app.registered)
    assert manifest["settings"]["interactivity"]["is_enabled"] is interactive
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is ("app_home_opened" in events and "views_publish" in methods)
    assert home["messages_tab_enabled"] is ("message.im" in events)
    assistant = any(kind == "assistant" for kind, _, _ in app.registered)
    assert ("assistant_view" in manifest["features"]) is assistant, "the assistant pane is on iff bot/ registers one"
    if "agents_sessions_setStatus" in methods:  # Slack's Stop on a session reaches only an app subscribed to it
        assert "agent_session_stopped" in events and "assistant:write" in scopes


def _header(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines[: next(i for i, x in enumerate(lines) if not x.startswith("#"))])


def _request_urls(manifest: dict[str, Any]) -> list[str | None]:
    settings = manifest["settings"]
    return [
        *(command.get("url") for command in manifest["features"]["slash_commands"]),
        settings["event_subscriptions"].get("request_url"),
        settings["interactivity"].get("request_url"),
    ]


def test_the_socket_mode_manifest_says_so_and_has_no_request_urls() -> None:
    manifest = load(SOCKET_MODE)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert _request_urls(manifest) == [None, None, None], "Slack ignores request URLs in Socket Mode: none to edit"
    header = _header(SOCKET_MODE)
    assert header.startswith("# Baton's Slack app, Socket Mode:") and "connections:write" in header
    assert not re.search(r"HTTP mode \(default\)", header)


def test_the_http_manifest_says_so_and_sends_everything_to_slack_events() -> None:
    manifest = load(HTTP_MODE)
    assert manifest["settings"]["socket_mode_enabled"] is False
    urls = _request_urls(manifest)
    assert len(urls) == 3 and set(urls) == {"https://baton.example.com/slack/events"}
    assert _header(HTTP_MODE).startswith("# Baton's Slack app, HTTP mode:")


def test_the_two_manifests_differ_only_in_the_mode_and_the_request_urls() -> None:
    def without_mode(manifest: dict[str, Any]) -> dict[str, Any]:
        for command in manifest["features"]["slash_commands"]:
            command.pop("url", None)
        manifest["settings"]["event_subscriptions"].pop("request_url", None)
        manifest["settings"]["interactivity"].pop("request_url", None)
        manifest["settings"].pop("socket_mode_enabled")
        return manifest

    assert without_mode(load(SOCKET_MODE)) == without_mode(load(HTTP_MODE))
