"""Who may do what on which collection (`ITEMS_PERMISSIONS`).

The admin (the admin token, or a `USER_TOKENS` user whose role is `admin`) may do
everything. Any other role may do only what `ITEMS_PERMISSIONS` grants it:
`{"editor": {"*": ["*"]}, "viewer": {"*": ["read"]}, "bot": {"orders": ["create"]}}`.
A role that is not listed may do nothing (403), as in Directus. The role named
`public` holds the public rights (what a flow operation with `permissions: "$public"`
may do). A caller without a user (`None`, a schedule, or the public accountability of
an anonymous webhook: no user, no role) may do nothing at all.
"""

from __future__ import annotations

from typing import Literal

from host.config import Settings
from host.errors import Forbidden
from host.types import Accountability

Action = Literal["read", "create", "update", "delete"]

ADMIN_ROLE = "admin"
PUBLIC_ROLE = "public"


def allowed(settings: Settings, who: Accountability | None, collection: str, action: Action) -> bool:
    if who is None:
        return False
    if who.admin:
        return True
    grants = settings.items_permissions.get(who.role or "", {})
    actions = [*grants.get(collection, []), *grants.get("*", [])]
    return action in actions or "*" in actions


def check_access(settings: Settings, who: Accountability | None, collection: str, action: Action) -> None:
    if allowed(settings, who, collection, action):
        return
    if who is None or (who.user is None and who.role is None):
        raise Forbidden(f'Without a user (anonymous), you don\'t have permission to {action} items in "{collection}".')
    raise Forbidden(f'You don\'t have permission to {action} items in "{collection}".')
