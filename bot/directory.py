"""Slack user groups, resolved through `usergroups.users.list` and cached: approval policies may name groups, and
the workflow cannot call Slack, so the bot resolves a decider's groups and sends them with the decision."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["UserGroupDirectory"]

log = logging.getLogger(__name__)


class UserGroupDirectory:
    def __init__(self, client: AsyncWebClient, ttl_s: float = 300.0) -> None:
        self._client = client
        self._ttl = ttl_s
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def members(self, group_id: str) -> frozenset[str]:
        """Members of a group; a group Slack cannot resolve has no members (a refusal, never a grant)."""
        cached = self._members.get(group_id)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        lock = self._locks.setdefault(group_id, asyncio.Lock())
        async with lock:
            cached = self._members.get(group_id)
            if cached and time.monotonic() - cached[0] < self._ttl:
                return cached[1]
            try:
                response = await self._client.usergroups_users_list(usergroup=group_id)
                members = frozenset(response.get("users") or [])
            except SlackApiError as exc:
                log.warning("Cannot resolve user group %s: %s", group_id, exc.response.get("error"))
                return frozenset()
            self._members[group_id] = (time.monotonic(), members)
            return members

    async def groups_of(self, user_id: str, candidates: Sequence[str]) -> list[str]:
        """Which of `candidates` (a policy's approver groups) the user belongs to."""
        found = []
        for group_id in candidates:
            if user_id in await self.members(group_id):
                found.append(group_id)
        return found
