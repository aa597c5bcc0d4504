"""`USER_TOKENS` and `ITEMS_PERMISSIONS`, as settings and as decisions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from host.auth import resolve_accountability
from host.config import Settings, UserToken
from host.errors import Unauthorized
from host.items.access import allowed
from host.types import Accountability


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        "t1:alice:editor, t2:bob:viewer",
        '{"t1": {"user": "alice", "role": "editor"}, "t2": {"user": "bob", "role": "viewer"}}',
        '[{"token": "t1", "user": "alice", "role": "editor"}, {"token": "t2", "user": "bob", "role": "viewer"}]',
    ],
)
def test_user_tokens_forms(value: str) -> None:
    assert settings(user_tokens=value).user_tokens == {
        "t1": UserToken(user="alice", role="editor"),
        "t2": UserToken(user="bob", role="viewer"),
    }


def test_user_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER_TOKENS", "t9:zoe:admin")
    monkeypatch.setenv("ITEMS_PERMISSIONS", '{"viewer": {"*": ["read"]}}')
    loaded = Settings(_env_file=None)  # type: ignore[call-arg]
    assert loaded.user_tokens == {"t9": UserToken(user="zoe", role="admin")}
    assert loaded.items_permissions == {"viewer": {"*": ["read"]}}


@pytest.mark.parametrize("value", ["t1:alice", "t1::editor", '{"t1": {"user": "a"}}'])
def test_malformed_user_tokens_are_refused_at_start(value: str) -> None:
    with pytest.raises(ValidationError):
        settings(user_tokens=value)


def test_unknown_permission_actions_are_refused() -> None:
    with pytest.raises(ValidationError):
        settings(items_permissions={"viewer": {"*": ["peek"]}})


def test_tokens_resolve_to_accountability() -> None:
    config = settings(admin_token="adm", user_tokens="t1:alice:editor,t2:zoe:admin")
    # Directus's shape: `roles` holds the role, `app` is the admin's
    admin = Accountability(user="admin", role="admin", roles=("admin",), admin=True, app=True)
    assert resolve_accountability(config, "adm") == admin
    alice = Accountability(user="alice", role="editor", roles=("editor",), admin=False, app=False)
    assert resolve_accountability(config, "t1") == alice
    assert resolve_accountability(config, "t2") == Accountability(user="zoe", role="admin", roles=("admin",), admin=True, app=True)
    assert resolve_accountability(config, None) is None
    with pytest.raises(Unauthorized):
        resolve_accountability(config, "t3")


def test_permissions() -> None:
    config = settings(items_permissions={"viewer": {"*": ["read"], "inbox": ["create"]}, "ops": {"logs": ["*"]}})
    viewer = Accountability(user="v", role="viewer")
    assert allowed(config, viewer, "anything", "read")
    assert allowed(config, viewer, "inbox", "create")
    assert not allowed(config, viewer, "anything", "create")
    assert allowed(config, Accountability(user="o", role="ops"), "logs", "delete")
    assert not allowed(config, Accountability(user="o", role="ops"), "other", "read")
    assert not allowed(config, Accountability(user="g", role="guest"), "logs", "read")
    assert allowed(config, Accountability(user="a", role="admin", admin=True), "logs", "delete")
