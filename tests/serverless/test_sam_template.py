"""deploy/serverless/template.yaml: cfn-lint (the real linter, offline: CloudFormation's and SAM's resource schemas
and its rules) finds nothing in it, and it is wired to what the code reads: the handler, the route, the variables."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from baton.temporal import TemporalSettings
from bot.settings import BotSettings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "serverless" / "template.yaml"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
SECRETS = {"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "TEMPORAL_API_KEY", "BATON_PAYLOAD_KEYS"}


@pytest.fixture(scope="module")
def function() -> dict[str, Any]:
    template, problems = decode(str(TEMPLATE))
    assert not problems and template is not None
    return dict(template["Resources"]["FrontDoorFunction"]["Properties"])


def test_cfn_lint_finds_nothing_to_say_about_the_template_and_does_about_a_broken_copy(tmp_path: Path) -> None:
    assert CFN_LINT.exists(), f"cfn-lint is not installed next to {sys.executable}: run `make setup`"
    broken = tmp_path / "broken.yaml"  # proves the linter reads the template: one run for both (each costs seconds)
    broken.write_text(TEMPLATE.read_text().replace("Runtime: python3.12", "Runtime: python2.7"))
    linted = subprocess.run([str(CFN_LINT), "--format", "parseable", str(TEMPLATE), str(broken)],
                            capture_output=True, text=True, timeout=120)
    findings = linted.stdout.splitlines()
    assert linted.stderr == "" and findings, linted.stderr
    assert [line for line in findings if not line.startswith(str(broken))] == [], "the template has findings"
    assert any("python2.7" in line for line in findings)


def test_the_function_runs_the_serverless_handler_on_post_slack_events(function: dict[str, Any]) -> None:
    module, name = function["Handler"].rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name))
    [event] = function["Events"].values()
    assert event["Type"] == "HttpApi"
    assert (event["Properties"]["Method"], event["Properties"]["Path"]) == ("POST", "/slack/events")
    assert event["Properties"]["PayloadFormatVersion"] == "2.0"
    assert function["Timeout"] <= 30 and function["Runtime"] in ("python3.11", "python3.12", "python3.13")


def test_every_variable_it_sets_is_one_baton_reads_and_secrets_come_from_secrets_manager(
        function: dict[str, Any]) -> None:
    variables: dict[str, Any] = dict(function["Environment"]["Variables"])
    read = {name.upper() for name in BotSettings.model_fields} | {"BATON_TASK_QUEUE", "BATON_LOG_FORMAT"}
    read |= {name.upper() for name in TemporalSettings.model_fields if name != "task_queue"}
    assert set(variables) <= read, f"variables nothing reads: {set(variables) - read}"
    assert {"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "TEMPORAL_ADDRESS", "BATON_NOTIFY_TASK_QUEUE"} <= set(variables)
    for name in SECRETS & set(variables):
        assert "{{resolve:secretsmanager:" in str(variables[name]), f"{name} is not a Secrets Manager reference"
