"""bot/ meets workers/ only through contracts/ and Temporal: no module of the bot imports workers."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"


def test_no_bot_module_imports_workers() -> None:
    offenders = []
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(BOT.parent)}: {n}" for n in names if n.split(".")[0] == "workers"]
    assert offenders == []
