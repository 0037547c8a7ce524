"""What a task produced: the article's AgentResultV1."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.common import Contract, LongText, ShortText

Outcome = Literal["success", "rejected", "failed", "cancelled"]


class UsageV1(Contract):
    schema_version: Literal[1] = 1
    llm_calls: int = Field(default=0, ge=0)
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)

    def __add__(self, other: UsageV1) -> UsageV1:
        return UsageV1(
            llm_calls=self.llm_calls + other.llm_calls,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class ArtifactV1(Contract):
    """A named piece of output (a report, a table); large ones become file uploads in Slack."""

    schema_version: Literal[1] = 1
    name: ShortText
    content_type: ShortText = "text/plain"
    content: str = Field(max_length=200_000)


class ErrorInfoV1(Contract):
    schema_version: Literal[1] = 1
    type: ShortText
    message: LongText
    retryable: bool = False


class TaskResultV1(Contract):
    schema_version: Literal[1] = 1
    outcome: Outcome
    summary: LongText = ""
    artifacts: list[ArtifactV1] = Field(default_factory=list, max_length=20)
    usage: UsageV1 = Field(default_factory=UsageV1)
    error: ErrorInfoV1 | None = None
