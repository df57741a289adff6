"""Settings: one `Settings` object, read from `LIFTMETER_*` environment variables.

Nested sections use `__` (`LIFTMETER_DATABASE__URL`, `LIFTMETER_EVENTS__BACKEND`). Build it
once per entry point with `load_settings()` and pass it down; nothing else reads the
environment. Defaults are the embedded ones: a SQLite file under `./var/` and the event log
kept in that same database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from liftmeter.errors import ConfigurationError

ENV_PREFIX = "LIFTMETER_"
ENV_NESTED_DELIMITER = "__"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    """Where liftmeter keeps its tables: SQLite by default, PostgreSQL in production."""

    url: str = "sqlite:///./var/liftmeter.db"
    echo: bool = False
    pool_size: int = Field(default=5, ge=1, le=200)

    @field_validator("url")
    @classmethod
    def _known_dialect(cls, url: str) -> str:
        if not url.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return url


class EventsSettings(_Section):
    """The event log: `embedded` (a table in the database) or `kafka`."""

    backend: Literal["embedded", "kafka"] = "embedded"
    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "liftmeter"
    partitions: int = Field(default=4, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=16)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    poll_max_records: int = Field(default=5000, ge=1, le=100_000)
    poll_timeout_ms: int = Field(default=500, ge=0, le=60_000)
    session_timeout_ms: int = Field(default=10_000, ge=1_000, le=300_000)
    # Producer codec. lz4 is cheap to decompress; with gzip, decompression took about 8 % of
    # the metering consumer's CPU (profiled under benchmarks/metering_ingest.py --compression).
    compression: Literal["lz4", "gzip", "none"] = "lz4"


class InferenceSettings(_Section):
    """Which model writes descriptions: the in-process sparse model or an OpenAI-compatible one."""

    backend: Literal["local", "openai"] = "local"
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "liftmeter-sparse-small"
    api_key: str | None = None
    checkpoint: Path | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    batch_wait_ms: float = Field(default=5.0, ge=0, le=1000)
    max_batch_size: int = Field(default=8, ge=1, le=256)


class AttributionSettings(_Section):
    """Experiment defaults and the lift computation's frozen knobs.

    `window_days`: a conversion counts for a unit when it happens within this many days
    after the unit's first exposure. `pre_period_days`: the window before first exposure
    whose revenue is the CUPED covariate. `cap_percentile`: revenue per unit is capped at
    this pooled percentile of the non-zero values (100 = no cap). `min_converting_units`:
    the minimum-data rule, converting units per arm.
    """

    window_days: int = Field(default=7, ge=1, le=90)
    holdout_share: float = Field(default=0.1, gt=0, lt=1)
    pre_period_days: int = Field(default=28, ge=0, le=365)
    cap_percentile: float = Field(default=99.9, gt=0, le=100)
    min_converting_units: int = Field(default=100, ge=1)


class BillingSettings(_Section):
    """Invoice defaults."""

    default_currency: str = Field(default="USD", min_length=3, max_length=3)


class GatewaySettings(_Section):
    """The merchant-facing HTTP API: limits and defaults."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(default=20 * 1_048_576, ge=1024)
    max_upload_rows: int = Field(default=200_000, ge=1)
    default_requests_per_minute: int = Field(default=600, ge=1)
    default_tokens_per_minute: int = Field(default=200_000, ge=1)
    default_max_tokens: int = Field(default=160, ge=1)
    max_tokens_limit: int = Field(default=512, ge=1)
    run_relay: bool = True
    idempotency_wait_s: float = Field(default=10.0, ge=0)
    # Dashboard sign-in. The secret signs the session cookies; None means a random secret
    # per process: sessions end when the process restarts and are not shared between
    # processes (fine for the demo; set the same value everywhere when several gateway
    # processes serve the pages). `dashboard_secure_cookie` adds `Secure` (serve over HTTPS).
    dashboard_session_secret: SecretStr | None = Field(default=None, min_length=32)
    dashboard_session_ttl_s: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    dashboard_secure_cookie: bool = False


class CacheSettings(_Section):
    """The exact response cache: in-process LRU by default, Redis when `url` is set."""

    url: str | None = None
    max_entries: int = Field(default=10_000, ge=0)
    ttl_s: int = Field(default=7 * 24 * 3600, ge=1)


class LogSettings(_Section):
    """Structured logging: JSON lines for machines, or a console rendering for people."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_output: bool = Field(default=True, alias="json")


class Settings(BaseSettings):
    """Every setting of liftmeter, grouped in sections."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Path("./var")
    database: DatabaseSettings = DatabaseSettings()
    events: EventsSettings = EventsSettings()
    inference: InferenceSettings = InferenceSettings()
    attribution: AttributionSettings = AttributionSettings()
    billing: BillingSettings = BillingSettings()
    gateway: GatewaySettings = GatewaySettings()
    cache: CacheSettings = CacheSettings()
    log: LogSettings = LogSettings()


def _env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(part).upper() for part in loc)


def load_settings(**overrides: object) -> Settings:
    """Read the environment (and `overrides`) into `Settings`.

    Raises `ConfigurationError` naming the offending environment variable, so an entry
    point can print one clear line instead of a stack trace.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigurationError(message, param=_env_name(first["loc"])) from None
