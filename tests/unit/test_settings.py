"""Settings of every process: an empty variable is unset, and a Temporal setting problem is one line naming it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from baton.render import render_status
from baton.temporal import TemporalSettings, TemporalSettingsError, load_temporal_settings, tls_config
from bot.settings import load_settings
from contracts import TaskStatusV1
from tests.support import make_request
from workers.config import WorkerSettings
from workers.demo_model import DemoChatModel
from workers.worker import chat_model_factory

EMPTY = {
    name: ""
    for name in (
        "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS", "TEMPORAL_TLS_CERT_PATH",
        "TEMPORAL_TLS_KEY_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_UI_URL",
        "BATON_TASK_QUEUE", "BATON_WORKER_CONFIG", "BATON_AGENTS", "BATON_METRICS_PORT", "BATON_LOG_FORMAT",
        "BATON_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "SLACK_APP_TOKEN", "SLACK_API_URL", "BATON_HTTP_PORT",
        "BATON_FRONT_AGENT", "BATON_NOTIFY_TASK_QUEUE",
    )
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith(("TEMPORAL_", "BATON_", "OPENAI_", "SLACK_")):
            monkeypatch.delenv(name)


def test_an_empty_openai_base_url_leaves_the_worker_on_the_demo_model(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EMPTY.items():
        monkeypatch.setenv(name, value)
    settings = WorkerSettings()
    assert settings.openai_base_url is None and settings.openai_api_key is None and not settings.has_model
    assert chat_model_factory(settings) is DemoChatModel
    assert settings == WorkerSettings.model_validate({}), "every empty variable fell back to its default"


def test_empty_variables_fall_back_to_the_defaults_for_the_temporal_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in EMPTY.items():
        monkeypatch.setenv(name, value)
    settings = load_temporal_settings()
    assert settings == TemporalSettings.model_validate({})
    assert (settings.temporal_address, settings.task_queue) == ("localhost:7233", "agents")
    assert tls_config(settings) is False, "an empty TEMPORAL_TLS_CERT_PATH is no certificate, not the file ''"


def test_empty_variables_leave_the_bot_on_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EMPTY.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(slack_bot_token="xoxb-1", slack_signing_secret="secret")
    assert not settings.model_configured and settings.front_agent == "demo"
    assert settings.slack_api_url == "https://slack.com/api/" and settings.baton_http_port == 3000
    assert not settings.socket_mode


def test_the_worker_reads_its_temporal_settings_where_the_bot_and_the_cli_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "prod.abc12")
    monkeypatch.setenv("TEMPORAL_TLS_CERT_PATH", str(tmp_path / "client.pem"))
    monkeypatch.setenv("TEMPORAL_TLS_KEY_PATH", str(tmp_path / "client.key"))
    monkeypatch.setenv("BATON_TASK_QUEUE", "agents-prod")
    shared = TemporalSettings.model_fields
    worker, everyone = WorkerSettings(), load_temporal_settings()
    assert {name: getattr(worker, name) for name in shared} == everyone.model_dump()


def test_an_invalid_temporal_variable_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_TLS", "perhaps-secret")
    with pytest.raises(TemporalSettingsError) as raised:
        load_temporal_settings()
    assert str(raised.value).startswith("Invalid Temporal settings: TEMPORAL_TLS (")
    assert "perhaps-secret" not in str(raised.value)


def test_a_missing_certificate_file_is_a_settings_error_naming_its_variable(tmp_path: Path) -> None:
    key = tmp_path / "client.key"
    key.write_text("not read before the certificate")
    settings = TemporalSettings(temporal_tls_cert_path=tmp_path / "absent.pem", temporal_tls_key_path=key)
    with pytest.raises(TemporalSettingsError, match=r"^TEMPORAL_TLS_CERT_PATH: cannot read .*absent\.pem"):
        tls_config(settings)


def test_a_certificate_without_its_key_names_the_missing_variable(tmp_path: Path) -> None:
    settings = TemporalSettings(temporal_tls_cert_path=tmp_path / "client.pem")
    with pytest.raises(TemporalSettingsError, match=r"^TEMPORAL_TLS_KEY_PATH is required"):
        tls_config(settings)


def test_the_cli_links_a_task_in_the_configured_namespace() -> None:
    request = make_request()
    status = TaskStatusV1.of_request(request, "queued", request.created_at)
    text = render_status(status, datetime.now(UTC), "http://ui.example/", namespace="prod.abc12")
    assert f"http://ui.example/namespaces/prod.abc12/workflows/{request.task_id}" in text
