"""The layout's import rules (DESIGN.md): bot/ and workers/ meet only through contracts/ and Temporal."""

from __future__ import annotations

import ast
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


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layout(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(_imports(path) & FORBIDDEN[package])
    ]
    assert not violations, "\n".join(violations)
