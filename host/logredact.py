"""No log line shows a secret: one filter, applied to every log record of the process.

The filter runs when a record is made (it is installed as the log record factory), so
every logger and every handler sees redacted records: uvicorn's access log (whose
request line carries the query string), the host's own loggers, httpx, and a test's
`caplog`. It rewrites the message, each argument, the stack and the exception text:

- the value of every `access_token=` pair of a query string (the name in any
  encoding, see `host.redaction.is_token_parameter`);
- `Bearer <token>` and the values of `Authorization:`, `Proxy-Authorization:` and
  `Cookie:` (as in a header dump or a dict of headers);
- every configured secret by value (`host.redaction.configured_secrets`) of each
  running app (`watch()`, called by the lifespan).

Arguments are redacted one by one and keep their positions and types where no secret
is found (uvicorn's access formatter reads them by position); only when a secret is
split between the format string and an argument (`"access_token=%s"`) is the record's
message replaced by the redacted, formatted text.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from host.config import Settings
from host.redaction import (
    MIN_SECRET_LENGTH,
    REDACTED,
    Redactor,
    configured_secrets,
    is_token_parameter,
    short_credentials,
)

_QUERY_PAIR = re.compile(r"(?P<head>(?:^|[?&;\s\"'(])(?P<name>[^=&?;\s#\"'()]+)=)(?P<value>[^&;\s#\"')]*)")
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)[^\s\"',;)}\]]{" + str(MIN_SECRET_LENGTH) + ",}")
_HEADER = re.compile(
    r"(?i)(?P<head>[\"']?\b(?:proxy-authorization|authorization|cookie)[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\"'\r\n,}]+)"
)
log = logging.getLogger("exthost")
_PLAIN = (str, int, float, bool, type(None))


class SecretFilter(logging.Filter):
    """Redacts a record in place; never drops one."""

    def __init__(self) -> None:
        super().__init__()
        self._apps: dict[int, Settings] = {}
        self._redactors: dict[frozenset[str], Redactor] = {}
        self._lock = threading.Lock()

    def watch(self, settings: Settings) -> None:
        with self._lock:
            self._apps[id(settings)] = settings

    def forget(self, settings: Settings) -> None:
        with self._lock:
            self._apps.pop(id(settings), None)

    def _redactor(self) -> Redactor:
        values = frozenset(value for settings in list(self._apps.values()) for value in configured_secrets(settings))
        found = self._redactors.get(values)
        if found is None:
            if len(self._redactors) > 64:
                self._redactors.clear()
            found = self._redactors[values] = Redactor(values)
        return found

    def scrub(self, text: str, redactor: Redactor | None = None) -> str:
        text = (redactor or self._redactor()).text(text)
        if "=" in text:
            text = _QUERY_PAIR.sub(_query_value, text)
        text = _HEADER.sub(lambda m: m.group("head") + REDACTED, text)
        return _BEARER.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = self._redactor()
        if record.args:
            # Each argument on its own (uvicorn's access formatter reads them by position);
            # the format string by value only, its placeholders intact.
            record.msg = redactor.text(record.msg) if isinstance(record.msg, str) else self._value(record.msg, redactor)
            if isinstance(record.args, tuple):
                record.args = tuple(self._value(arg, redactor) for arg in record.args)
            elif isinstance(record.args, dict):
                record.args = {key: self._value(arg, redactor) for key, arg in record.args.items()}
            try:
                message = record.getMessage()
            except Exception:  # a bad format string stays the handler's problem, as without us
                message = None
            if message is not None:
                clean = self.scrub(message, redactor)
                if clean != message:  # a secret split between the format and an argument
                    record.msg, record.args = clean, None
        else:
            record.msg = self._value(record.msg, redactor)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info, redactor)
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            clean = self.scrub(text, redactor)
            if clean != text:
                record.exc_text = clean
        return True

    def _value(self, value: Any, redactor: Redactor) -> Any:
        if isinstance(value, str):
            return self.scrub(value, redactor)
        if isinstance(value, _PLAIN):
            return value
        try:
            text = str(value)
        except Exception:
            return value
        clean = self.scrub(text, redactor)
        return value if clean == text else clean


def _query_value(match: re.Match[str]) -> str:
    if is_token_parameter(match.group("name")) and match.group("value"):
        return match.group("head") + REDACTED
    return match.group(0)


SECRETS = SecretFilter()
_installed = False
_install_lock = threading.Lock()


def install() -> SecretFilter:
    """Make `SECRETS` run on every record of the process (once)."""
    global _installed
    with _install_lock:
        if not _installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                SECRETS.filter(record)
                return record

            logging.setLogRecordFactory(factory)
            _installed = True
    return SECRETS


def watch(settings: Settings) -> None:
    """From now on, `settings`' configured secrets are redacted from every log record
    (the lifespan calls it at start-up and `forget` at shut-down)."""
    install().watch(settings)
    short = short_credentials(settings)
    if short:
        log.warning(
            "%s shorter than %d characters: not redacted by value from logs and the run log",
            ", ".join(short),
            MIN_SECRET_LENGTH,
        )


def forget(settings: Settings) -> None:
    SECRETS.forget(settings)
