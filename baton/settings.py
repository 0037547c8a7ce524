"""Connection settings for Temporal, read once from the environment, and the one way Baton builds a client."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import TLSConfig

from baton.errors import TemporalUnavailable


class TemporalSettings(BaseSettings):
    """`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, and for a remote cluster `TEMPORAL_API_KEY` or mTLS files."""

    model_config = SettingsConfigDict(env_prefix="TEMPORAL_", extra="ignore")

    address: str = "localhost:7233"
    namespace: str = "default"
    api_key: SecretStr | None = None
    tls: bool = False
    tls_cert_path: str | None = None
    tls_key_path: str | None = None
    ui_url: str = "http://localhost:8233"


def _tls_config(settings: TemporalSettings) -> TLSConfig | bool:
    if settings.tls_cert_path and settings.tls_key_path:
        with open(settings.tls_cert_path, "rb") as cert, open(settings.tls_key_path, "rb") as key:
            return TLSConfig(client_cert=cert.read(), client_private_key=key.read())
    return settings.tls or settings.api_key is not None


async def connect_client(settings: TemporalSettings | None = None) -> Client:
    """A Temporal client with the pydantic data converter every Baton process must share."""
    settings = settings or TemporalSettings()
    try:
        return await Client.connect(
            settings.address,
            namespace=settings.namespace,
            api_key=settings.api_key.get_secret_value() if settings.api_key else None,
            tls=_tls_config(settings),
            data_converter=pydantic_data_converter,
        )
    except RuntimeError as exc:  # the Rust core reports connection failures as RuntimeError
        reason = "connection refused" if "refused" in str(exc).lower() else str(exc).splitlines()[0][:200]
        raise TemporalUnavailable(
            f"Cannot reach the Temporal server at {settings.address} ({reason}). Is `make run` / `baton dev` up?"
        ) from exc
