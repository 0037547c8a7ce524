"""Events API redeliveries: Slack resends an event (same `event_id`) when it saw no 2xx within 3 seconds, and bolt
does not drop them.

Two lines of defence. `EventDedupe` is the cheap first one, in this process's memory, so it forgets everything on a
restart and knows nothing of other replicas. The thread is the durable one: each answer carries message metadata
naming the event it answers (`reply_metadata`), and a retry looks for it there (`answered_in_thread`) before the
front agent (and its model) runs again. Behind both, the task id derived from the message's Slack identity makes
Temporal refuse a second task.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["REPLY_EVENT", "EventDedupe", "answered_in_thread", "reply_metadata"]

log = logging.getLogger(__name__)
REPLY_EVENT = "baton_reply"
"""The metadata event_type on the front agent's answers."""
_MAX_PAGES = 5
"""Slack retries within minutes of the event; more than 1,000 replies since then is not a thread worth scanning."""


class EventDedupe:
    def __init__(self, max_entries: int = 50_000, ttl_s: float = 3600.0) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl_s

    def first_time(self, event_id: str) -> bool:
        """True the first time an id is seen (and remembers it); False for a redelivery."""
        now = time.monotonic()
        while self._seen and (len(self._seen) >= self._max or now - next(iter(self._seen.values())) > self._ttl):
            self._seen.popitem(last=False)
        if event_id in self._seen:
            return False
        self._seen[event_id] = now
        return True


def reply_metadata(event_id: str) -> dict[str, Any]:
    """Slack message metadata marking an answer to the event `event_id`."""
    return {"event_type": REPLY_EVENT, "event_payload": {"event_id": event_id}}


async def answered_in_thread(client: AsyncWebClient, channel: str, thread_ts: str, event_id: str,
                             since_ts: str) -> bool:
    """True when thread `thread_ts` holds an answer to `event_id` posted at or after `since_ts` (the event's ts).

    A thread Slack will not show counts as unanswered: answering twice is better than never answering (and the
    second answer starts no second task).
    """
    try:
        pages = await client.conversations_replies(channel=channel, ts=thread_ts, oldest=since_ts, inclusive=True,
                                                   limit=200, include_all_metadata=True)
        seen = 0
        async for page in pages:
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == REPLY_EVENT and payload.get("event_id") == event_id:
                    return True
            seen += 1
            if seen >= _MAX_PAGES:
                break
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        reason = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
        log.warning("Cannot read thread %s/%s to check for an earlier answer to %s (%s); answering", channel,
                    thread_ts, event_id, reason)
    return False
