"""The layout's import rules (DESIGN.md): bot/ and workers/ meet only through contracts/ and Temporal."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN: dict[str, set[str]] = {
    "contracts": {"workers", "bot", "baton", "temporalio", "langchain", "langchain_core", "langgraph", "slack_sdk",
                  "slack_bolt", "aiohttp", "openai"},
    "workers": {"bot", "baton", "slack_sdk", "slack_bolt"},
    "bot": {"workers"},
    "baton": {"workers", "bot"},
}
"""Package -> top-level modules it must never import. `baton` may start `python -m workers` / `-m bot` as
processes, but never imports them."""

ALLOWED: dict[str, set[str]] = {"workers": {"baton.temporal"}}
"""Exceptions, by full module name: a worker connects to Temporal exactly as the bot and the CLI do."""


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


def test_a_worker_process_loads_nothing_from_baton_but_its_temporal_connection() -> None:
    """The AST check sees only the worker's own imports; this sees what `baton.temporal` drags in with it."""
    probe = "import sys, workers.__main__; print(sorted(m for m in sys.modules if m.split('.')[0] == 'baton'))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert ast.literal_eval(loaded.stdout.strip()) == ["baton", "baton.errors", "baton.temporal"]
