"""The one way every Baton process (worker, bot, CLI) reads its Temporal settings and connects to Temporal.

Workers import this module and nothing else from `baton`, so it depends only on `baton.errors`, `baton.codec`,
`baton.telemetry` (leaves) and temporalio: a worker, the bot and the CLI then reach a cluster with exactly the same
address, namespace, API key, mTLS files, payload keys and tracing interceptors, and a broken setting reads the same
one line everywhere.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from baton.codec import EncryptionCodec, parse_payload_keys, quiet_key_errors
from baton.errors import BatonError, TemporalUnavailable
from baton.telemetry import tracing_interceptors
from contracts.names import AGENTS_TASK_QUEUE

__all__ = [
    "TemporalSettings",
    "TemporalSettingsError",
    "TemporalUnavailable",
    "connect",
    "data_converter",
    "load_temporal_settings",
    "tls_config",
]


class TemporalSettingsError(BatonError):
    """A Temporal setting is invalid or names a file that cannot be read; str() is one line naming the variable.

    Processes print it and exit 2: retrying cannot help until someone fixes the setting."""


class TemporalSettings(BaseSettings):
    """Where Temporal is and how to authenticate, from the environment (field name == variable name).

    For Temporal Cloud set `TEMPORAL_API_KEY`, or the mTLS pair `TEMPORAL_TLS_CERT_PATH` / `TEMPORAL_TLS_KEY_PATH`.
    A cluster whose certificate a private CA signed also needs `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, and
    `TEMPORAL_TLS_SERVER_NAME` when the address is not a name in that certificate. The worker's settings extend
    this class, which is how the worker, the bot and the CLI agree on every value, the task queue included."""

    # An empty variable counts as unset: `TEMPORAL_TLS_CERT_PATH=` in a compose file must not mean "the file ''".
    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True, populate_by_name=True,
                                      hide_input_in_errors=True)

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    temporal_tls_cert_path: Path | None = None
    temporal_tls_key_path: Path | None = None
    temporal_tls_server_ca_cert_path: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_ui_url: str = "http://localhost:8233"
    task_queue: str = Field(
        AGENTS_TASK_QUEUE, min_length=1, validation_alias=AliasChoices("BATON_TASK_QUEUE", "task_queue")
    )
    """The workers' task queue: the worker polls it, the bot and the CLI start tasks on it."""
    baton_payload_keys: SecretStr | None = None
    """`id:base64key,...` (baton.codec): the first key encrypts every payload, all of them decrypt. Every process
    must hold the keys of the payloads it meets, or the task waits for one that does."""

    @field_validator("baton_payload_keys")
    @classmethod
    def _payload_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_payload_keys(value.get_secret_value())  # fail at start, not at the first payload
        return value


def load_temporal_settings(**overrides: object) -> TemporalSettings:
    """TemporalSettings from the environment, or TemporalSettingsError naming each invalid variable."""
    try:
        return TemporalSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise TemporalSettingsError(settings_problems(exc, "Invalid Temporal settings")) from None


def settings_problems(exc: ValidationError, title: str) -> str:
    """One line naming every invalid variable, never echoing its value (it may be a secret)."""
    problems = []
    for error in exc.errors(include_input=False):
        name = "_".join(str(part) for part in error["loc"]).upper()
        reason = "missing" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
        problems.append(f"{name} ({reason})" if name else reason)
    return f"{title}: " + "; ".join(problems)


def _read(path: Path, variable: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TemporalSettingsError(f"{variable}: cannot read {path} ({exc.strerror or exc})") from None


def tls_config(settings: TemporalSettings) -> TLSConfig | bool:
    """The TLS to use: client certificate and private CA when files are configured, plain TLS for an API key."""
    cert, key = settings.temporal_tls_cert_path, settings.temporal_tls_key_path
    if (cert is None) != (key is None):
        missing = "TEMPORAL_TLS_KEY_PATH" if key is None else "TEMPORAL_TLS_CERT_PATH"
        present = "TEMPORAL_TLS_CERT_PATH" if key is None else "TEMPORAL_TLS_KEY_PATH"
        raise TemporalSettingsError(f"{missing} is required when {present} is set (mTLS needs both files)")
    ca = settings.temporal_tls_server_ca_cert_path
    if cert is None and ca is None and settings.temporal_tls_server_name is None:
        return settings.temporal_tls or settings.temporal_api_key is not None
    return TLSConfig(
        client_cert=_read(cert, "TEMPORAL_TLS_CERT_PATH") if cert is not None else None,
        client_private_key=_read(key, "TEMPORAL_TLS_KEY_PATH") if key is not None else None,
        server_root_ca_cert=_read(ca, "TEMPORAL_TLS_SERVER_CA_CERT_PATH") if ca is not None else None,
        domain=settings.temporal_tls_server_name,
    )


def data_converter(settings: TemporalSettings) -> DataConverter:
    """The pydantic data converter with the payload codec of BATON_PAYLOAD_KEYS.

    With keys, failure messages and stack traces move into an encrypted payload too (they can quote a request);
    without, the codec only passes payloads through, and names the variable if it meets an encrypted one."""
    keys = settings.baton_payload_keys
    codec = EncryptionCodec.from_setting(keys.get_secret_value() if keys is not None else None)
    quiet_key_errors()
    if not codec.encrypts:
        return dataclasses.replace(pydantic_data_converter, payload_codec=codec)
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec,
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


async def connect(settings: TemporalSettings | None = None, *, runtime: Runtime | None = None) -> Client:
    """A client with the data converter every Baton process must share (the worker adds its runtime).

    Raises TemporalSettingsError for a setting no retry can fix, TemporalUnavailable when the server cannot be
    reached (or refuses the credentials)."""
    settings = settings or load_temporal_settings()
    tls = tls_config(settings)  # before connecting: a missing file is a settings problem, not an outage
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
            tls=tls,
            data_converter=data_converter(settings),
            interceptors=tracing_interceptors(),  # inherited by every worker built on this client
            runtime=runtime,
        )
    except RuntimeError as exc:  # the Rust core reports connection failures as RuntimeError
        reason = "connection refused" if "refused" in str(exc).lower() else str(exc).splitlines()[0][:200]
        raise TemporalUnavailable(
            f"Cannot reach the Temporal server at {settings.temporal_address} ({reason}). "
            "Is `make run` / `baton dev` up?"
        ) from exc
