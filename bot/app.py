"""The app factory: a slack-bolt AsyncApp wired to Baton's gateway and conversations, with Slack's rate limits waited
out."""

from __future__ import annotations

from collections.abc import Sequence

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from baton.conversations import Conversations
from baton.gateway import TaskGateway
from bot.blocks import TaskLinks
from bot.catalog import DEFAULT_AGENTS
from bot.directory import UserGroupDirectory
from bot.listeners import register_listeners
from bot.members import ConversationMembers
from bot.middleware import install_middleware, workspace_check
from bot.services import BotServices
from bot.settings import BotSettings
from contracts import AgentInfoV1

__all__ = ["build_app", "build_client"]


def build_client(settings: BotSettings) -> AsyncWebClient:
    """The Web API client for SLACK_API_URL; 429s are retried after Retry-After (slack_sdk retries only connection
    errors by default)."""
    client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=5))
    return client


def build_app(settings: BotSettings, gateway: TaskGateway, *, client: AsyncWebClient | None = None,
              agents: Sequence[AgentInfoV1] = DEFAULT_AGENTS, namespace: str = "default",
              temporal_ui_url: str | None = None,
              process_before_response: bool = False) -> tuple[AsyncApp, BotServices]:
    """The app and its services. `process_before_response` (a serverless front door: nothing runs after the
    response) makes bolt finish every listener before it answers, the events' too."""
    client = client or build_client(settings)
    services = BotServices(
        settings=settings,
        gateway=gateway,
        directory=UserGroupDirectory(client),
        members=ConversationMembers(client, settings.baton_members_ttl_s),
        links=TaskLinks(settings.baton_temporal_ui_url or temporal_ui_url, namespace),
        conversations=Conversations(gateway.client, gateway.task_queue),
        agents=agents,
    )
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=not settings.socket_mode,
        before_authorize=workspace_check(services),
        # An unhandled request goes to the error handler (one line, an ack) instead of bolt's 404 and a warning
        # that quotes the payload.
        raise_error_for_unhandled_request=True,
        process_before_response=process_before_response,
    )
    install_middleware(app, services)
    register_listeners(app, services)
    return app, services
