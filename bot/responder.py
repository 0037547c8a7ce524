"""Answers through a request's `response_url` (slash commands), on one shared HTTP session.

bolt's `respond` builds a new aiohttp session, and so a new connection (a TLS handshake against hooks.slack.com),
for every answer; under a burst of commands that CPU competes with acknowledging the next requests. One session
keeps connections alive and reuses them.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

__all__ = ["Responder"]

log = logging.getLogger(__name__)


class Responder:
    def __init__(self, timeout_s: int = 30) -> None:
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def send(self, response_url: str, text: str, blocks: list[dict[str, Any]] | None = None,
                   response_type: str = "ephemeral") -> bool:
        """Post one answer; False (logged) when Slack refused it or could not be reached."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout_s))
        client = AsyncWebhookClient(response_url, timeout=self._timeout_s, session=self._session)
        try:
            response = await client.send(text=text, blocks=blocks, response_type=response_type)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("Could not answer through response_url: %s", type(exc).__name__)
            return False
        if response.status_code != 200:
            log.warning("response_url answered %s", response.status_code)
            return False
        return True

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
