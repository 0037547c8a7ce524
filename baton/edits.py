"""Checks on a person's edited arguments before they become a `DecisionV1`, shared by the Slack bot's Edit modal and
`baton decide ... edit --args`: the size bound, and the tool's argument schema when the checkpoint carries one.

Both run at the edges only. The workflow cannot import a JSON Schema validator into its sandbox, and does not need
to: the agent's tool validates its arguments again when it runs. A schema Baton cannot use (malformed, or
referring to another document) checks nothing rather than blocking every edit; such documents are never fetched
(jsonschema would, by default, fetch any `$ref` URL: the bot would make requests on an agent's say-so).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.validators import validator_for
from referencing import Registry

from contracts import CheckpointV1
from contracts.checkpoint import MAX_ARGS_BYTES, json_bytes, too_large

__all__ = ["edit_problem", "field_path", "schema_problem"]

log = logging.getLogger(__name__)

_NOTHING_TO_FETCH: Registry[Any] = Registry()
"""Resolves `$ref`s inside the schema only: an empty registry with no way to retrieve anything else."""
_MAX_MESSAGE = 300
"""jsonschema quotes the offending value; a person needs the field and the rule, not 10 KB of it."""


def edit_problem(args: dict[str, Any], checkpoint: CheckpointV1 | None) -> str | None:
    """Why `args` cannot be sent as an edit of `checkpoint`, in one line naming the field; None when they can."""
    size = json_bytes(args)
    if size > MAX_ARGS_BYTES:
        return f"The edited arguments are too large ({too_large('JSON', size)})."
    if checkpoint is None or checkpoint.args_schema is None:
        return None
    return schema_problem(args, checkpoint.args_schema)


def schema_problem(args: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """The first way `args` breaks `schema` (JSON Schema, draft 2020-12 unless it says otherwise), as
    "replicas: 'three' is not of type 'integer'", with a count of the others."""
    try:
        validator_class = validator_for(schema)
        validator_class.check_schema(schema)
        errors = list(validator_class(schema, registry=_NOTHING_TO_FETCH).iter_errors(args))
    except SchemaError as exc:
        log.warning("Ignoring an argument schema that is not valid JSON Schema: %s", exc.message)
        return None
    except Exception as exc:  # a $ref to another document, or a pattern Python's re rejects
        log.warning("Ignoring an argument schema Baton cannot apply: %s", exc)
        return None
    first = best_match(errors)
    if first is None:
        return None
    message = _one_line(first)
    others = len(errors) - 1
    return message + (f" (and {others} more problem{'s' if others > 1 else ''})" if others else "")


def field_path(path: Iterable[str | int]) -> str:
    """`containers[0].image`: how a person would name the field."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _one_line(error: ValidationError) -> str:
    message = " ".join(error.message.split())
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    where = field_path(error.absolute_path)
    return f"{where}: {message}" if where else message
