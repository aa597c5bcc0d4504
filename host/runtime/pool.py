"""`PooledSandbox`: the `Sandbox` of one extension, backed by a pool of instances.

Calls run on worker threads (wasmtime releases the GIL while the guest runs),
so a slow extension never stalls the event loop. Each sandbox has its own
threads, at most its pool size: a call that waits (`sleep`, `request`, a guest
blocking in WASI) holds one of its own extension's threads and never one that
another extension needs; calls beyond the pool size queue. Threads are started
on demand, so the host runs at most (loaded extensions x pool size) guest threads.
An instance that faulted is dropped and a new one is made on demand.
With `Limits.single_use` every instance serves one call and is dropped; a fresh
one is made for the next call, off the caller's path, on the extension's own threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from pydantic import ValidationError

from host.capabilities import CallContext
from host.errors import (
    ExtensionFailed,
    ExtensionFault,
    ExtensionLoadError,
    ExtensionUnavailable,
    InvalidExtensionOutput,
)
from host.extensions.limits import MAX_REGISTRATION_BYTES
from host.jsontext import JsonRefused, JsonTooDeep, loads
from host.runtime.faults import output_refused
from host.sandbox import Limits, SandboxStatus
from host.types import UNDEFINED, ExtensionKind, Json, RegisterContext, Registration, Undefined

log = logging.getLogger("exthost.runtime")


class GuestInstance(Protocol):
    """What a driver (component or Extism) gives the pool: one isolated instance."""

    def register(self, source: str, context: RegisterContext, call: CallContext, timeout_ms: int) -> str: ...

    def invoke(self, handler: int, args_json: str, call: CallContext, timeout_ms: int) -> str: ...


def read_registration(name: str, text: str) -> Registration:
    """What `register` returned, refused past `MAX_REGISTRATION_BYTES` before anything parses it
    (validating millions of entries would take the host minutes and gigabytes), the error naming
    at most `_SHOWN_ERRORS` of the problems."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_REGISTRATION_BYTES:
        message = f"the extension registered {size} bytes of routes and handlers; at most {MAX_REGISTRATION_BYTES}"
        raise ExtensionLoadError(name, message + " are allowed")
    try:
        return Registration.model_validate_json(text)
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False)
        shown = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'registration'}: {problem['msg']}"
            for problem in problems[:_SHOWN_ERRORS]
        )
        more = f"; and {len(problems) - _SHOWN_ERRORS} more" if len(problems) > _SHOWN_ERRORS else ""
        raise ExtensionLoadError(name, f"the extension registered something invalid: {shown}{more}") from None


_SHOWN_ERRORS = 5


def encode_args(args: Sequence[Json]) -> str:
    """The JSON text of a call's arguments, non-ASCII characters as themselves: the text a JS
    guest decodes and holds takes a third to a sixth of what `\\u00e9` escapes would (a 5 MB
    body of accented text was 16 MB of escapes). A string holding a lone surrogate cannot cross
    as UTF-8: then the escaped form, as before."""
    text = json.dumps(list(args), allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(list(args), allow_nan=False, separators=(",", ":"))
    return text


class PooledSandbox:
    def __init__(
        self,
        name: str,
        runtime: str,
        factory: Callable[[], GuestInstance],
        source: str,
        context: RegisterContext,
        limits: Limits,
        register_timeout_ms: int,
    ) -> None:
        self._name = name
        self._runtime = runtime
        self._factory = factory
        self._source = source
        self._context = context
        self._limits = limits
        self._register_timeout_ms = register_timeout_ms
        self._idle: list[GuestInstance] = []
        self._lock = threading.Lock()
        self._slots: asyncio.Semaphore | None = None
        self._status = SandboxStatus.ready
        self._preparing = 0
        self.instances_made = 0
        first, text = self._new_instance()
        self._registration = read_registration(name, text)
        self._idle.append(first)
        # this extension's own threads: while its calls wait, nobody else's are held
        self._threads = ThreadPoolExecutor(max_workers=limits.pool_size, thread_name_prefix=f"exthost-{name}")

    # -- the Sandbox protocol -------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def runtime(self) -> str:
        return self._runtime

    @property
    def registration(self) -> Registration:
        return self._registration

    @property
    def status(self) -> SandboxStatus:
        return self._status

    async def call(self, handler: int, args: Sequence[Json]) -> Json | Undefined:
        try:
            args_json = encode_args(args)
        except (TypeError, ValueError) as exc:
            raise ExtensionFailed(self._name, f"arguments cannot be sent as JSON: {exc}") from None
        return self.decode_result(await self.call_json(handler, args_json))

    async def call_json(self, handler: int, args_json: str) -> str:
        if self._status is SandboxStatus.closed:
            raise ExtensionUnavailable(self._name, f'Extension "{self._name}" is closed')
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._limits.pool_size)
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._threads, self.call_sync, handler, args_json)

    def decode_result(self, text: str) -> Json | Undefined:
        return UNDEFINED if text == "" else self._decode_output(text)

    def _decode_output(self, text: str) -> Json:
        """What a call returned, read by the host's one JSON decoder (`MAX_JSON_DEPTH`, numbers,
        encoding, and no more host memory decoded than the instance may have:
        `EXTENSIONS_SANDBOX_MEMORY`). A refusal is a 400 naming the extension; the instance is
        sound and kept."""
        envelope = 1 if self._registration.kind is ExtensionKind.endpoint else 0  # {status, body, headers}
        try:
            return loads(text, self._limits.json_depth + envelope, self._limits.memory_bytes)
        except JsonTooDeep:
            reason = f"JSON nested deeper than MAX_JSON_DEPTH ({self._limits.json_depth} levels)"
        except JsonRefused as exc:
            reason = output_refused(exc)
        raise InvalidExtensionOutput(self._name, f'Extension "{self._name}" returned {reason}')

    def close(self) -> None:
        self._status = SandboxStatus.closed
        with self._lock:
            self._idle.clear()
        self._threads.shutdown(wait=False, cancel_futures=True)

    # -- instances ------------------------------------------------------------

    def _new_instance(self) -> tuple[GuestInstance, str]:
        instance = self._factory()
        context = CallContext(self._name, time.monotonic() + self._register_timeout_ms / 1000)
        text = instance.register(self._source, self._context, context, self._register_timeout_ms)
        self.instances_made += 1
        return instance, text

    def _checkout(self) -> GuestInstance:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new_instance()[0]

    def _checkin(self, instance: GuestInstance, *, used: bool = True) -> None:
        if used and self._limits.single_use:
            return
        with self._lock:
            if len(self._idle) < self._limits.pool_size and self._status is not SandboxStatus.closed:
                self._idle.append(instance)

    def _prepare_next(self) -> None:
        """Single use: make a fresh instance for a later call on another worker thread."""
        with self._lock:
            if self._status is SandboxStatus.closed or len(self._idle) + self._preparing >= self._limits.pool_size:
                return
            self._preparing += 1
        self._threads.submit(self._prepare)

    def _prepare(self) -> None:
        try:
            instance = self._new_instance()[0]
        except Exception as exc:
            log.warning("extension %s: a fresh instance could not be made: %s", self._name, exc)
            return
        finally:
            with self._lock:
                self._preparing -= 1
        self._checkin(instance, used=False)

    def call_sync(self, handler: int, args_json: str) -> str:
        """Run one call on this thread (used by `call`, and by benchmarks)."""
        instance = self._checkout()
        context = CallContext(self._name, time.monotonic() + self._limits.wall_timeout_ms / 1000)
        try:
            result = instance.invoke(handler, args_json, context, self._limits.timeout_ms)
        except ExtensionFault:
            raise  # a poisoned instance is not checked in: the next call gets a fresh one
        except BaseException:
            self._checkin(instance)
            raise
        finally:
            if self._limits.single_use:
                self._prepare_next()
        self._checkin(instance)
        return result
