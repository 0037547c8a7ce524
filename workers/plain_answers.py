"""How a plain `interrupt()` is answered, declared by the agent's spec rather than guessed by Baton.

A plain interrupt (a string, or a dict that follows no convention) says nothing about the value it wants back, so
Baton offers what the spec declares for the node that asked and resumes with exactly the declared values:

    AgentSpec(..., plain_answers={"review": PlainAnswers(approve=True, reject=False)})

Undeclared, a plain interrupt offers Respond alone: the answer goes to the agent as typed (text as text, JSON as the
parsed value when the person marks it as JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

__all__ = ["NOT_OFFERED", "UNDECLARED_NOTE", "PlainAnswerRefused", "PlainAnswers"]

UNDECLARED_NOTE = "Your answer is passed to the agent as typed: text as text, JSON as its value if you mark it as JSON."


class _NotOffered:
    def __repr__(self) -> str:
        return "NOT_OFFERED"


NOT_OFFERED: Any = _NotOffered()
"""The default of `approve` and `reject`: that decision is not offered (None is a value an agent may want)."""


class PlainAnswerRefused(ValueError):
    """A decision cannot become the value the declaration asks for (an edit its schema rejects, text that is not
    JSON): deterministic, so the task fails at once rather than retrying (workers.errors)."""


@dataclass(frozen=True)
class PlainAnswers:
    """The answers one node's plain interrupt takes.

    `approve` / `reject`: the value `interrupt()` returns for Approve / Reject (and for the expiry's ignore), or a
    function of the interrupt's value that makes it (so Approve can hand back the draft under review unchanged).
    `edit_schema`: a pydantic model or a JSON Schema; Edit is offered, its form starts from `edit_start`, and
    `interrupt()` returns the edited object (a dict). `respond`: "text" (as typed) or "json" (parsed);
    None, the default, offers no Respond, so an agent that tests its answer for truth never takes a "No" for a yes."""

    approve: Any = NOT_OFFERED
    reject: Any = NOT_OFFERED
    edit_schema: type[BaseModel] | dict[str, Any] | None = None
    respond: Literal["text", "json"] | None = None

    def __post_init__(self) -> None:
        if not self.offered():
            raise ValueError("PlainAnswers offers no decision: declare approve, reject, edit_schema or respond")

    def offered(self) -> set[str]:
        """The Baton decision kinds this declaration offers."""
        pairs = (("accept", self.approve), ("reject", self.reject))
        kinds = {kind for kind, value in pairs if value is not NOT_OFFERED}
        if self.edit_schema is not None:
            kinds.add("edit")
        if self.respond is not None:
            kinds.add("respond")
        return kinds

    def json_schema(self) -> dict[str, Any] | None:
        """The edit schema as JSON Schema, for the checkpoint (the bot and the CLI check edits against it)."""
        if self.edit_schema is None:
            return None
        if isinstance(self.edit_schema, dict):
            return self.edit_schema
        return self.edit_schema.model_json_schema()

    def edit_start(self, value: Any) -> dict[str, Any]:
        """What the Edit form starts from: what Approve would send, when it is an object the edit schema accepts
        (the draft under review); else an empty object (an interrupt inside a tool asks with a sentence)."""
        start = self.approved(value) if self.approve is not NOT_OFFERED else value
        if not isinstance(start, dict):
            return {}
        if isinstance(self.edit_schema, type) and issubclass(self.edit_schema, BaseModel):
            try:
                self.edit_schema.model_validate(start)
            except ValidationError:
                return {}
        return dict(start)

    def approved(self, value: Any) -> Any:
        return _made(self.approve, value)

    def rejected(self, value: Any) -> Any:
        return _made(self.reject, value)

    def edited(self, args: dict[str, Any]) -> dict[str, Any]:
        """The edited object, checked against a pydantic edit schema (a JSON Schema was checked by the bot or CLI)."""
        if isinstance(self.edit_schema, type) and issubclass(self.edit_schema, BaseModel):
            try:
                self.edit_schema.model_validate(args)
            except ValidationError as exc:
                problem = exc.errors()[0]
                field = ".".join(str(part) for part in problem["loc"]) or "(the object)"
                message = f"The edit does not fit the agent's schema: {field}: {problem['msg']}"
                raise PlainAnswerRefused(message) from exc
        return dict(args)

    def responded(self, text: str, marked_json: bool) -> Any:
        if self.respond == "json" or marked_json:
            return parsed_json(text)
        return text


def parsed_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise PlainAnswerRefused(f"The answer was to be JSON and is not: {exc}") from exc


def _made(declared: Any, value: Any) -> Any:
    return declared(value) if callable(declared) else declared
