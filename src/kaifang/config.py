"""Settings, read once from the environment (prefix ``KAIFANG_``) and passed down explicitly."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "insecure-development-secret-change-me"  # noqa: S105 - refused outside dev/demo


class Environment(StrEnum):
    DEVELOPMENT = "development"
    DEMO = "demo"
    TEST = "test"
    PRODUCTION = "production"


class InsecureSettingsError(RuntimeError):
    """Raised when a deployment would start with a publicly known secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAIFANG_", env_file=None, extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    secret_key: str = DEFAULT_SECRET
    database_url: str = "sqlite:///./var/kaifang.db"
    data_dir: Path = Path("./var/data")
    base_url: str = "http://127.0.0.1:8000"
    default_locale: str = "zh_CN"
    jurisdiction: str = "national"
    session_max_age_seconds: int = 60 * 60 * 12
    password_reset_max_age_seconds: int = 60 * 60
    # "outbox" keeps outgoing mail in the database (demo, tests); "smtp" sends it.
    mail_backend: str = "outbox"
    mail_from: str = "noreply@kaifang.example"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    # Dotted path of the identity verifier ("module:Class"); see docs/identity.md.
    identity_verifier: str = "kaifang.auth.verification:CheckDigitVerifier"
    # Redis URL for the job queue and rate limits in production; empty = embedded SQLite queue.
    redis_url: str = ""
    # Largest accepted upload in bytes: refused from its Content-Length before any byte is read,
    # and counted while streaming for clients that send none.
    max_upload_bytes: int = 2 * 1024**3
    # Where dataset version files are kept: empty = data_dir/versions; in production
    # s3://bucket/prefix?endpoint_override=host:9000 (see docs/ingest.md).
    storage_url: str = ""
    # Key of the pseudonyms in published data (keyed hashes); empty = derived from secret_key.
    pseudonym_key: str = ""
    # Data access (docs/settings.md): the query engine's threads, memory and time limit per query,
    # page sizes of the row API, and where local query replicas of versions are kept.
    query_threads: int = 2
    query_memory_limit: str = "1GB"
    query_timeout_seconds: float = 20.0
    replica_dir: Path | None = None
    api_page_rows: int = 100
    api_max_page_rows: int = 1000
    api_max_groups: int = 10_000
    # Memory per process for encoded answers about open data (pages, aggregates); 0 = no cache.
    api_cache_mb: int = 64
    # Open-data API calls are logged in batches this often (seconds); 0 writes each call at once.
    access_log_flush_seconds: float = 1.0
    # Rate limits and quotas of the data API: per token (or signed-in user) and per address for
    # anonymous callers. A token's own limits, when set, replace the per-token defaults.
    api_rate_per_minute: int = 600
    api_daily_quota: int = 100_000
    api_anonymous_rate_per_minute: int = 120
    api_anonymous_daily_quota: int = 10_000
    log_json: bool = True
    log_level: str = "INFO"
    secure_cookies: bool = False
    trusted_hosts: list[str] = Field(default_factory=lambda: ["*"])

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        insecure = self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        if insecure and self.environment == Environment.PRODUCTION:
            raise InsecureSettingsError(
                "KAIFANG_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        raw = self.database_url.split("///", 1)[1]
        return Path(raw) if raw and raw != ":memory:" else None

    def with_overrides(self, **changes: Any) -> Settings:
        return Settings(**{**self.model_dump(), **changes})
