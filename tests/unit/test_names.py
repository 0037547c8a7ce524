"""Every name both sides of Temporal use is spelt out once, in contracts/names.py: nowhere else in product code.

The check reads the AST of every module of the product packages (contracts, workers, bot, baton), names.py excepted,
and reports a string constant as a copy of a name when:

1. it equals a distinctive name, wherever it appears (docstrings and `__all__` excepted). A name is distinctive when
   it is not a plain lowercase word: `AgentWorkflow`, `run_agent`, `baton-slack`, `final_status`, `BatonPhase`,
   `LLMAuthError`;
2. it contains a workflow type or a search-attribute name as a word, as a visibility query does
   (`"BatonPhase = 'waiting_for_human'"`, an f-string's parts included; docstrings and `__all__` excepted);
3. it equals any name, plain words included (`status`, `progress`, `cancel`, `decide`, `notify`, `agents`,
   `register`, `request`), at a place where Temporal takes it as a name: the `name=` of a decorator; the first
   argument of `execute_activity`, `start_activity`, `query`, `signal`, `execute_update`, `start_update`,
   `start_workflow`, `execute_workflow` or `get_workflow_handle`; the keywords `task_queue=`, `start_signal=`,
   `type=` and `non_retryable_error_types=`; a memo key (`memo=` and `upsert_memo` dict keys, `memo_value`'s first
   argument); `SearchAttributeKey.for_keyword`'s argument; the default of anything named `*task_queue`.

Plain words elsewhere (`"status"` as a part of a Slack thread, `"cancel"` as a `/baton` subcommand) are other things
that share a spelling, and are left alone.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from contracts import names

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "workers", "bot", "baton")
NAMES_MODULE = ROOT / "contracts" / "names.py"

NAMED_CALLS = {"execute_activity", "start_activity", "query", "signal", "execute_update", "start_update",
               "start_workflow", "execute_workflow", "get_workflow_handle", "memo_value", "for_keyword"}
NAMED_KEYWORDS = {"task_queue", "start_signal", "type", "non_retryable_error_types"}


def _all_names() -> set[str]:
    found: set[str] = set()
    for attribute in names.__all__:
        value = getattr(names, attribute)
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, tuple):
            found.update(value)
    return found


NAMES = _all_names()
DISTINCTIVE = {name for name in NAMES if not re.fullmatch(r"[a-z]+", name)}
EMBEDDED = re.compile(
    r"\b(" + "|".join(map(re.escape, [names.AGENT_WORKFLOW, names.CATALOG_WORKFLOW, *names.SEARCH_ATTRIBUTES])) + r")\b"
)


def _strings(node: ast.AST | None) -> Iterator[ast.Constant]:
    """The string constants a name could be given as: the node itself, or the items of a list or tuple."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for item in node.elts:
            yield from _strings(item)


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _name_sites(tree: ast.AST) -> Iterator[ast.Constant]:
    """Constants at the places where Temporal takes a string as a name (rule 3)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call):
                    for keyword in decorator.keywords:
                        if keyword.arg == "name":
                            yield from _strings(keyword.value)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            positional = [*arguments.posonlyargs, *arguments.args]
            pairs = list(zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults, strict=True))
            pairs += [(a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d]
            for argument, default in pairs:
                if "task_queue" in argument.arg:
                    yield from _strings(default)
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and "task_queue" in t.id for t in targets):
                value = node.value
                yield from _strings(value)
                if isinstance(value, ast.Call):  # a pydantic Field("agents", ...) or Field(default="agents")
                    yield from _strings(value.args[0] if value.args else None)
                    yield from (c for k in value.keywords if k.arg == "default" for c in _strings(k.value))
        if isinstance(node, ast.Call):
            called = _call_name(node)
            if called in NAMED_CALLS and node.args:
                yield from _strings(node.args[0])
            if called == "upsert_memo" and node.args and isinstance(node.args[0], ast.Dict):
                yield from (c for key in node.args[0].keys for c in _strings(key))
            for keyword in node.keywords:
                if keyword.arg in NAMED_KEYWORDS:
                    yield from _strings(keyword.value)
                if keyword.arg == "memo" and isinstance(keyword.value, ast.Dict):
                    yield from (c for key in keyword.value.keys for c in _strings(key))


def _not_names(tree: ast.AST) -> set[int]:
    """Docstrings, and the items of `__all__` (Python names: a class may share a name with an error type)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            skipped.add(id(node.value))
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            skipped.update(id(c) for c in _strings(node.value))
    return skipped


def copies(source: str) -> list[str]:
    """Each copy of a name in `source`, as "line N: 'value'"."""
    tree = ast.parse(source)
    skipped = _not_names(tree)
    found: dict[int, ast.Constant] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in skipped:
            continue
        if node.value in DISTINCTIVE or EMBEDDED.search(node.value):
            found[id(node)] = node
    for node in _name_sites(tree):
        if node.value in NAMES:
            found[id(node)] = node
    ordered = sorted(found.values(), key=lambda node: (node.lineno, node.col_offset))
    return [f"line {node.lineno}: {node.value!r}" for node in ordered]


def test_no_product_module_spells_out_a_name_that_contracts_names_holds() -> None:
    violations = [
        f"{path.relative_to(ROOT)} {copy}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != NAMES_MODULE
        for copy in copies(path.read_text(encoding="utf-8"))
    ]
    assert not violations, "use contracts.names instead:\n" + "\n".join(violations)


def test_the_check_sees_each_kind_of_copy() -> None:
    """The check above would pass vacuously if it could not see a copy; prove it sees each rule's."""
    planted = '''
"""A docstring may say AgentWorkflow and run_agent."""
@workflow.defn(name="AgentWorkflow")
class W:
    @workflow.signal(name="cancel")
    def cancel(self): ...
async def go(handle, client, task_queue: str = "agents"):
    await handle.query("status")
    await handle.execute_update("decide", None)
    await client.start_workflow(W.run, memo={"request": 1}, task_queue="baton-slack")
    workflow.upsert_memo({"final_status": 1})
    query = f"BatonPhase = '{1}'"
    raise ApplicationError("no", type="CheckpointNotPending")
notify_task_queue: str = Field(default="baton-slack")
words = ["status", "cancel", "agents"]
'''
    assert copies(planted) == [
        "line 3: 'AgentWorkflow'",
        "line 5: 'cancel'",
        "line 7: 'agents'",
        "line 8: 'status'",
        "line 9: 'decide'",
        "line 10: 'request'",
        "line 10: 'baton-slack'",
        "line 11: 'final_status'",
        "line 12: \"BatonPhase = '\"",
        "line 13: 'CheckpointNotPending'",
        "line 14: 'baton-slack'",
    ]


def test_the_names_temporal_has_recorded_keep_their_values() -> None:
    """Renaming one would strand every task in flight (recorded histories name them): see tests/hitl/test_replay.py.
    This pins the values the histories under tests/histories/ were recorded with."""
    assert (names.AGENT_WORKFLOW, names.CATALOG_WORKFLOW) == ("AgentWorkflow", "AgentCatalogWorkflow")
    assert (names.STATUS_QUERY, names.PROGRESS_SIGNAL, names.CANCEL_SIGNAL, names.DECIDE_UPDATE) == (
        "status", "progress", "cancel", "decide")
    assert (names.AGENTS_QUERY, names.REGISTER_SIGNAL) == ("agents", "register")
    assert (names.RUN_AGENT_ACTIVITY, names.NOTIFY_ACTIVITY) == ("run_agent", "notify")
    assert (names.AGENTS_TASK_QUEUE, names.NOTIFY_TASK_QUEUE) == ("agents", "baton-slack")
    assert (names.REQUEST_MEMO, names.FINAL_STATUS_MEMO) == ("request", "final_status")
    assert names.SEARCH_ATTRIBUTES == ("BatonAgent", "BatonRequester", "BatonChannel", "BatonPhase")
    assert names.catalog_workflow_id("agents") == "baton-agent-catalog-agents"
