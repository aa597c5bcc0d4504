"""Secrets: what a guest never sees and what no log ever shows.

- **Callers' credentials never reach a guest.** `guest_headers()` drops the
  `Authorization`, `Cookie` and `Proxy-Authorization` headers (any case, every
  repetition); `guest_query()` drops every `access_token` query parameter, whatever
  its position and however its name is encoded (`access%5Ftoken`, `%61ccess_token`,
  `ACCESS_TOKEN`, `access_token[]`). Every request a guest sees (endpoint requests,
  webhook and manual flow triggers) is built with these two.
- **Configured secrets are redacted by value.** `configured_secrets()` lists
  `ADMIN_TOKEN`, every `USER_TOKENS` token, `EMAIL_SMTP_PASSWORD` and every value of
  a `FLOWS_ENV_ALLOW_LIST` variable; a `Redactor` replaces each wherever it appears
  inside a string with `REDACTED` (Directus's marker), percent-encoded as a URL carries
  it too. Values shorter than
  `MIN_SECRET_LENGTH` are not redacted by value: they would match ordinary words
  and numbers (`true`, `8055`, `admin`) all over a log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, quote_plus, unquote_plus

from host.config import Settings
from host.types import Json

REDACTED = "--redacted--"
"""Directus's `REDACTED_TEXT`."""

MIN_SECRET_LENGTH = 6
"""Shorter values are not redacted by value (see the module docstring)."""

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
TOKEN_PARAMETER = "access_token"
_DECODE_ROUNDS = 4


def is_secret_header(name: str) -> bool:
    return name.strip().lower() in SECRET_HEADERS


def is_token_parameter(name: str) -> bool:
    """True for a query parameter name a server (or a guest decoding once more) could read
    as `access_token`: percent- and plus-decoded until stable, any case, with or without
    a `[...]` suffix."""
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    return name.split("[", 1)[0].strip().lower() == TOKEN_PARAMETER


def guest_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Request headers as a guest may see them: lower-case names, secrets removed."""
    return {name.lower(): value for name, value in headers if not is_secret_header(name)}


@dataclass(frozen=True)
class GuestQuery:
    string: str
    """The raw query string without the token parameters (each other pair as it was sent)."""
    params: dict[str, str | list[str]]
    """The decoded parameters: a value, or a list for a repeated name."""


def guest_query(raw: bytes | str) -> GuestQuery:
    """The query string `raw` (the ASGI scope's `query_string`) as a guest may see it:
    every `access_token` parameter removed (also one after a `;` inside a pair).

    Pairs are split and decoded exactly as the server decodes them (latin-1, `parse_qsl`,
    blank values kept), so what the host's authentication reads as a token is removed.
    """
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    if not raw:
        return GuestQuery("", {})
    kept: list[str] = []
    params: dict[str, str | list[str]] = {}
    for segment in raw.split("&"):
        if ";" in segment:  # `a=1;access_token=...`: a parser splitting on `;` would read a token
            segment = ";".join(part for part in segment.split(";") if not _is_token_pair(part))
        pairs = parse_qsl(segment, keep_blank_values=True)
        if not pairs or is_token_parameter(pairs[0][0]):
            continue
        name, value = pairs[0]
        kept.append(segment)
        existing = params.get(name)
        if existing is None:
            params[name] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            params[name] = [existing, value]
    return GuestQuery("&".join(kept), params)


def _is_token_pair(part: str) -> bool:
    pairs = parse_qsl(part, keep_blank_values=True)
    return bool(pairs) and is_token_parameter(pairs[0][0])


def configured_secrets(settings: Settings) -> list[str]:
    """Every value the host redacts wherever it appears: its credentials (`ADMIN_TOKEN`,
    `USER_TOKENS`, `EMAIL_SMTP_PASSWORD`, the `REDIS` URL and its password) and the values of
    the flows' `$env`, read now (the environment may change while the host runs)."""
    values = [*settings.credentials(), *settings.flows_env().values()]
    return [value for value in values if len(value) >= MIN_SECRET_LENGTH]


def short_credentials(settings: Settings) -> list[str]:
    """The names of the host's credentials too short to be redacted by value."""
    names = []
    if settings.admin_token and len(settings.admin_token) < MIN_SECRET_LENGTH:
        names.append("ADMIN_TOKEN")
    if any(len(token) < MIN_SECRET_LENGTH for token in settings.user_tokens):
        names.append("USER_TOKENS")
    if settings.email_smtp_password and len(settings.email_smtp_password) < MIN_SECRET_LENGTH:
        names.append("EMAIL_SMTP_PASSWORD")
    return names


_URL_SAFE = ("", "/", "/!$&'()*+,;=:@?")
"""What `quote` leaves as is when a URL carries a value: nothing, a path, a query (RFC 3986)."""


def url_forms(value: str) -> set[str]:
    """`value` and the forms a URL carries it in: percent-encoded as a path, a query or a
    form field (a remote server echoing the URL it was sent shows the encoded form)."""
    return {value, quote_plus(value), *(quote(value, safe=safe) for safe in _URL_SAFE)}


class Redactor:
    """Replaces each of a set of secret values (longest first) wherever it appears in a string,
    as it is and in the forms a URL carries it in (`url_forms`)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        secrets = [value for value in values if len(value) >= MIN_SECRET_LENGTH]
        fresh = {form for value in secrets for form in url_forms(value)} - self._values
        if not fresh:
            return
        self._values |= fresh
        ordered = sorted(self._values, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(value) for value in ordered))

    def __bool__(self) -> bool:
        return self._pattern is not None

    @property
    def values(self) -> frozenset[str]:
        """Every form redacted."""
        return frozenset(self._values)

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(REDACTED, value)

    def json(self, value: Json) -> Json:
        """`value` with every string, keys included, redacted, however deeply nested."""
        if self._pattern is None:
            return value
        return self._json(value)

    def _json(self, value: Json) -> Json:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(key)): self._json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._json(item) for item in value]
        return value
