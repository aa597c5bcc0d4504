"""Hook extensions: their `filter()` and `action()` registrations, wired into the emitter."""

from host.hooks.wiring import register_hooks, sandbox_action, sandbox_filter

__all__ = ["register_hooks", "sandbox_action", "sandbox_filter"]
