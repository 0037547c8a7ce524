"""Shared building blocks for every Baton contract: the base model and bounded string types.

Contracts cross process boundaries (Slack bot, Temporal, workers), so every model forbids unknown fields and
every string and list has an upper bound: a malformed or hostile payload is refused at the edge with a readable
error instead of travelling into a workflow history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, StringConstraints, model_serializer

MAX_REQUEST_TEXT = 8_000
"""Characters of free text a person may send as one request (Slack's own message limit is 40k; ours is tighter)."""

MAX_SHORT_TEXT = 500
MAX_LONG_TEXT = 20_000
MAX_EVENTS_KEPT = 20
"""Progress events kept in a status: enough for a thread's story, small enough for a Temporal payload."""

AGENT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"
TASK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"
"""Named so that the `/baton` grammar refuses exactly what the contracts would, with its own words, before any call."""

AgentName = Annotated[str, StringConstraints(pattern=AGENT_NAME_PATTERN)]
TaskId = Annotated[str, StringConstraints(pattern=TASK_ID_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=MAX_SHORT_TEXT)]
LongText = Annotated[str, StringConstraints(max_length=MAX_LONG_TEXT)]
RequestText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_REQUEST_TEXT)]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def utc_now() -> datetime:
    """Wall-clock now for code outside workflows (workflows use ``workflow.now()``)."""
    return datetime.now(UTC)


class Contract(BaseModel):
    """Base of every contract: strict about unknown fields, frozen so a received payload cannot drift."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class GrownContract(Contract):
    """A V1 that gained optional fields after it shipped (`added_fields`). They are left out of its JSON while
    unused, so a process that predates them (a bot or worker mid-upgrade, or after a rollback), whose V1 forbids
    unknown fields, still reads every payload that does not use them; readers fill in the defaults."""

    added_fields: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_unused_added_fields(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        return {key: value for key, value in data.items() if key not in self.added_fields or value not in (None, [])}
