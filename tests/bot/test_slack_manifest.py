"""The Slack app manifest declares what the bot uses: the command, the events it handles, the scopes of its calls."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.listeners.events import MEMBERSHIP_EVENTS

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "slack" / "manifest.yaml"


def test_manifest_declares_the_command_events_interactivity_home_and_scopes() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    assert [c["command"] for c in features["slash_commands"]] == ["/baton"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "app_home_opened", "message.im",
                                                                  *MEMBERSHIP_EVENTS}
    assert settings["interactivity"]["is_enabled"] is True
    urls = {features["slash_commands"][0]["url"], settings["event_subscriptions"]["request_url"],
            settings["interactivity"]["request_url"]}
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "app_mentions:read", "im:history", "files:write", "usergroups:read"} <= scopes
    assert {"channels:read", "groups:read", "im:read", "mpim:read"} <= scopes, "conversations.members"
