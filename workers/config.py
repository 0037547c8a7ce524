"""Worker settings: a YAML file (`BATON_WORKER_CONFIG`, default the bundled worker.yaml) under environment overrides.

Read once at start and validated; a bad value fails the worker at start with a message naming the setting. The
Temporal connection settings (and the task queue) are baton.temporal's, shared with the bot and the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from baton.temporal import TemporalSettings

BUNDLED_CONFIG = Path(__file__).with_name("worker.yaml")


class WorkerSettings(TemporalSettings):
    """TemporalSettings (address, namespace, API key, mTLS, task queue) plus what only a worker needs."""

    # An empty variable counts as unset: `OPENAI_BASE_URL=` means "no base URL" (the demo model), not "the URL ''".
    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True, populate_by_name=True)

    agents: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["diagnostic", "ops_audit", "sales_report"],
        validation_alias=AliasChoices("BATON_AGENTS", "agents"),
    )
    checkpointer: str = Field(
        ".baton/checkpoints.sqlite", validation_alias=AliasChoices("BATON_CHECKPOINTER", "checkpointer")
    )
    log_format: Literal["text", "json"] = Field("text", validation_alias=AliasChoices("BATON_LOG_FORMAT", "log_format"))
    metrics_port: int = Field(0, ge=0, le=65535, validation_alias=AliasChoices("BATON_METRICS_PORT", "metrics_port"))
    max_concurrent_activities: int = Field(
        200, ge=1, validation_alias=AliasChoices("BATON_MAX_ACTIVITIES", "max_concurrent_activities")
    )
    drain_timeout_s: float = Field(
        30.0, ge=0, validation_alias=AliasChoices("BATON_DRAIN_TIMEOUT_S", "drain_timeout_s")
    )
    heartbeat_throttle_s: float = Field(
        1.0, gt=0, validation_alias=AliasChoices("BATON_HEARTBEAT_THROTTLE_S", "heartbeat_throttle_s")
    )
    """How often heartbeats reach the server at most. They carry the agent's newest progress, which is how a task
    with no Slack thread shows it: within this long."""
    heartbeat_interval_s: float = Field(
        5.0, gt=0, validation_alias=AliasChoices("BATON_HEARTBEAT_INTERVAL_S", "heartbeat_interval_s")
    )
    """How often a running agent heartbeats when it reports no progress (at most a third of its heartbeat timeout):
    how fast a quiet agent learns it was cancelled."""
    sticky_queue_timeout_s: float = Field(
        10.0, gt=0, validation_alias=AliasChoices("BATON_STICKY_QUEUE_TIMEOUT_S", "sticky_queue_timeout_s")
    )
    """How long a workflow task waits for the worker that has the workflow cached before any worker may take it:
    after a worker dies, its tasks stall this long."""
    progress_interval_s: float = Field(
        1.0, ge=0, validation_alias=AliasChoices("BATON_PROGRESS_INTERVAL_S", "progress_interval_s")
    )
    progress_signals: Literal["slack", "always"] = Field(
        "slack", validation_alias=AliasChoices("BATON_PROGRESS_SIGNALS", "progress_signals")
    )
    """Which tasks signal their progress to their workflow: `slack`, those a Slack thread shows (the workflow edits
    its messages); `always`, every task, so each step is in the history and the status lists them all. Every task's
    progress rides on its heartbeat besides, which is how `baton status` shows a task with no thread."""
    openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"))
    model: str = Field("gpt-4o-mini", validation_alias=AliasChoices("BATON_MODEL", "model"))

    @field_validator("agents", mode="before")
    @classmethod
    def _split_agents(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        import os

        yaml_file = Path(os.environ.get("BATON_WORKER_CONFIG") or BUNDLED_CONFIG)  # empty = unset, like the rest
        return init_settings, env_settings, YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file)

    @property
    def has_model(self) -> bool:
        return self.openai_api_key is not None or self.openai_base_url is not None
