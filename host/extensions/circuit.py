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

The state is stored (`host.extensions.state`) and shared by every process on the database:
each transition (a fault, a probe's outcome, an enable or disable) is computed from the
stored row inside one transaction (`after_fault`, `after_success`, `with_enabled` below),
and the breakers of the other processes adopt the result within about a second. A call
that changes nothing costs no query and no lock beyond the breaker's own. The probe is
let through per process: each process may run one probe once the rest is over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from host.errors import ExtensionFailed, ExtensionFault, ExtensionUnavailable
from host.extensions.activity import Activity
from host.extensions.stacks import StackMapper
from host.extensions.state import Change, Clock, ExtensionState, ExtensionStates
from host.sandbox import Sandbox, SandboxStatus
from host.types import Json, Registration, Undefined

log = logging.getLogger("exthost.extensions")
T = TypeVar("T")

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


def after_fault(
    state: ExtensionState, *, probing: bool, message: str, now: float, policy: QuarantinePolicy
) -> ExtensionState:
    """A call faulted (`probing`: it was this process's probe)."""
    faults = state.faults_in_a_row + 1
    until, backoff = state.quarantined_until, state.backoff_ms
    if probing and until is not None:
        backoff = policy.next_backoff(backoff)
        until = now + backoff / 1000
        log.error("extension %s: the probe call faulted, quarantined for %d ms more", state.name, backoff)
    elif until is None and faults >= policy.after:
        backoff = policy.next_backoff(None)
        until = now + backoff / 1000
        log.error("extension %s quarantined for %d ms after %d faults in a row", state.name, backoff, faults)
    else:
        log.warning("extension %s faulted (%d in a row): %s", state.name, faults, message)
    return replace(state, faults_in_a_row=faults, quarantined_until=until, backoff_ms=backoff, last_error=message)


def after_success(state: ExtensionState, *, probing: bool) -> ExtensionState:
    """A call did not fault (it may have thrown): a probe lifts the quarantine, any call ends a run of faults."""
    if probing and state.quarantined_until is not None:
        log.warning("extension %s: the probe call succeeded, quarantine lifted", state.name)
        return replace(state, faults_in_a_row=0, quarantined_until=None, backoff_ms=None)
    if state.quarantined_until is None and state.faults_in_a_row:
        return replace(state, faults_in_a_row=0)
    return state


def with_enabled(state: ExtensionState, enabled: bool) -> ExtensionState:
    """An administrator's decision; enabling resets faults and quarantine."""
    if enabled:
        return replace(state, enabled=True, faults_in_a_row=0, quarantined_until=None, backoff_ms=None)
    return replace(state, enabled=False)


class CircuitBreaker:
    """What this process knows of one extension's state (the stored one, adopted after every
    transition and refresh) and its probe; thread-safe."""

    def __init__(self, state: ExtensionState, clock: Clock, revision: int = 0) -> None:
        self._state = state
        self._revision = revision
        self._clock = clock
        self._probe: Probe | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> ExtensionState:
        return self._state

    def adopt(self, state: ExtensionState, revision: int) -> None:
        """The stored state at `revision`; one older than what this breaker holds is ignored."""
        with self._lock:
            if revision >= self._revision:
                self._state, self._revision = state, revision

    def keep(self, state: ExtensionState) -> None:
        """A state that could not be stored: in force here until the stored one is adopted again."""
        with self._lock:
            self._state = state

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

    def is_probe(self, probe: Probe | None) -> bool:
        return probe is not None and probe is self._probe

    def end(self, probe: Probe | None) -> None:
        """The call holding `probe` ended (after its transition was adopted): a probe may run again."""
        with self._lock:
            if self.is_probe(probe):
                self._probe = None

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


class GuardedSandbox:
    """A `Sandbox` behind its extension's circuit breaker: what the registry holds."""

    def __init__(
        self,
        inner: Sandbox,
        breaker: CircuitBreaker,
        states: ExtensionStates,
        policy: QuarantinePolicy,
        activity: Activity | None = None,
        stacks: StackMapper | None = None,
    ) -> None:
        self.inner = inner
        self._stacks = stacks
        self.breaker = breaker
        self._states = states
        self._policy = policy
        self._activity = activity
        self._in_flight = 0
        self._retired = False

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
        return await self._counted(lambda: self.inner.call(handler, args))

    async def call_json(self, handler: int, args_json: str) -> str:
        return await self._counted(lambda: self.inner.call_json(handler, args_json))

    def decode_result(self, text: str) -> Json | Undefined:
        return self.inner.decode_result(text)

    async def _counted(self, run: Callable[[], Awaitable[T]]) -> T:
        """One call, counted (`host.extensions.activity`); a retired sandbox closes after its last call."""
        self._in_flight += 1
        started = time.perf_counter()
        error = fault = False
        called = True
        try:
            return await self._guarded_call(run)
        except ExtensionUnavailable:
            called = False
            raise
        except ExtensionFault as exc:
            error = fault = True
            self._report("error", f"fault: {exc.message}")
            raise
        except ExtensionFailed as exc:
            error = True
            self._report("error", exc.message, exc.stack)
            raise
        finally:
            self._in_flight -= 1
            if self._activity is not None and called:
                self._activity.call(self.name, (time.perf_counter() - started) * 1000, error=error, fault=fault)
            if self._retired and not self._in_flight:
                self.inner.close()

    def _report(self, level: str, message: str, stack: str | None = None) -> None:
        if stack is not None and self._stacks is not None:
            stack = self._stacks(stack)
        if stack:  # the host's log too (`exthost dev` prints it): the author's files and lines
            log.info("extension %s threw: %s\n%s", self.name, message, stack)
        if self._activity is not None:
            self._activity.log(self.name, level, message, stack)

    def retire(self) -> None:
        """Replaced by a newer version: close once the calls in flight (on this version) end."""
        self._retired = True
        if not self._in_flight:
            self.inner.close()

    async def _guarded_call(self, run: Callable[[], Awaitable[T]]) -> T:
        probe = self.breaker.admit()
        try:
            result = await run()
        except ExtensionFault as fault:
            probing, message, now = self.breaker.is_probe(probe), fault.message, self._states.clock()
            policy = self._policy
            await self._change(
                lambda s: after_fault(s, probing=probing, message=message, now=now, policy=policy), probe
            )
            raise
        except ExtensionFailed:  # the handler threw: the instance is healthy
            await self._succeeded(probe)
            raise
        except BaseException:
            self.breaker.end(probe)
            raise
        await self._succeeded(probe)
        return result

    async def _succeeded(self, probe: Probe | None) -> None:
        if probe is None and self.breaker.state.faults_in_a_row == 0:
            return  # nothing to change: no query
        probing = self.breaker.is_probe(probe)
        await self._change(lambda s: after_success(s, probing=probing), probe)

    async def set_enabled(self, enabled: bool) -> None:
        """An administrator's enable or disable; raises if it could not be stored."""
        await self._change(lambda s: with_enabled(s, enabled), None, quiet=False)
        log.warning("extension %s %s by an administrator", self.name, "enabled" if enabled else "disabled")

    async def _change(self, change: Change, probe: Probe | None, *, quiet: bool = True) -> None:
        """Apply `change` to the stored state and adopt the result; the probe ends after that."""
        try:
            state, revision = await self._states.transition(self.name, change)
            self.breaker.adopt(state, revision)
        except Exception:
            if not quiet:
                raise
            # in force in this process until the stored state is adopted again
            log.exception("extension %s: its state could not be stored", self.name)
            self.breaker.keep(change(self.breaker.state))
        finally:
            self.breaker.end(probe)

    def close(self) -> None:
        self.inner.close()


def guard(
    sandbox: Sandbox,
    states: ExtensionStates,
    policy: QuarantinePolicy,
    activity: Activity | None = None,
    stacks: StackMapper | None = None,
) -> GuardedSandbox:
    """`sandbox` behind a breaker holding its stored state, which follows every change of it; what it
    did goes to `activity`, its errors' stacks mapped by `stacks` (host/extensions/stacks.py)."""
    breaker = CircuitBreaker(states.get(sandbox.name), states.clock, states.revision)
    states.hold(sandbox.name, breaker)
    return GuardedSandbox(sandbox, breaker, states, policy, activity, stacks)
