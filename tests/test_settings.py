"""Settings are checked before anything starts: a bad value is one line naming the variable,
the value and what is expected, and exit status 2, for every command; `exthost config`
prints the effective settings with every secret masked."""

from __future__ import annotations

import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from host.config import Settings
from host.paths import PROJECT_ROOT
from host.settingsview import SettingsError, load_settings

# A bad value for every setting that can have one, by kind of setting.
BAD_BY_TYPE: dict[object, str] = {int: "abc", bool: "maybe"}
BAD_BY_NAME = {
    "PORT": "-1", "HOST": "", "LOG_LEVEL": "loud", "LOG_STYLE": "fancy", "DB_URL": "mysql://u:pw@h/db",
    "REDIS": "http://u:pw@cache", "USER_TOKENS": "only-a-token", "ITEMS_PERMISSIONS": "{not json",
    "MAX_PAYLOAD_SIZE": "lots", "MAX_JSON_DEPTH": "501", "IMPORT_IP_DENY_LIST": None, "FLOWS_ENV_ALLOW_LIST": None,
    "FLOWS_SCHEDULE_TIMEZONE": "Mars/Base", "FLOWS_LOG_RETENTION": "30x", "QUEUE_NAMESPACE": "",
    "CORS_ORIGIN": "regex:[", "CORS_METHODS": None, "CORS_ALLOWED_HEADERS": None, "CORS_EXPOSED_HEADERS": None,
    "EXTENSIONS_SANDBOX_MEMORY": "abc", "NPM_REGISTRY": "ftp://registry.example", "EMAIL_SMTP_PORT": "0", "CORS_MAX_AGE": "-5",
}
"""None: every text is a valid value (a list of names, a path, ...)."""
ANY_TEXT = {"EXTENSIONS_PATH", "DATA_PATH", "EXTENSIONS_CACHE_PATH", "ADMIN_TOKEN", "EMAIL_FROM", "EMAIL_SMTP_HOST",
            "EMAIL_SMTP_USER", "EMAIL_SMTP_PASSWORD", "EMAIL_TEMPLATES_PATH"}
SECRET_VALUES = ("s3cret-admin-token", "s3cret-user-token", "s3cret-redis-pw", "s3cret-db-pw", "s3cret-smtp-pw")


def bad_value(name: str) -> str | None:
    if name in BAD_BY_NAME:
        return BAD_BY_NAME[name]
    annotation = Settings.model_fields[name.lower()].annotation
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return BAD_BY_TYPE.get(args[0] if len(args) == 1 else annotation)


CHECKED = [name.upper() for name in Settings.model_fields if bad_value(name.upper()) is not None]


def test_every_setting_is_known_here() -> None:
    """A new setting needs a bad value above (or a place in ANY_TEXT): it is then tested below."""
    unknown = {name.upper() for name in Settings.model_fields} - set(CHECKED) - ANY_TEXT - {
        name for name, value in BAD_BY_NAME.items() if value is None}
    assert not unknown


@pytest.mark.parametrize("name", CHECKED)
def test_a_bad_value_is_one_line_naming_it(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    value = bad_value(name)
    assert value is not None
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    [line] = refused.value.lines
    assert line.startswith(f"invalid setting {name}=") and ": expected " in line, line
    assert "\n" not in line and len(line) < 300
    assert ":pw@" not in line, line  # a URL's password is masked


def run_cli(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**clean, "PYTHONPATH": str(PROJECT_ROOT), "DATA_PATH": str(tmp_path / "data"), **env},
    )


@pytest.mark.parametrize(("env", "line"), [
    ({"PORT": "-1"}, 'exthost: invalid setting PORT="-1": expected a whole number from 0 to 65535'),
    ({"EXTENSIONS_SANDBOX_MEMORY": "abc"},
     'exthost: invalid setting EXTENSIONS_SANDBOX_MEMORY="abc": expected a whole number of 1 or more'),
    ({"LOG_STYLE": "json"}, 'exthost: invalid setting LOG_STYLE="json": expected one of pretty, raw'),
    ({"RATE_LIMITER_ENABLED": "sometimes"},
     'exthost: invalid setting RATE_LIMITER_ENABLED="sometimes": expected true or false'),
    ({"MAX_PAYLOAD_SIZE": "1 parsec"},
     'exthost: invalid setting MAX_PAYLOAD_SIZE="1 parsec": expected a size: use a number of bytes or e.g. 500kb, '
     "1mb, 2gb"),
])
def test_serve_refuses_a_bad_setting_before_it_starts(env: dict[str, str], line: str, tmp_path: Path) -> None:
    result = run_cli("serve", tmp_path=tmp_path, **env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]
    assert result.stdout == ""
    assert not (tmp_path / "data").exists()  # nothing started, nothing created


@pytest.mark.parametrize("command", [["config"], ["validate", "."], ["extensions"], ["serve", "--workers", "2"]])
def test_every_command_checks_the_settings_first(command: list[str], tmp_path: Path) -> None:
    result = run_cli(*command, tmp_path=tmp_path, QUEUE_CONCURRENCY="lots")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        'exthost: invalid setting QUEUE_CONCURRENCY="lots": expected a whole number from 1 to 256']


def test_a_bad_port_option_is_refused_as_well(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "70000", tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        'exthost: invalid setting PORT="70000": expected a whole number from 0 to 65535']


def test_a_bad_secret_is_named_but_not_shown(tmp_path: Path) -> None:
    result = run_cli("config", tmp_path=tmp_path, USER_TOKENS="s3cret-user-token")
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["exthost: invalid setting USER_TOKENS=****: expected 'token:user:role'"]
    redis = run_cli("config", tmp_path=tmp_path, REDIS="http://user:s3cret-redis-pw@cache:6379")
    assert redis.returncode == 2 and "s3cret" not in redis.stderr and "REDIS=" in redis.stderr


def test_config_prints_the_effective_settings_with_secrets_masked(tmp_path: Path) -> None:
    result = run_cli(
        "config", tmp_path=tmp_path,
        ADMIN_TOKEN="s3cret-admin-token", USER_TOKENS="s3cret-user-token:bob:editor",
        REDIS="redis://:s3cret-redis-pw@127.0.0.1:6379/0", DB_URL="postgresql://app:s3cret-db-pw@db.example/app",
        EMAIL_SMTP_PASSWORD="s3cret-smtp-pw", PORT="9000", CORS_ORIGIN="https://a.example,https://b.example",
    )
    assert result.returncode == 0, result.stderr
    for secret in SECRET_VALUES:
        assert secret not in result.stdout
    shown = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert set(shown) == {name.upper() for name in Settings.model_fields}
    assert shown["PORT"] == "9000"
    assert shown["ADMIN_TOKEN"] == "****" and shown["EMAIL_SMTP_PASSWORD"] == "****"
    assert shown["USER_TOKENS"] == '[{"token": "****", "user": "bob", "role": "editor"}]'
    assert shown["REDIS"] == "redis://:****@127.0.0.1:6379/0"
    assert shown["DB_URL"] == "postgresql://app:****@db.example/app"
    assert shown["CORS_ORIGIN"] == "https://a.example,https://b.example"
    assert shown["LOG_STYLE"] == "pretty" and shown["RATE_LIMITER_ENABLED"] == "false"
    as_json = run_cli("config", "--json", tmp_path=tmp_path, ADMIN_TOKEN="s3cret-admin-token")
    assert '"ADMIN_TOKEN": "****"' in as_json.stdout and "s3cret" not in as_json.stdout
