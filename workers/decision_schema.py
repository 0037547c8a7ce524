"""The tool's argument schema inside LangChain's per-call `response_schema`, the JSON Schema of the decisions a
`ToolApprovalRequest` interrupt accepts (pydantic's, for a discriminated union):

    oneOf: [$ref ApproveDecision, $ref EditDecision, ...]
    $defs: EditDecision  {type: {const: "edit"}, edited_action: $ref EditedAction}
           EditedAction  {name: {const: <tool>}, args: $ref <tool>}
           <tool>        the tool's own argument model (`tool_call_schema`), its nested models beside it
"""

from __future__ import annotations

from typing import Any

__all__ = ["decision_types", "edit_args_schema", "referenced_defs"]


def decision_types(response_schema: Any) -> set[str]:
    """The decision types (`approve`, `edit`, ...) a per-call schema accepts: the `type` constant of each top-level
    branch, or of the root when the tool allows one decision (LangChain then sends that decision's object schema).
    Only the branches are read: a `type` field inside the tool's own arguments names no decision."""
    if not isinstance(response_schema, dict):
        return set()
    defs = _defs(response_schema)
    found: set[str] = set()
    branches = [_resolve(b, defs) for key in ("oneOf", "anyOf") for b in response_schema.get(key) or []]
    for branch in branches or [response_schema]:
        kind = _prop(branch, "type", defs)
        found.update(v for v in [kind.get("const"), *kind.get("enum", [])] if isinstance(v, str))
    return found


def _defs(schema: dict[str, Any]) -> dict[str, Any]:
    found = schema.get("$defs")
    return found if isinstance(found, dict) else {}


def _resolve(node: Any, defs: dict[str, Any]) -> dict[str, Any]:
    for _ in range(10):  # a chain of $refs; a loop of them resolves to nothing
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not (isinstance(ref, str) and ref.startswith("#/$defs/")):
            break
        node = defs.get(ref.removeprefix("#/$defs/"))
    return node if isinstance(node, dict) else {}


def _prop(node: dict[str, Any], name: str, defs: dict[str, Any]) -> dict[str, Any]:
    properties = node.get("properties")
    return _resolve(properties.get(name), defs) if isinstance(properties, dict) else {}


def edit_args_schema(response_schema: Any) -> Any:
    """`edited_action.args` of the edit branch of a per-call decision schema (pydantic's JSON Schema: the branches
    and the tool's own model are `$ref`s into the root's `$defs`, which the extracted schema keeps when it still
    refers to them, so nested models resolve)."""
    if not isinstance(response_schema, dict):
        return None
    defs = _defs(response_schema)

    branches = [_resolve(b, defs) for key in ("oneOf", "anyOf") for b in response_schema.get(key) or []]
    for branch in branches or [response_schema]:
        kind = _prop(branch, "type", defs)
        if "edit" not in [kind.get("const"), *kind.get("enum", [])]:
            continue
        args = _prop(_prop(branch, "edited_action", defs), "args", defs)
        used = referenced_defs(args, defs)
        return {"$defs": {name: defs[name] for name in sorted(used)}, **args} if used else args
    return None


def referenced_defs(node: Any, defs: dict[str, Any]) -> set[str]:
    """Names in `defs` that `node` refers to, directly or through other definitions."""
    found: set[str] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            name = ref.removeprefix("#/$defs/") if isinstance(ref, str) and ref.startswith("#/$defs/") else None
            if name in defs and name not in found:
                found.add(name)
                pending.append(defs[name])
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return found
