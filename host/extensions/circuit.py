"""When an extension may be called: an administrator's enable/disable and a circuit breaker.

- A disabled extension (`PATCH /extensions/{name}` `{"meta": {"enabled": false}}`) is
  not called until it is enabled again; enabling resets everything below.
- After `EXTENSIONS_QUARANTINE_AFTER` faults in a row (traps, timeouts, running out of
  memory; a handler that throws is not a fault) the extension is quarantined: it rests
  `EXTENSIONS_QUARANTINE_BACKOFF` ms, then ONE call probes it while every other call is
  still refused. A probe that succeeds closes the breaker and resets the rest; one that
  faults doubles the rest, up to `MAX_BACKOFF_MS` (one hour).
- A refused call raises `ExtensionUnavailable` (503 `EXTENSION_UNAVAILABLE`): callers
  that guard something (filter hooks, filter-event flows) fail closed on it.

Every change is written to `exthost_extension_state` (`host.extensions.state`); a call
that changes nothing costs no query and no lock beyond the breaker's own.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from host.errors import ExtensionFailed, ExtensionFault, ExtensionUnavailable
from host.extensions.state import Clock, ExtensionState, ExtensionStates
from host.sandbox import Sandbox, SandboxStatus
from host.types import Json, Registration, Undefined

log = logging.getLogger("exthost.extensions")

MAX_BACKOFF_MS = 3_600_000
"""The longest rest of a quarantined extension (one hour), however often its probes fail."""


@dataclass(frozen=True)
class QuarantinePolicy:
    after: int
    """Faults in a row that quarantine an extension (`EXTENSIONS_QUARANTINE_AFTER`)."""
    backoff_ms: int
    """The first rest (`EXTENSIONS_QUARANTINE_BACKOFF`); each failed probe doubles it."""

    def next_backoff(self, current: int | None) -> int:
        if current is None:
            return self.backoff_ms
        return min(current * 2, max(MAX_BACKOFF_MS, self.backoff_ms))


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Probe:
    """The one call let through to test a quarantined extension."""


class CircuitBreaker:
    """The state machine of one extension; thread-safe, every transition returns the new state."""

    def __init__(self, state: ExtensionState, policy: QuarantinePolicy, clock: Clock) -> None:
        self._state = state
        self._policy = policy
        self._clock = clock
        self._probe: Probe | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> ExtensionState:
        return self._state

    def admit(self) -> Probe | None:
        """Let a call through (returns the `Probe` when it is the probe) or raise `ExtensionUnavailable`."""
        state = self._state
        if state.enabled and state.quarantined_until is None:
            return None
        with self._lock:
            state = self._state
            name = state.name
            if not state.enabled:
                raise ExtensionUnavailable(name, f'Extension "{name}" is disabled by an administrator')
            if state.quarantined_until is None:
                return None
            if self._clock() < state.quarantined_until:
                raise ExtensionUnavailable(
                    name,
                    f'Extension "{name}" is quarantined after {state.faults_in_a_row} faults in a row; '
                    f"the next probe call is allowed at {iso(state.quarantined_until)}",
                )
            if self._probe is not None:
                raise ExtensionUnavailable(
                    name, f'Extension "{name}" is quarantined; a probe call is running, try again later'
                )
            self._probe = Probe()
            return self._probe

    def _end_probe(self, probe: Probe | None) -> bool:
        """Whether `probe` is the current probe (which it then ends)."""
        if probe is not None and probe is self._probe:
            self._probe = None
            return True
        return False

    def succeeded(self, probe: Probe | None) -> ExtensionState | None:
        """A call that did not fault (it may have thrown); the new state if it changed."""
        state = self._state
        if probe is None and state.faults_in_a_row == 0:
            return None
        with self._lock:
            state = self._state
            if self._end_probe(probe) and state.quarantined_until is not None:
                log.warning("extension %s: the probe call succeeded, quarantine lifted", state.name)
                self._state = replace(state, faults_in_a_row=0, quarantined_until=None, backoff_ms=None)
            elif state.quarantined_until is None and state.faults_in_a_row:
                self._state = replace(state, faults_in_a_row=0)
            else:
                return None
            return self._state

    def failed(self, probe: Probe | None, message: str) -> ExtensionState:
        """A call that faulted; returns the new state."""
        with self._lock:
            state = self._state
            faults = state.faults_in_a_row + 1
            until, backoff = state.quarantined_until, state.backoff_ms
            if self._end_probe(probe) and until is not None:
                backoff = self._policy.next_backoff(backoff)
                until = self._clock() + backoff / 1000
                log.error("extension %s: the probe call faulted, quarantined for %d ms more", state.name, backoff)
            elif until is None and faults >= self._policy.after:
                backoff = self._policy.next_backoff(None)
                until = self._clock() + backoff / 1000
                log.error("extension %s quarantined for %d ms after %d faults in a row", state.name, backoff, faults)
            else:
                log.warning("extension %s faulted (%d in a row): %s", state.name, faults, message)
            self._state = replace(
                state, faults_in_a_row=faults, quarantined_until=until, backoff_ms=backoff, last_error=message
            )
            return self._state

    def released(self, probe: Probe | None) -> None:
        """A call that ended neither way (cancelled, refused by the host): a probe may run again."""
        with self._lock:
            self._end_probe(probe)

    def set_enabled(self, enabled: bool) -> ExtensionState:
        """An administrator's decision; enabling resets faults and quarantine."""
        with self._lock:
            if enabled:
                self._probe = None
                self._state = replace(
                    self._state, enabled=True, faults_in_a_row=0, quarantined_until=None, backoff_ms=None
                )
            else:
                self._state = replace(self._state, enabled=False)
            return self._state

    def status(self) -> SandboxStatus | None:
        state = self._state
        if not state.enabled:
            return SandboxStatus.disabled
        if state.quarantined_until is not None:
            return SandboxStatus.quarantined
        return None

    def describe(self) -> dict[str, Any]:
        """The state fields of `GET /extensions`."""
        state = self._state
        probe: str | None = None
        if state.quarantined_until is not None:
            if self._probe is not None:
                probe = "running"
            else:
                probe = "allowed" if self._clock() >= state.quarantined_until else "waiting"
        return {
            "enabled": state.enabled,
            "faults_in_a_row": state.faults_in_a_row,
            "backoff_ms": state.backoff_ms,
            "next_probe_at": None if state.quarantined_until is None else iso(state.quarantined_until),
            "probe": probe,
        }


Save = Callable[[ExtensionState], Awaitable[None]]


class GuardedSandbox:
    """A `Sandbox` behind its extension's circuit breaker: what the registry holds."""

    def __init__(self, inner: Sandbox, breaker: CircuitBreaker, save: Save | None = None) -> None:
        self.inner = inner
        self.breaker = breaker
        self._save = save
        self._saving: asyncio.Lock | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def runtime(self) -> str:
        return self.inner.runtime

    @property
    def registration(self) -> Registration:
        return self.inner.registration

    @property
    def status(self) -> SandboxStatus:
        if self.inner.status is SandboxStatus.closed:
            return SandboxStatus.closed
        return self.breaker.status() or self.inner.status

    @property
    def last_error(self) -> str | None:
        return self.breaker.state.last_error

    async def call(self, handler: int, args: Sequence[Json]) -> Json | Undefined:
        probe = self.breaker.admit()
        try:
            result = await self.inner.call(handler, args)
        except ExtensionFault as fault:
            self.breaker.failed(probe, fault.message)
            await self._persist()
            raise
        except ExtensionFailed:  # the handler threw: the instance is healthy
            if self.breaker.succeeded(probe) is not None:
                await self._persist()
            raise
        except BaseException:
            self.breaker.released(probe)
            raise
        if self.breaker.succeeded(probe) is not None:
            await self._persist()
        return result

    async def set_enabled(self, enabled: bool) -> None:
        """An administrator's enable or disable; raises if it could not be stored."""
        self.breaker.set_enabled(enabled)
        log.warning("extension %s %s by an administrator", self.name, "enabled" if enabled else "disabled")
        await self._persist(quiet=False)

    async def _persist(self, *, quiet: bool = True) -> None:
        """Write the current state; serialized, so the last write is always the latest state."""
        if self._save is None:
            return
        if self._saving is None:
            self._saving = asyncio.Lock()
        async with self._saving:
            try:
                await self._save(self.breaker.state)
            except Exception:
                if not quiet:
                    raise
                # the state stays in force in this process; its next change is written again
                log.exception("extension %s: its state could not be saved", self.name)

    def close(self) -> None:
        self.inner.close()


def guard(sandbox: Sandbox, states: ExtensionStates, policy: QuarantinePolicy) -> GuardedSandbox:
    """`sandbox` behind a breaker holding its stored state, saving every change to `states`."""
    breaker = CircuitBreaker(states.get(sandbox.name), policy, states.clock)
    return GuardedSandbox(sandbox, breaker, states.save)
