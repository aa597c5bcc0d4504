"""Settings, read from the environment (and `.env`) with pydantic-settings."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8055
    extensions_path: Path = Path("extensions")
    data_path: Path = Path("data")
    extensions_cache_path: Path | None = Field(None, description="compiled-code cache (default DATA_PATH/cache)")
    db_url: str = ""
    admin_token: str | None = None

    extensions_sandbox_memory: int = Field(100, gt=0, description="MB of linear memory per instance")
    extensions_sandbox_timeout: int = Field(1000, gt=0, description="ms of guest execution per call")
    extensions_sandbox_wall_timeout: int = Field(
        30_000, gt=0, description="ms a call may take in all, sleeping and requests included"
    )
    extensions_sandbox_pool_size: int = Field(4, gt=0, description="instances kept per extension")
    extensions_quarantine_after: int = Field(5, gt=0, description="consecutive faults before quarantine")
    extensions_register_timeout: int = Field(5000, gt=0, description="ms the registration may take")

    import_ip_deny_list: Annotated[list[str] | None, NoDecode] = None
    request_max_bytes: int = Field(5 * 1024 * 1024, gt=0, description="largest response `request` reads")
    request_timeout: int = Field(10_000, gt=0, description="ms an outbound request may take")
    request_max_redirects: int = Field(5, ge=0)

    @field_validator("import_ip_deny_list", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @cached_property
    def cache_path(self) -> Path:
        return self.extensions_cache_path or self.data_path / "cache"

    @cached_property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_path / 'exthost.db'}"
