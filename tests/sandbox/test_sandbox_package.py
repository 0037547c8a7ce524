"""`sandbox` re-exports its public names, and no import order can hit a circular import: each submodule,
imported first in a fresh interpreter, loads, and so does the package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sandbox
from sandbox.fake_slack import DEFAULT_APP_TOKEN
from sandbox.socket_mode import FakeSocketMode
from sandbox.web_run import Sandbox, SandboxSecrets, run_sandbox

SANDBOX = Path(sandbox.__file__).resolve().parent
MODULES = sorted(f"sandbox.{p.stem}" for p in SANDBOX.glob("*.py") if p.stem not in ("__init__", "__main__"))


def test_the_package_re_exports_the_sandbox_runner_and_the_socket_mode_fake() -> None:
    assert (sandbox.run_sandbox, sandbox.Sandbox, sandbox.SandboxSecrets) == (
        run_sandbox, Sandbox, SandboxSecrets)
    assert (sandbox.FakeSocketMode, sandbox.DEFAULT_APP_TOKEN) == (FakeSocketMode, DEFAULT_APP_TOKEN)
    assert all(hasattr(sandbox, name) for name in sandbox.__all__)


def test_no_submodule_imports_the_package_itself() -> None:
    offenders = []
    for path in SANDBOX.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "sandbox" and path.stem != "__main__":
                offenders.append(path.name)
    assert offenders == []


@pytest.mark.parametrize("module", [*MODULES, "sandbox"])
def test_each_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}; from sandbox import *"],
                          capture_output=True, text=True, timeout=60, cwd=SANDBOX.parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
