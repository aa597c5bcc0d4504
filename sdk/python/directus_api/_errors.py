"""The error a refused capability call raises."""

from __future__ import annotations


class HostError(Exception):
    """The host refused a capability call (not requested, URL or method not allowed, ...)."""
