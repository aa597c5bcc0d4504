"""Settings as a person sees them: loaded before anything starts (a bad value is one line
naming the variable, the value and what is expected), and listed with secrets masked
(`exthost config`)."""

from __future__ import annotations

import json
import os
import typing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from host.config import Settings

MASK = "****"
SECRET_FIELDS = frozenset({"admin_token", "email_smtp_password"})
"""Settings shown as `****` whole; `USER_TOKENS` shows its users and roles, not its tokens;
`REDIS` and `DB_URL` show their URL without its password."""
URL_FIELDS = frozenset({"redis", "db_url"})


class SettingsError(Exception):
    """Settings that cannot be used: `lines` says which, one line a variable."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_settings(**overrides: Any) -> Settings:
    """The settings of the environment (and `.env`); `SettingsError` when a value is refused."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(problem_lines(exc, set(overrides))) from None


def problem_lines(exc: ValidationError, overridden: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    lines: list[str] = []
    seen: set[str] = set()
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        if field in seen or field not in Settings.model_fields:
            continue
        seen.add(field)
        name = field.upper()
        raw = error.get("input") if field in overridden else os.environ.get(name, error.get("input"))
        lines.append(f"invalid setting {name}={shown_input(field, raw)}: expected {expected(field, error)}")
    return lines or [str(exc).splitlines()[0]]


def shown_input(field: str, raw: object) -> str:
    if field in SECRET_FIELDS or field == "user_tokens":
        return MASK
    text = raw if isinstance(raw, str) else json.dumps(raw, default=str)
    if field in URL_FIELDS:
        text = masked_url(text)
    text = text if len(text) <= 80 else text[:77] + "..."
    return json.dumps(text)


def expected(field: str, error: Any) -> str:
    """What `field` takes: the validator's own words for the settings that parse their value,
    otherwise derived from the field's type and bounds."""
    if error.get("type") == "value_error":
        # the validators say "NAME 'value' is not X": the line already names both
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        _, found, rest = message.partition(" is not ")
        return rest if found else message
    return describe_type(Settings.model_fields[field])


def describe_type(info: FieldInfo) -> str:
    annotation = info.annotation
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    optional = type(None) in typing.get_args(annotation)
    if args and typing.get_origin(annotation) is not typing.Literal and optional and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(str(arg) for arg in typing.get_args(annotation))
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "a whole number" + _bounds(info)
    if annotation is Path:
        return "a file system path"
    if annotation is str:
        lengths = [m for m in info.metadata if isinstance(m, (MinLen, MaxLen))]
        return "text" + (" of " + " and ".join(_length(m) for m in lengths) if lengths else "")
    return "a valid value"


def _bounds(info: FieldInfo) -> str:
    low = high = None
    for item in info.metadata:
        if isinstance(item, Ge):
            low = int(item.ge)  # type: ignore[call-overload]
        elif isinstance(item, Gt):
            low = int(item.gt) + 1  # type: ignore[call-overload]
        elif isinstance(item, Le):
            high = int(item.le)  # type: ignore[call-overload]
        elif isinstance(item, Lt):
            high = int(item.lt) - 1  # type: ignore[call-overload]
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of {low} or more"
    if high is not None:
        return f" of {high} or less"
    return ""


def _length(item: MinLen | MaxLen) -> str:
    return f"at least {item.min_length} characters" if isinstance(item, MinLen) else f"at most {item.max_length}"


def masked_url(url: str) -> str:
    """`url` with its password (if any) replaced by `****`."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return MASK
    if not password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:{MASK}@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit(parts._replace(netloc=netloc))


def effective(settings: Settings) -> dict[str, str]:
    """Every setting by its environment variable name, as text, secrets masked."""
    shown: dict[str, str] = {}
    for field in Settings.model_fields:
        value = getattr(settings, field)
        if field in SECRET_FIELDS:
            text = MASK if value else ""
        elif field == "user_tokens":
            text = json.dumps([{"token": MASK, **entry.model_dump()} for entry in value.values()])
        elif field in URL_FIELDS:
            text = masked_url(value) if value else ""
        else:
            text = _text(value)
        shown[field.upper()] = text
    return shown


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, BaseModel):
        return "regex:" + str(value.model_dump().get("regex", ""))
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)
