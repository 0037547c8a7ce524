"""The bot's settings, read once at start from the environment and validated; a bad value stops the process with
one line naming every missing or invalid variable (and never echoing a secret)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import NOTIFY_TASK_QUEUE

__all__ = ["DEFAULT_MODEL", "BotSettings", "FrontAgentKind", "NotifierSettings", "SettingsError", "load_settings"]

CsvList = Annotated[list[str], NoDecode]
FrontAgentKind = Literal["grammar", "demo", "model"]
DEFAULT_MODEL = "gpt-4o-mini"
"""The worker's default too (workers/config.py), so one OPENAI_API_KEY gives both the same model."""


class SettingsError(Exception):
    """Raised by load_settings; str() is the one line to print before exiting."""


class BotSettings(BaseSettings):
    """Environment variables, named as the README's Configuration table lists them (field name == variable name,
    case-insensitive)."""

    # An empty variable counts as unset: `OPENAI_BASE_URL=` means "no model configured", not "the URL ''".
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, hide_input_in_errors=True,
                                      env_ignore_empty=True)

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr | None = None
    """Required in HTTP mode (every request's signature is checked with it); unused in Socket Mode."""
    slack_app_token: SecretStr | None = None
    """Set it to run in Socket Mode (no public URL needed)."""
    slack_api_url: str = "https://slack.com/api/"
    baton_slack_team_id: str | None = None
    """When set, requests from any other workspace are refused."""
    baton_http_port: int = Field(default=3000, ge=0, le=65535)
    baton_http_host: str = "0.0.0.0"
    baton_metrics_port: int = Field(default=0, ge=0, le=65535)
    """Where a Socket Mode bot and the notifier serve /metrics, /healthz and /readyz (0: nowhere); in HTTP mode they
    are on BATON_HTTP_PORT and this is not used."""
    baton_temporal_ui_url: str | None = None
    baton_codec_auth_token: SecretStr | None = None
    """The bearer token /codec/decode and /codec/encode require (served when BATON_PAYLOAD_KEYS is set); unset, they
    refuse every request."""
    baton_notify_task_queue: str = Field(default=NOTIFY_TASK_QUEUE, min_length=1, max_length=500)
    """The Temporal task queue this bot's notify worker polls; every request the bot starts names it
    (requester.notify_task_queue), so the workflow calls back the bot that owns the conversation."""
    baton_command_concurrency: int = Field(default=8, ge=1, le=1000)
    """Read-only slash commands worked on at once after their ack (the rest wait their turn, already acked)."""
    baton_intake_timeout_s: float = Field(default=2.0, gt=0, lt=3)
    """How long a request that asks for work (`/baton run`, `cancel`, a decision, Cancel, Retry) waits for Temporal
    to hold it before the ack: Slack allows 3 s. Past it the bot acks "queued" and goes on in the background."""
    baton_admins: CsvList = Field(default_factory=list)
    """Slack user ids that may cancel any task and decide any checkpoint (added to every task's policy)."""
    baton_approvers: CsvList = Field(default_factory=list)
    baton_approver_groups: CsvList = Field(default_factory=list)
    baton_members_ttl_s: float = Field(default=60.0, ge=0, le=3600)
    """How long the members of a conversation (who may read the tasks started there) are cached; a join or a
    departure Slack reports to this bot forgets them at once."""
    baton_agent_catalog: str | None = None
    """The agent catalog shown in Slack, "name=description;..." (default: the example agents)."""
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    baton_model: str | None = None
    """The front agent's model name on the OpenAI-compatible server (default: the worker's, gpt-4o-mini)."""
    baton_front_agent: FrontAgentKind | None = None
    """How mentions and DMs are read: `model` (ChatOpenAI; needs OPENAI_API_KEY or OPENAI_BASE_URL), `demo` (the
    scripted, labelled demo model: bot/demo_front_model.py), `grammar` (the `/baton` grammar only, no model).
    Default: `model` when one is configured, else `demo`."""
    baton_conversation_max_messages: int = Field(default=2_000, ge=1, le=1_000_000)
    """Messages one Slack thread's conversation answers; the next is told the limit once, later ones are ignored."""
    baton_conversation_memory_turns: int = Field(default=40, ge=2, le=200)
    """Turns of a thread (people's messages and Baton's answers) the front agent sees."""
    baton_conversation_messages_per_run: int = Field(default=500, ge=1, le=1_500)
    """Messages a conversation workflow takes before it continues as new (sooner when Temporal suggests it)."""
    baton_status_style: Literal["plan", "blocks"] = "plan"
    """How a task's status message is drawn: `plan` (Slack's plan and task-card blocks: the agent's steps), `blocks`
    (sections and a progress bar). A workspace that refuses plan blocks gets `blocks` anyway (bot/notifier.py)."""
    baton_agent_sessions: bool = False
    """Mirror each task's phase on its thread's Slack agent session (agents.sessions.setStatus: processing while it
    runs, active while it waits for a person, closed when it ends): Slack then shows its own Stop control."""

    @field_validator("baton_admins", "baton_approvers", "baton_approver_groups", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("baton_front_agent", mode="before")
    @classmethod
    def _front_agent(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token (xoxb-...)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token (xapp-...)")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _signing_secret_in_http_mode(self) -> BotSettings:
        secret = self.slack_signing_secret
        if self.slack_app_token is None and (secret is None or not secret.get_secret_value()):
            raise ValueError("SLACK_SIGNING_SECRET is required in HTTP mode (set it, or SLACK_APP_TOKEN)")
        return self

    @model_validator(mode="after")
    def _model_for_the_front_agent(self) -> BotSettings:
        if self.baton_front_agent == "model" and not self.model_configured:
            raise ValueError("BATON_FRONT_AGENT (model needs OPENAI_API_KEY or OPENAI_BASE_URL)")
        return self

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def model_configured(self) -> bool:
        """A real model is reachable: an API key or an OpenAI-compatible base URL (as the worker decides)."""
        key = self.openai_api_key.get_secret_value() if self.openai_api_key is not None else ""
        return bool(key or self.openai_base_url)

    @property
    def front_agent(self) -> FrontAgentKind:
        if self.baton_front_agent is not None:
            return self.baton_front_agent
        return "model" if self.model_configured else "demo"

    @property
    def model_name(self) -> str:
        return self.baton_model or DEFAULT_MODEL


class NotifierSettings(BotSettings):
    """`baton notifier`'s settings: the bot's, but it takes no Slack request, so it needs no SLACK_SIGNING_SECRET."""

    @model_validator(mode="after")
    def _signing_secret_in_http_mode(self) -> NotifierSettings:  # replaces the bot's check of the same name
        return self


def load_settings(kind: type[BotSettings] = BotSettings, /, **overrides: object) -> BotSettings:
    """`kind` (BotSettings) from the environment (and `overrides`), or SettingsError with one line naming the
    problems."""
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = "_".join(str(p) for p in error["loc"]).upper()
        reason = "missing" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
        problems.append(f"{name} ({reason})" if name else reason)
    return "Invalid bot settings: " + "; ".join(problems)
