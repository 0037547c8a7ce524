"""Who is in a Slack conversation, resolved through `conversations.members` and cached per channel for a short TTL.

A task is visible to the members of the conversation it was started in, and the workflow cannot call Slack, so the
bot asks. The answer is cached (BATON_MEMBERS_TTL_S) because one App Home or `/baton list` reads many tasks from few
channels, and forgotten at once when Slack says someone joined or left (listeners/events.py). Each replica keeps its
own cache and sees only the events Slack sends it: on another replica a departure takes effect within the TTL.

Every doubt is a refusal: a channel Slack will not list (an error, a timeout, a private channel the bot is not in)
has no members, and past `max_pages` pages the members not yet listed are not members either. One warning names
the channel; a member then sees "not found" until Slack answers again.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["ConversationMembers"]

log = logging.getLogger(__name__)


class ConversationMembers:
    def __init__(self, client: AsyncWebClient, ttl_s: float = 60.0, page_size: int = 200, max_pages: int = 50) -> None:
        self._client = client
        self._ttl = ttl_s
        self._page_size = page_size
        """Slack returns at most 1,000 a page and advises 200."""
        self._max_pages = max_pages
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._forgotten: dict[str, int] = {}
        """How often each channel was forgotten: a lookup that a departure overtook is not cached."""

    async def includes(self, channel_id: str, user_id: str, requester_id: str) -> bool:
        """Whether `user_id` is in the conversation `channel_id` that `requester_id` started a task in.

        A DM's members are its requester and the bot, without asking Slack: a `/baton` command may be typed in a DM
        between two people, which the bot cannot list, and the other person did not ask for the task."""
        if channel_id.startswith("D"):
            return user_id == requester_id
        return user_id in await self.members(channel_id)

    async def members(self, channel_id: str) -> frozenset[str]:
        """The conversation's members, from the cache while it is fresh; concurrent readers share one lookup."""
        fresh = self._fresh(channel_id)
        if fresh is not None:
            return fresh
        async with self._locks.setdefault(channel_id, asyncio.Lock()):
            fresh = self._fresh(channel_id)
            if fresh is not None:
                return fresh
            generation = self._forgotten.get(channel_id, 0)
            members = await self._look_up(channel_id)
            if members is None:
                return frozenset()  # not cached: the next read asks Slack again
            if generation == self._forgotten.get(channel_id, 0):
                self._members[channel_id] = (time.monotonic(), members)
            return members

    def forget(self, channel_id: str) -> None:
        """Drop the cached members of `channel_id`: someone joined or left, or the bot was removed."""
        self._members.pop(channel_id, None)
        self._forgotten[channel_id] = self._forgotten.get(channel_id, 0) + 1

    def _fresh(self, channel_id: str) -> frozenset[str] | None:
        cached = self._members.get(channel_id)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        return None

    async def _look_up(self, channel_id: str) -> frozenset[str] | None:
        """Every page of `conversations.members`, or None when Slack did not answer (one warning)."""
        found: set[str] = set()
        cursor: str | None = None
        try:
            for _ in range(self._max_pages):
                page = await self._client.conversations_members(channel=channel_id, limit=self._page_size,
                                                                 cursor=cursor)
                found.update(m for m in page.get("members") or [] if isinstance(m, str))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    return frozenset(found)
        except SlackApiError as exc:
            log.warning("Cannot list the members of %s (Slack answered %s): nobody there sees its tasks",
                        channel_id, exc.response.get("error"))
            return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("Cannot list the members of %s (%s): nobody there sees its tasks", channel_id,
                        type(exc).__name__)
            return None
        log.warning("%s has more than %d members: only the first %d see its tasks", channel_id,
                    self._max_pages * self._page_size, len(found))
        return frozenset(found)
