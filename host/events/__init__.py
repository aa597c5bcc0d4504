"""The host-side event emitter: filter (blocking) and action (background) events."""

from host.events.emitter import ActionHandler, Emitter, EventContext, FilterHandler

__all__ = ["ActionHandler", "Emitter", "EventContext", "FilterHandler"]
