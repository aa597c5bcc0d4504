"""The log lines of `exthost serve`: `LOG_STYLE=pretty` (text) or `raw` (one JSON object a
line), at `LOG_LEVEL` (Directus's names: fatal, error, warn, info, debug, trace, silent).

Every line carries the process id and, when written while a request runs, its
`X-Request-Id` (`host.api.requestid`). Secrets are already gone from the record when it
reaches a formatter (`host.logredact` rewrites every record as it is made)."""

from __future__ import annotations

import json
import logging
import socket
from datetime import UTC, datetime
from typing import Any

from host.api.requestid import REQUEST_ID

TRACE = 5
LEVELS = {"fatal": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
          "debug": logging.DEBUG, "trace": TRACE, "silent": logging.CRITICAL + 10}
PRETTY_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s]: %(message)s"
"""Every line `exthost serve` prints, uvicorn's included: with workers, the pid tells them apart."""
_NAMES = {logging.CRITICAL: "fatal", logging.ERROR: "error", logging.WARNING: "warn", logging.INFO: "info",
          logging.DEBUG: "debug", TRACE: "trace"}


class RequestIdFilter(logging.Filter):
    """Sets `record.request_id`: the id of the request being served, or `-`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, pid, hostname, logger, request_id, msg (and stack)."""

    hostname = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": _NAMES.get(record.levelno, record.levelname.lower()),
            "pid": record.process,
            "hostname": self.hostname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "-")
        if request_id != "-":
            line["request_id"] = request_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["stack"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def level_number(level: str) -> int:
    return LEVELS[level]


def log_config(level: str = "info", style: str = "pretty") -> dict[str, Any]:
    """The `logging.config.dictConfig` of `exthost serve`, applied by uvicorn in every process."""
    logging.addLevelName(TRACE, "TRACE")
    number = level_number(level)
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if style == "raw" else {"format": PRETTY_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"exthost": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "exthost", "filters": ["request_id"],
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": number},
        # uvicorn's loggers propagate to the one handler instead of printing in their own format
        "loggers": {name: {"level": number, "handlers": [], "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
