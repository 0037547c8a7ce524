"""The layout's import rules (docs/architecture.md): bot/ and workers/ meet only through contracts/ and Temporal."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN: dict[str, set[str]] = {
    "contracts": {"workers", "bot", "baton", "sandbox", "tests", "temporalio", "langchain", "langchain_core",
                  "langgraph", "slack_sdk", "slack_bolt", "aiohttp", "openai"},
    "workers": {"bot", "baton", "slack_sdk", "slack_bolt", "sandbox", "tests"},
    "bot": {"workers", "sandbox", "tests"},
    "baton": {"workers", "bot", "tests"},
    "sandbox": {"bot", "workers", "baton", "contracts", "tests"},
    "bench": {"tests"},
}
"""Package -> top-level modules it must never import. `baton` may start `python -m workers` / `-m bot` as
processes, but never imports them (`baton dev` wires the sandbox); the sandbox stands in for remote services and
needs nothing of the product; nothing but the tests imports the tests, benchmarks included."""

ALLOWED: dict[str, set[str]] = {
    "workers": {"baton.temporal", "baton.redaction", "baton.llm_errors", "baton.telemetry", "baton.graph_tracing",
                "baton.logfmt", "baton.health", "baton.ops_server", "baton.temporal_metrics",
                "sandbox.scripted_chat_model"},
    "bot": {"sandbox.scripted_chat_model"},
}
"""Exceptions, by full module name: a worker connects to Temporal exactly as the bot and the CLI do, scrubs secrets
with the same redactor (a standard-library leaf), maps model-provider errors as the bot's front agent does (a leaf
too), and both demo models are built on the scripted model's shell; every process traces (baton.telemetry,
baton.graph_tracing) and logs (baton.logfmt) alike, and serves /metrics, /healthz and /readyz alike (baton.health,
baton.ops_server, baton.temporal_metrics)."""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from baton import temporal`
    return found


def _forbidden(package: str, module: str) -> bool:
    for allowed in ALLOWED.get(package, set()):
        if module == allowed or module.startswith(allowed + ".") or allowed.startswith(module + "."):
            return False  # `baton.temporal`, a name from it, or the `baton` of `from baton import temporal`
    return module.split(".")[0] in FORBIDDEN[package]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layout(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(_imports(path))
        if _forbidden(package, name)
    ]
    assert not violations, "\n".join(violations)


def test_a_worker_process_loads_nothing_from_baton_but_its_connection_redactor_llm_errors_and_telemetry() -> None:
    """The AST check sees only the worker's own imports; this sees what `baton.temporal` drags in with it."""
    probe = "import sys, workers.__main__; print(sorted(m for m in sys.modules if m.split('.')[0] == 'baton'))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert ast.literal_eval(loaded.stdout.strip()) == [
        "baton", "baton.codec", "baton.errors", "baton.graph_tracing", "baton.health", "baton.llm_errors",
        "baton.logfmt", "baton.ops_server", "baton.redaction", "baton.telemetry", "baton.temporal",
        "baton.temporal_metrics"
    ]


WORKFLOW_FENCE = ROOT / "workers" / "workflow"
IO_MODULES = {"aiohttp", "httpx", "requests", "urllib", "openai", "langchain", "langchain_core", "langchain_openai",
              "langgraph", "slack_sdk", "slack_bolt", "sqlite3", "psycopg", "psycopg_pool", "socket", "random",
              "time", "os", "subprocess", "threading", "logging", "baton", "bot"}
"""What code inside Temporal's workflow sandbox must never import: I/O, clocks, randomness, and the packages that
wrap them. `logging` too: workflows log through `workflow.logger`, which is replay-aware."""
NONDETERMINISTIC_CALLS = {"now", "utcnow", "today", "sleep", "time", "uuid4", "random"}


def _fence_violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for name in sorted(_imports(path)):
        top = name.split(".")[0]
        if top in IO_MODULES or (top == "workers" and not name.startswith("workers.workflow")):
            found.append(f"imports {name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            on_workflow = isinstance(owner, ast.Name) and owner.id == "workflow"  # workflow.now() is the clock
            if node.func.attr in NONDETERMINISTIC_CALLS and not on_workflow:
                found.append(f"calls .{node.func.attr}() on line {node.lineno}")
    return [f"{path.relative_to(ROOT)} {violation}" for violation in found]


def test_workflow_sandbox_code_imports_no_io_and_reads_no_clock() -> None:
    violations = [v for path in sorted(WORKFLOW_FENCE.rglob("*.py")) for v in _fence_violations(path)]
    assert not violations, "\n".join(violations)


def test_the_fence_check_catches_io_and_clock_reads() -> None:
    """The check above would pass vacuously if it could not see a violation; prove it can."""
    bad = WORKFLOW_FENCE / "_fence_probe_tmp.py"
    bad.write_text("import sqlite3\nfrom datetime import datetime\nNOW = datetime.now()\n", encoding="utf-8")
    try:
        assert {v.split(" ", 1)[1] for v in _fence_violations(bad)} == {"imports sqlite3", "calls .now() on line 3"}
    finally:
        bad.unlink()


def test_loading_the_workflows_pulls_in_no_io_library() -> None:
    """The AST check sees direct imports; this sees what the fenced modules load transitively, beyond what
    temporalio's own workflow API and the contracts already load."""
    probe = (
        "import sys, temporalio.workflow, temporalio.common, temporalio.exceptions, contracts\n"
        "before = set(sys.modules)\n"
        "import workers.workflow.agent_workflow, workers.workflow.catalog_workflow\n"
        "import workers.workflow.conversation_workflow\n"
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before}))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert ast.literal_eval(loaded.stdout.strip()) == ["workers"]
