"""How much one extension may register: the numbers, in one place (docs/security.md, README).

Checked at load, on what the guest's `register` returned; an extension beyond a
limit is refused with a message naming the limit.
"""

from __future__ import annotations

from host.types import Registration

MAX_ROUTES = 256
"""Routes one endpoint extension may register (all methods together)."""

MAX_HOOK_HANDLERS = 256
"""Filter and action handlers one hook extension may register, together."""

MAX_ROUTE_PATH_LENGTH = 1024
"""Characters in one route path."""

MAX_REGISTRATION_BYTES = 512 * 1024
"""Bytes of what `register` may return (its JSON), checked before it is parsed: room for
`MAX_ROUTES` routes of `MAX_ROUTE_PATH_LENGTH` characters and `MAX_HOOK_HANDLERS` handlers."""

def check_limits(registration: Registration) -> str | None:
    """What `registration` registered beyond a limit, or None."""
    if len(registration.routes) > MAX_ROUTES:
        return f"the endpoint registered {len(registration.routes)} routes; at most {MAX_ROUTES} are allowed"
    handlers = len(registration.filters) + len(registration.actions)
    if handlers > MAX_HOOK_HANDLERS:
        return (
            f"the hook registered {handlers} handlers ({len(registration.filters)} filters, "
            f"{len(registration.actions)} actions); at most {MAX_HOOK_HANDLERS} are allowed"
        )
    for route in registration.routes:
        if len(route.path) > MAX_ROUTE_PATH_LENGTH:
            return (
                f"route {route.method} {route.path[:40]!r}... is {len(route.path)} characters long; "
                f"at most {MAX_ROUTE_PATH_LENGTH} are allowed"
            )
    return None
