"""The one place where engine errors (wasmtime traps and errors, Extism errors)
and guest-reported failures become host exceptions."""

from __future__ import annotations

import json

from pydantic import ValidationError

from host.errors import (
    ExtensionFailed,
    ExtensionFault,
    ExtensionOutOfMemory,
    ExtensionStackOverflow,
    ExtensionTimeout,
)
from host.jsontext import JsonRefused, JsonTooLarge
from host.sandbox import guest_text
from host.types import GuestError

_TIMEOUT_MARKS = ("wasm trap: interrupt", "epoch deadline", "timeout", "timed out")
_STACK_MARKS = ("call stack exhausted", "stack overflow")
_MEMORY_MARKS = ("out of memory", "memory allocation", "memory.grow", "oom")


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if not line[:1].isdigit():
            return line
    return lines[-1] if lines else "unknown error"


def first_line(message: str) -> str:
    """The first non-empty line of an engine message (the rest is a backtrace)."""
    return next((line.strip() for line in message.splitlines() if line.strip()), "unknown error")


def translate_engine_error(extension: str, error: BaseException, timeout_ms: int) -> ExtensionFault:
    """A trap or engine error: the instance that raised it must not be used again."""
    text = str(error)
    lowered = text.lower()
    if any(mark in lowered for mark in _TIMEOUT_MARKS):
        return ExtensionTimeout(extension, f'Extension "{extension}" exceeded its {timeout_ms} ms time limit')
    if any(mark in lowered for mark in _STACK_MARKS):
        return ExtensionStackOverflow(extension, f'Extension "{extension}" overflowed its stack')
    if any(mark in lowered for mark in _MEMORY_MARKS):
        return ExtensionOutOfMemory(extension, f'Extension "{extension}" ran out of memory')
    return ExtensionFault(extension, f'Extension "{extension}" crashed: {_last_line(text)}')


def translate_guest_error(extension: str, payload: str) -> ExtensionFailed:
    """A `failed` call state: the guest threw (or its runtime reported a fault)."""
    try:
        error = GuestError.model_validate_json(payload)
    except (ValidationError, json.JSONDecodeError):
        return ExtensionFailed(extension, f'Extension "{extension}" failed with an unreadable error: {payload[:200]!r}')
    if error.fault == "out-of-memory":
        return ExtensionOutOfMemory(extension, f'Extension "{extension}" ran out of memory')
    if error.fault == "stack-overflow":
        return ExtensionStackOverflow(extension, f'Extension "{extension}" overflowed its stack')
    failure = ExtensionFailed(extension, guest_text(error.message))
    failure.stack = guest_text(error.stack) if error.stack else None
    return failure


def translate_extism_error(extension: str, error: BaseException, timeout_ms: int, *, cancelled: bool) -> ExtensionFault:
    """An Extism call that failed: a trap, the wall-clock `timeout_ms`, or a cancel by the guest-time watchdog."""
    if cancelled:
        return ExtensionTimeout(extension, f'Extension "{extension}" exceeded its {timeout_ms} ms time limit')
    text = str(error)
    if text.startswith("error while executing at wasm backtrace"):
        # Extism reports a trap as its backtrace only: name the function that trapped
        frames = [line.split(" - ", 1)[1].strip() for line in text.splitlines() if " - " in line]
        where = f" in {frames[0]}" if frames else ""
        return ExtensionFault(extension, f'Extension "{extension}" crashed: wasm trap{where}')
    return translate_engine_error(extension, error, timeout_ms)


def output_refused(exc: JsonRefused) -> str:
    """Completes 'Extension "x" returned ...' for output the host's JSON decoder refused."""
    if isinstance(exc, JsonTooLarge):
        return f"output that {exc.reason} (EXTENSIONS_SANDBOX_MEMORY)"
    return f"output that {exc.reason}"
