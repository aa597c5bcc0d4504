"""Who is calling: bearer tokens to `Accountability`."""

from __future__ import annotations

import secrets

from fastapi import Request

from host.config import Settings
from host.errors import Forbidden, Unauthorized
from host.types import Accountability


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        raise Unauthorized("Invalid Authorization header: expected 'Bearer <token>'")
    if not request.scope.get("query_string"):
        return None  # nothing to parse (most requests)
    return request.query_params.get("access_token") or None


def resolve_accountability(settings: Settings, token: str | None) -> Accountability | None:
    """The identity behind `token`; None for an anonymous request. An unknown token is refused."""
    if token is None:
        return None
    given = token.encode()
    if settings.admin_token and secrets.compare_digest(given, settings.admin_token.encode()):
        return Accountability.of_role("admin", "admin", admin=True)
    for candidate, entry in settings.user_tokens.items():
        if secrets.compare_digest(given, candidate.encode()):
            return Accountability.of_role(entry.user, entry.role, admin=entry.role == "admin")
    raise Unauthorized("Invalid user credentials.")


USER_AGENT_LIMIT = 1024
"""Characters of the `User-Agent` header kept (Directus keeps as many)."""


def _request_facts(request: Request) -> dict[str, str | None]:
    agent = request.headers.get("user-agent")
    return {
        "ip": request.client.host if request.client else None,
        "userAgent": agent[:USER_AGENT_LIMIT] if agent else None,
    }


def accountability_of(request: Request) -> Accountability | None:
    """The caller behind the request's token, with its `ip` and `userAgent`; None when anonymous."""
    settings: Settings = request.app.state.settings
    who = resolve_accountability(settings, bearer_token(request))
    return who.model_copy(update=_request_facts(request)) if who is not None else None


def caller_of(request: Request) -> Accountability:
    """`accountability_of`, or Directus's public accountability for an anonymous request."""
    who = accountability_of(request)
    return who if who is not None else Accountability.public(**_request_facts(request))


def require_user(request: Request) -> Accountability:
    """Any valid token (the admin's or one of `USER_TOKENS`): 401 without one."""
    accountability = accountability_of(request)
    if accountability is None:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'")
    return accountability


def require_admin(request: Request) -> Accountability:
    """FastAPI dependency for admin routes: 401 without a valid token, 403 for a non-admin one."""
    accountability = accountability_of(request)
    if accountability is None:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <ADMIN_TOKEN>'")
    if not accountability.admin:
        raise Forbidden("You don't have permission to access this.")
    return accountability
