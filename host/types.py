"""Every message that crosses the sandbox boundary (see `sdk/wit/extension.wit`).

Values travel as JSON text; these models are their Python side. Guest output is
validated here, so a guest that returns something malformed gets a clear error
naming what was wrong instead of confusing the host.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator

Json = Any
"""A JSON value: what a handler receives and returns."""


class ExtensionKind(StrEnum):
    endpoint = "endpoint"
    hook = "hook"
    operation = "operation"


HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegisterContext(_Message):
    """Argument of `guest.register`."""

    kind: ExtensionKind
    name: str
    file: str | None = None
    """The artifact's file name: the JS and Python runtimes name the extension's frames after it."""


class Route(_Message):
    method: HttpMethod
    path: str
    handler: int = Field(ge=0)

    @field_validator("path")
    @classmethod
    def _absolute(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"route path {path!r} must start with '/'")
        return path


class HookBinding(_Message):
    event: str = Field(min_length=1)
    handler: int = Field(ge=0)


class OperationBinding(_Message):
    id: str = Field(min_length=1)
    handler: int = Field(ge=0)


class Registration(_Message):
    """Result of `guest.register`: what the extension registered."""

    kind: ExtensionKind
    name: str
    file: str | None = None
    """The artifact's file name: the JS and Python runtimes name the extension's frames after it."""
    id: str | None = None
    routes: tuple[Route, ...] = ()
    filters: tuple[HookBinding, ...] = ()
    actions: tuple[HookBinding, ...] = ()
    operation: OperationBinding | None = None


GuestFaultKind = Literal["out-of-memory", "stack-overflow"]


class GuestError(_Message):
    """Payload of `call-state.failed`."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    message: str
    name: str = "Error"
    fault: GuestFaultKind | None = None
    stack: str | None = None
    """Where it was thrown: the JS stack or the Python traceback of the extension's own frames."""


class Accountability(_Message):
    """Who made the request that led to a call, in Directus's shape: `roles` (the role and
    its parents: here the role alone), `app` (access to an admin app: the admin's), and
    the request's `ip` and `userAgent` when a request made the call. An anonymous caller
    of a webhook is `public()`: no user, no role, no rights."""

    user: str | None = None
    role: str | None = None
    roles: tuple[str, ...] = ()
    admin: bool = False
    app: bool = False
    ip: str | None = None
    userAgent: str | None = None

    @classmethod
    def public(cls, ip: str | None = None, userAgent: str | None = None) -> Accountability:
        """Directus's accountability of an anonymous request."""
        return cls(ip=ip, userAgent=userAgent)

    @classmethod
    def of_role(cls, user: str | None, role: str | None, *, admin: bool = False) -> Accountability:
        """A user (or none) with `role`; the admin has the app."""
        return cls(user=user, role=role, roles=(role,) if role else (), admin=admin, app=admin)


class EndpointRequest(TypedDict):
    """Argument of an endpoint route handler (a superset of Directus's `{url, headers, body}`).

    A TypedDict rather than a model: nothing to validate. The web layer writes it straight as
    JSON text (`host.endpoints.http.endpoint_args`, fields in this order); `host.testing` builds
    it as a dict. `accountability` is `Accountability.model_dump(mode="json")` or None.
    """

    url: str
    method: HttpMethod
    path: str
    params: dict[str, str]
    query: dict[str, str | list[str]]
    headers: dict[str, str]
    body: Json
    accountability: dict[str, Any] | None


class EndpointResponse(_Message):
    """What an endpoint route handler returns."""

    status: int = Field(200, ge=100, le=599)
    body: Json = None
    headers: dict[str, str] = Field(default_factory=dict)


class RequestOptions(_Message):
    """`options` of the `request` capability."""

    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None


class RequestResult(BaseModel):
    """What the `request` capability returns to the guest."""

    status: int
    statusText: str
    headers: dict[str, str]
    data: Json


class Undefined:
    """A handler that returned nothing (`undefined` in JS, `None` in Python)."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED = Undefined()
