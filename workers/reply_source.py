"""Where an agent's run reads the replies people wrote in its task's thread: the workflow's `thread_replies` query.

A failed read fails nothing: the agent runs on, and the next step boundary (or the next run) reads again; the
replies stay in the workflow meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from contracts import names
from contracts.thread_reply import ThreadRepliesV1, ThreadReplyV1

__all__ = ["WorkflowReplies"]

log = logging.getLogger(__name__)


class WorkflowReplies:
    """A `runner.ReplySource` for the workflow behind `handle`."""

    def __init__(self, handle: WorkflowHandle[Any, Any], timeout_s: float = 5.0) -> None:
        self._handle = handle
        self._timeout = timedelta(seconds=timeout_s)

    async def __call__(self) -> Sequence[ThreadReplyV1]:
        try:
            held = await self._handle.query(names.THREAD_REPLIES_QUERY, result_type=ThreadRepliesV1,
                                            rpc_timeout=self._timeout)
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as exc:
            log.warning("Could not read the thread's replies for %s: %s", self._handle.id, type(exc).__name__)
            return ()
        return held.replies
