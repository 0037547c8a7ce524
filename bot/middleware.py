"""Global middleware: refuse other workspaces, drop Events API redeliveries. Both answer 200 so Slack stops
retrying, and neither reaches a listener."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.services import BotServices

__all__ = ["install_middleware"]

log = logging.getLogger(__name__)
FOREIGN_WORKSPACE = "This Baton app serves another Slack workspace; your request was not run."


def install_middleware(app: AsyncApp, services: BotServices) -> None:
    allowed_team = services.settings.baton_slack_team_id

    @app.middleware
    async def only_our_workspace(body: dict[str, Any], context: AsyncBoltContext,
                                 next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        if allowed_team and context.team_id and context.team_id != allowed_team:
            log.warning("Refused a request from workspace %s", context.team_id)
            if body.get("type") == "event_callback":
                return BoltResponse(status=200, body="")
            return BoltResponse(status=200, body=FOREIGN_WORKSPACE)
        await next()
        return None

    @app.middleware
    async def drop_redeliveries(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not services.dedupe.first_time(event_id):
            log.info("Dropped a redelivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        await next()
        return None
