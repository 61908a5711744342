"""Runtime settings: nothing is needed for the embedded default; production sets `JINGUO_*`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGUO_", extra="ignore")

    data_dir: Path = Field(default=Path(".jinguo"), description="embedded NATS data, SQLite, keys")
    nats_url: str | None = Field(default=None, description="external NATS; unset starts one")
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_creds: Path | None = None
    nats_tls_ca: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the NATS servers' certificates; set, the"
        " connection is TLS and a server it did not sign is refused",
    )
    nats_tls_cert: Path | None = Field(
        default=None, description="PEM client certificate, for servers that verify clients"
    )
    nats_tls_key: Path | None = Field(default=None, description="PEM key of nats_tls_cert")
    nats_inbox_prefix: str | None = Field(
        default=None, description="per-service inbox (e.g. _INBOX.registry) for NATS permissions"
    )
    nats_port: int = Field(default=4250, description="port of the embedded nats-server")
    nats_sync: str = Field(
        default="always",
        description="embedded nats-server fsync: `always` (before each ack), `default` (the"
        " server's own 2-minute interval) or a duration such as `1s`",
    )
    stream_replicas: int = Field(default=1, ge=1, le=5)
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_url: str | None = Field(
        default=None,
        description="where partners reach the API (e.g. https://jinguo.example.gov.cn): the"
        " feed's CloudEvents `source`; unset, http://<http_host>:<http_port>",
    )
    http_max_body_bytes: int = Field(
        default=256 * 1024, ge=1024, description="larger request bodies are refused (413)"
    )
    time_zone: str = Field(
        default="Asia/Shanghai",
        description="the programme's time zone: what 'today' is, and how a time without an"
        " offset is read",
    )
    api_processes: int = Field(
        default=2, ge=1, le=32, description="`jinguo up`: processes serving HTTP on one port"
    )
    master_key: SecretStr | None = Field(default=None, description="base64 of 32 bytes")
    lookup_key: SecretStr | None = Field(default=None, description="base64 of 32 bytes")
    consistency_wait_seconds: float = 5.0
    projection_batch_size: int = 500
    projection_linger_seconds: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="after a batch that was not full, wait this long for more events",
    )
    projection_max_attempts: int = 5
    webhook_allow_http_loopback: bool | None = Field(
        default=None,
        description="webhooks may use plain http to 127.0.0.1, ::1 or localhost; unset: only"
        " on the embedded default (no JINGUO_NATS_URL)",
    )
    webhook_allowed_networks: list[str] = Field(
        default=[],
        description="CIDRs webhooks may reach although private, loopback or link-local (a JSON"
        ' list, e.g. ["10.20.0.0/16"]); every other such address is refused',
    )
    webhook_retry_first_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="the longest pause between two attempts"
    )
    webhook_give_up_seconds: float = Field(
        default=86400.0, gt=0, description="an event failing this long pauses its subscription"
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_concurrency: int = Field(
        default=64, ge=1, description="deliveries in flight at once, over all subscriptions"
    )
    webhook_subscription_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="deliveries in flight at once to one subscription (each aggregate's events"
        " one after another)",
    )
    log_format: str = Field(default="text", description="text or json")
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _client_key_goes_with_its_certificate(self) -> Settings:
        if self.nats_tls_key is not None and self.nats_tls_cert is None:
            raise ValueError("JINGUO_NATS_TLS_KEY is set without JINGUO_NATS_TLS_CERT")
        return self

    def webhook_http_loopback(self) -> bool:
        if self.webhook_allow_http_loopback is None:
            return self.nats_url is None
        return self.webhook_allow_http_loopback

    def public_base_url(self) -> str:
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    def database_url(self, service: str) -> str:
        """`JINGUO_<SERVICE>_DATABASE_URL`, else a SQLite file per service in the data dir."""
        import os

        configured = os.environ.get(f"JINGUO_{service.upper()}_DATABASE_URL")
        if configured:
            return configured
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}"
