"""Settings, read from the environment (and `.env`) with pydantic-settings."""

from __future__ import annotations

import json
import math
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from host.paths import user_cache_path

ItemAction = Literal["read", "create", "update", "delete", "*"]

CREDENTIAL_NAMES = frozenset({"ADMIN_TOKEN", "USER_TOKENS", "EMAIL_SMTP_PASSWORD", "REDIS"})
"""Settings that never enter a flow's `$env`, even when allow-listed."""


class UserToken(BaseModel):
    """Who a token of `USER_TOKENS` belongs to."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    user: str = Field(min_length=1)
    role: str = Field(min_length=1)


def parse_user_tokens(value: object) -> object:
    """`USER_TOKENS`: `token:user:role,...`, or JSON (`{"token": {"user", "role"}}` or a list of
    `{"token", "user", "role"}`)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return {}
    if text[0] in "[{":
        parsed: Any = _json_setting(text, "USER_TOKENS")
        if isinstance(parsed, list):
            return {entry["token"]: {k: v for k, v in entry.items() if k != "token"} for entry in parsed}
        return parsed
    tokens: dict[str, dict[str, str]] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        pieces = [piece.strip() for piece in part.split(":")]
        if len(pieces) != 3 or not all(pieces):
            raise ValueError(f"USER_TOKENS entry {part.strip()!r} is not 'token:user:role'")
        tokens[pieces[0]] = {"user": pieces[1], "role": pieces[2]}
    return tokens


LogLevel = Literal["fatal", "error", "warn", "info", "debug", "trace", "silent"]


class OriginPattern(BaseModel):
    """`CORS_ORIGIN=regex:PATTERN`: origins the pattern matches in full."""

    model_config = ConfigDict(frozen=True)
    regex: str


CorsOrigin = bool | list[str] | OriginPattern


def _comma_list(text: str) -> list[str]:
    text = text.strip().removeprefix("array:")
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_cors_origin(value: object) -> object:
    """`CORS_ORIGIN` as Directus reads it: `true` (reflect the request's origin), `false`, one
    origin, a comma-separated list (`array:` prefix allowed), or `regex:PATTERN`."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.startswith("regex:"):
        pattern = text.removeprefix("regex:")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"regex:{pattern} is not a regular expression ({exc})") from None
        return OriginPattern(regex=pattern)
    origins = _comma_list(text)
    if not origins:
        return False
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ValueError(f"{origin!r} is not an origin such as https://example.com")
    return origins


def _json_setting(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{name} is not JSON ({exc})") from None


_BYTE_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}
_BYTE_SIZE = re.compile(r"^\+?(\d+(?:\.\d+)?) *(b|kb|mb|gb|tb|pb)?$", re.IGNORECASE)


def parse_byte_size(value: object, name: str) -> int:
    """A size as Directus reads it (the `bytes` npm package): a number of bytes, or `500kb`,
    `1mb`, `1.5gb`, ... (units of 1024, case-insensitive, floored). Anything else is refused."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _BYTE_SIZE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{name} {value!r} is not a size: use a number of bytes or e.g. 500kb, 1mb, 2gb")
    size = math.floor(float(match.group(1)) * _BYTE_UNITS[(match.group(2) or "b").lower()])
    if size >= 2**63:
        raise ValueError(f"{name} {value!r} is too large")
    return size


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", min_length=1, description="address `exthost serve` binds")
    port: int = Field(8055, ge=0, le=65535, description="port `exthost serve` listens on (0: any free port)")
    log_level: LogLevel = Field("info", description="fatal, error, warn, info, debug, trace or silent")
    log_style: Literal["pretty", "raw"] = Field("pretty", description="pretty: text lines; raw: one JSON object a line")
    extensions_path: Path = Path("extensions")
    data_path: Path = Path("data")
    extensions_cache_path: Path | None = Field(
        None, description="compiled-code cache (default: the user's, ~/.cache/exthost; shared by every command)"
    )
    db_url: str = ""
    redis: str | None = Field(
        None,
        description="Redis connection URL (redis://, rediss:// or unix://): change announcements, the webhook GET "
        "cache and the job queue (Redis Streams) go through it",
    )
    admin_token: str | None = None
    user_tokens: Annotated[dict[str, UserToken], NoDecode] = Field(
        default_factory=dict, description="other users' tokens: 'token:user:role,...' or JSON"
    )
    items_permissions: Annotated[dict[str, dict[str, list[ItemAction]]], NoDecode] = Field(
        default_factory=dict, description='JSON {role: {collection or "*": [read|create|update|delete|*]}}'
    )
    query_limit_default: int = Field(100, ge=-1, description="items per page when a query sets no limit")
    max_payload_size: int = Field(
        1 << 20, description="largest request body, Directus format (1mb, 500kb, bytes); 413 beyond it"
    )
    max_json_depth: int = Field(
        100, ge=1, le=500, description="deepest nesting of JSON in a body, query parameter or guest output"
    )

    extensions_sandbox_memory: int = Field(
        100, gt=0, description="MB one instance may allocate: all its linear memories and tables together"
    )
    extensions_max_source_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="bytes of the largest .js/.py extension artifact loaded"
    )
    extensions_max_wasm_bytes: int = Field(
        64 * 1024 * 1024, gt=0, description="bytes of the largest .wasm extension artifact loaded"
    )
    extensions_sandbox_timeout: int = Field(1000, gt=0, description="ms of guest execution per call")
    extensions_sandbox_wall_timeout: int = Field(
        30_000, gt=0, description="ms a call may take in all, sleeping and requests included"
    )
    extensions_sandbox_pool_size: int = Field(4, gt=0, description="instances kept per extension")
    extensions_quarantine_after: int = Field(5, gt=0, description="consecutive faults before quarantine")
    extensions_quarantine_backoff: int = Field(
        30_000, gt=0, description="ms a quarantined extension rests before one call probes it (doubles, up to 1 h)"
    )
    extensions_register_timeout: int = Field(5000, gt=0, description="ms the registration may take")
    extensions_auto_reload: bool = Field(
        False, description="watch EXTENSIONS_PATH and reload an extension whose files change (every process follows)"
    )
    extensions_install_max_bytes: int = Field(
        50 * 1024 * 1024, gt=0, description="largest package `exthost install` unpacks (archive and unpacked files)"
    )
    extensions_install_max_files: int = Field(2000, gt=0, description="most files one installed package may hold")
    npm_registry: str = Field(
        "https://registry.npmjs.org", description="where `exthost install NAME` looks packages up"
    )

    import_ip_deny_list: Annotated[list[str] | None, NoDecode] = Field(
        None,
        description="IPs/CIDRs `request` may not reach (replaces the default; 0.0.0.0/8 and :: stay denied)",
    )
    request_max_bytes: int = Field(5 * 1024 * 1024, gt=0, description="largest response `request` reads")
    request_timeout: int = Field(10_000, gt=0, description="ms an outbound request may take")
    request_max_redirects: int = Field(5, ge=0)

    # flows (docs/flows.md)
    flows_env_allow_list: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="env names a flow may read as {{ $env.NAME }}"
    )
    flows_recursion_limit: int = Field(10, gt=0, description="flow runs nested in one another")
    flows_max_steps: int = Field(1000, gt=0, description="operations one run may execute")
    flows_run_script_max_memory: int = Field(32, gt=0, description="MB of memory of an exec script")
    flows_run_script_timeout: int = Field(10_000, gt=0, description="ms of execution of an exec script")
    flows_schedule_timezone: str = Field("UTC", description="IANA time zone schedule crons are evaluated in")
    flows_webhook_cache_ttl: int = Field(0, ge=0, description="seconds GET webhook results are cached")
    flows_log_retention: str = Field("30d", description="age after which runs are dropped from the log")
    flows_log_max_runs: int = Field(1000, gt=0, description="runs kept per flow in the log")
    flows_log_max_entry_bytes: int = Field(
        1024 * 1024, ge=4096, description="largest run-log entry (steps, chain, error as JSON); larger is truncated"
    )
    flows_log_max_pending: int = Field(
        1000, gt=0, description="runs one process holds before they are stored; when full, a run waits for the write"
    )
    # the durable job queue (docs/queue.md)
    queue_concurrency: int = Field(4, gt=0, le=256, description="jobs one process runs at once")
    queue_max_pending: int = Field(
        10_000, gt=0, description="jobs waiting or running in the whole cluster; more are refused (QUEUE_FULL)"
    )
    queue_max_attempts: int = Field(5, gt=0, le=100, description="runs of one job before it is failed")
    queue_retry_delay: int = Field(
        1000, ge=0, description="ms before the first retry of a failed job; doubles each attempt, up to 1 h"
    )
    queue_lease: int = Field(
        30_000, ge=500, description="ms a claimed job stays claimed without a heartbeat before any process may retry it"
    )
    queue_poll_interval: int = Field(250, gt=0, description="ms between looks for jobs queued by other processes")
    queue_namespace: str = Field(
        "exthost",
        min_length=1,
        max_length=100,
        description="prefix of the queue's and the rate limiter's Redis keys (with REDIS)",
    )
    # HTTP behaviour (docs/http.md)
    cors_enabled: bool = Field(False, description="answer CORS requests (preflights included)")
    cors_origin: Annotated[CorsOrigin, NoDecode] = Field(
        False, description="true (any origin, reflected), false, an origin, a comma-separated list, or regex:PATTERN"
    )
    cors_methods: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["GET", "POST", "PATCH", "DELETE"], description="comma-separated methods"
    )
    cors_allowed_headers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["Content-Type", "Authorization"], description="comma-separated request headers"
    )
    cors_exposed_headers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["Content-Range"], description="comma-separated response headers"
    )
    cors_credentials: bool = Field(True, description="Access-Control-Allow-Credentials")
    cors_max_age: int = Field(18000, ge=0, description="seconds a browser may cache a preflight answer")
    rate_limiter_enabled: bool = Field(False, description="limit the requests of each client IP")
    rate_limiter_points: int = Field(50, gt=0, description="requests one IP may make per RATE_LIMITER_DURATION")
    rate_limiter_duration: int = Field(1, gt=0, description="seconds of one rate-limit window")
    email_from: str = "no-reply@example.com"
    email_smtp_host: str | None = None
    email_smtp_port: int = Field(587, ge=1, le=65535)
    email_smtp_user: str | None = None
    email_smtp_password: str | None = None
    email_smtp_secure: bool = Field(False, description="connect with TLS (port 465)")
    email_smtp_ignore_tls: bool = Field(False, description="never upgrade with STARTTLS")
    email_templates_path: Path | None = None

    @field_validator("cors_origin", mode="before")
    @classmethod
    def _cors_origin(cls, value: object) -> object:
        return parse_cors_origin(value)

    @field_validator("cors_methods", "cors_allowed_headers", "cors_exposed_headers", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        if isinstance(value, str):
            return _comma_list(value)
        return value

    @field_validator("import_ip_deny_list", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("redis", mode="before")
    @classmethod
    def _redis_url(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"REDIS {value[:80]!r} is not a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("npm_registry")
    @classmethod
    def _npm_registry(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"NPM_REGISTRY {value[:80]!r} is not an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("db_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if not value:
            return value
        try:
            backend = make_url(value).get_backend_name()
        except Exception:
            backend = ""
        if backend not in ("sqlite", "postgresql"):
            shown = re.sub(r"//([^:/@]*):[^@]*@", r"//\1:****@", value)[:80]
            raise ValueError(f"DB_URL {shown!r} is not a sqlite:// or postgresql:// database URL")
        return value

    @field_validator("max_payload_size", mode="before")
    @classmethod
    def _byte_size(cls, value: object) -> object:
        return parse_byte_size(value, "MAX_PAYLOAD_SIZE")

    @field_validator("flows_schedule_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"FLOWS_SCHEDULE_TIMEZONE {value!r} is not an IANA time zone name (such as UTC or Europe/Paris)"
            ) from None
        return value

    @field_validator("flows_log_retention")
    @classmethod
    def _retention(cls, value: str) -> str:
        from host.flows.runlog import parse_duration  # the run log's own reading of it

        try:
            parse_duration(value)
        except ValueError:
            raise ValueError(
                f"FLOWS_LOG_RETENTION {value!r} is not a duration: a number with s, m, h, d or w (0: forever)"
            ) from None
        return value

    @field_validator("user_tokens", mode="before")
    @classmethod
    def _user_tokens(cls, value: object) -> object:
        return parse_user_tokens(value)

    @field_validator("items_permissions", mode="before")
    @classmethod
    def _permissions(cls, value: object) -> object:
        if isinstance(value, str):
            return _json_setting(value, "ITEMS_PERMISSIONS") if value.strip() else {}
        return value

    @field_validator("flows_env_allow_list", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @cached_property
    def cache_path(self) -> Path:
        """One compiled-code cache per user, shared by `serve`, `dev`, `validate` and `host.testing`,
        unless `EXTENSIONS_CACHE_PATH` names another."""
        return self.extensions_cache_path or user_cache_path()

    @cached_property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_path / 'exthost.db'}"

    def credentials(self) -> list[str]:
        """The host's own secrets: `ADMIN_TOKEN`, every `USER_TOKENS` token, `EMAIL_SMTP_PASSWORD`, the
        `REDIS` URL and its password."""
        values = [self.admin_token, *self.user_tokens, self.email_smtp_password]
        if self.redis:
            values += [self.redis, urlsplit(self.redis).password]
        return [value for value in values if value]

    def flows_env(self) -> dict[str, str]:
        """`$env` of flows: the variables of `FLOWS_ENV_ALLOW_LIST` that are set, except the
        host's own credentials (by name or by value), whatever the allow list says."""
        credentials = set(self.credentials())
        return {
            name: os.environ[name]
            for name in self.flows_env_allow_list
            if name in os.environ and name.upper() not in CREDENTIAL_NAMES and os.environ[name] not in credentials
        }
