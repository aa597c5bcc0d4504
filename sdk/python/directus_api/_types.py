"""The JSON messages handlers receive and return (see host/types.py, the host's side)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class Accountability(TypedDict, total=False):
    user: str | None
    role: str | None
    admin: bool


class EndpointRequest(TypedDict):
    """What an endpoint route handler receives."""

    url: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    params: dict[str, str]
    query: dict[str, str | list[str]]
    headers: dict[str, str]
    body: Any
    accountability: Accountability | None


class EndpointResponse(TypedDict):
    """What an endpoint route handler returns: a dict body is JSON, a str body is text."""

    status: NotRequired[int]
    body: Any
    headers: NotRequired[dict[str, str]]


class OperationContext(TypedDict):
    """The second argument of an operation handler."""

    data: dict[str, Any]
    accountability: Accountability | None
