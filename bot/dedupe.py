"""Drops Events API redeliveries: Slack resends an event (same `event_id`) when it saw no 2xx within 3 seconds,
and bolt does not drop them. This is the cheap first line; the task id derived from the Slack identity of the
message is the guarantee (Temporal refuses a second workflow with that id), across replicas and restarts."""

from __future__ import annotations

import time
from collections import OrderedDict

__all__ = ["EventDedupe"]


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
