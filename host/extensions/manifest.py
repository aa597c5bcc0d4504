"""The Directus extension manifest (`package.json` + `directus:extension`), validated with pydantic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from host.types import ExtensionKind, HttpMethod

ALL_METHODS: tuple[HttpMethod, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EmptyScope(_Strict):
    pass


class RequestScope(_Strict):
    urls: tuple[str, ...] = Field(min_length=1)
    methods: tuple[HttpMethod, ...] = ALL_METHODS

    @field_validator("urls")
    @classmethod
    def _readable(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from host.capabilities.urlscope import check_patterns  # imported here: capabilities import this module

        check_patterns(value)
        return value

    @field_validator("methods", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(str(m).upper() for m in value)
        return value


class Scopes(_Strict):
    """`requestedScopes`: one key per capability; an unknown key is an error."""

    log: EmptyScope | None = None
    sleep: EmptyScope | None = None
    request: RequestScope | None = None

    def describe(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, mode="json")


class SandboxConfig(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    enabled: bool = False
    requested_scopes: Scopes = Field(default_factory=Scopes, alias="requestedScopes")


class SplitPath(_Strict):
    app: str | None = None
    api: str


class ExtensionSpec(BaseModel):
    """The `directus:extension` object."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    type: ExtensionKind
    path: str | SplitPath
    source: str | SplitPath | None = None
    host: str | None = None
    sandbox: SandboxConfig | None = None

    @property
    def api_path(self) -> str:
        return self.path.api if isinstance(self.path, SplitPath) else self.path

    @property
    def api_source(self) -> str | None:
        return self.source.api if isinstance(self.source, SplitPath) else self.source

    @property
    def app_path(self) -> str | None:
        return self.path.app if isinstance(self.path, SplitPath) else None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9@][A-Za-z0-9._/@-]*$")
    version: str | None = None
    extension: ExtensionSpec = Field(alias="directus:extension")

    @property
    def scopes(self) -> Scopes:
        sandbox = self.extension.sandbox
        return sandbox.requested_scopes if sandbox else Scopes()


class ManifestError(ValueError):
    """A manifest that cannot be used; the message says what is wrong."""


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "package.json"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def read_manifest(folder: Path) -> Manifest:
    """Read and validate `folder/package.json`; raise `ManifestError` naming the problem."""
    path = folder / "package.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError("no package.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"package.json is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ManifestError("package.json must hold a JSON object")
    if "directus:extension" not in raw:
        raise ManifestError('package.json has no "directus:extension" object')
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        raise ManifestError(f"invalid manifest: {_describe(exc)}") from None
    sandbox = manifest.extension.sandbox
    if sandbox is None or not sandbox.enabled:
        raise ManifestError(
            'not sandboxed: this host runs only extensions with "sandbox": {"enabled": true}'
        )
    return manifest
