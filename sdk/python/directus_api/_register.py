"""Registration: routes (`router`), hooks (`filter`, `action`) and operations (`operation`).

Each works as a decorator or as a plain call:

    @router.get("/items/:id")              router.get("/items/:id", handler)
    @filter("items.create")                filter("items.create", handler)
    @operation("custom")                   operation("custom", handler)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, overload

Handler = Callable[..., Any]
"""A handler: a function or an `async def` coroutine function taking JSON values."""

H = TypeVar("H", bound=Handler)


class Registrar(Protocol):
    """`@registrar(key)` decorates a handler, `registrar(key, handler)` registers it; both return the handler."""

    @overload
    def __call__(self, key: str, /) -> Callable[[H], H]: ...

    @overload
    def __call__(self, key: str, handler: H, /) -> H: ...


class RegistrationError(TypeError):
    """The extension registered something that does not fit its kind."""


class _Registry:
    """What the extension being evaluated has registered so far (reset by the runtime)."""

    def __init__(self, kind: str = "") -> None:
        self.kind = kind
        self.handlers: list[Handler] = []
        self.id: str | None = None
        self.routes: list[dict[str, Any]] = []
        self.filters: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.operation: dict[str, Any] | None = None

    def add(self, fn: object, what: str) -> int:
        if not callable(fn):
            raise RegistrationError(f"{what} must be a function, got {type(fn).__name__}")
        self.handlers.append(fn)
        return len(self.handlers) - 1

    def expect(self, kind: str, what: str) -> None:
        if self.kind and self.kind != kind:
            raise RegistrationError(f"{what} belongs in a {kind} extension, this one is a {self.kind}")


_registry = _Registry()


def _reset(kind: str) -> _Registry:
    global _registry
    _registry = _Registry(kind)
    return _registry


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise RegistrationError(f"{what} must be a non-empty string")
    return value


def _decorate(register: Callable[[Handler], None], handler: H | None) -> Any:
    if handler is not None:
        register(handler)
        return handler

    def decorator(fn: H) -> H:
        register(fn)
        return fn

    return decorator


class Router:
    """The routes of an endpoint extension, served at `/<id>/<path>` with `:params`."""

    def _route(self, method: str, path: str, handler: Handler | None) -> Any:
        def register(fn: Handler) -> None:
            _registry.expect("endpoint", f"router.{method.lower()}()")
            _registry.routes.append(
                {
                    "method": method,
                    "path": _text(path, f"router.{method.lower()} path"),
                    "handler": _registry.add(fn, f"router.{method.lower()} handler"),
                }
            )

        return _decorate(register, handler)

    def _registrar(self, method: str) -> Registrar:
        def registrar(path: str, handler: Any = None) -> Any:
            return self._route(method, path, handler)

        return registrar

    @property
    def get(self) -> Registrar:
        """`@router.get("/path")` or `router.get("/path", handler)`."""
        return self._registrar("GET")

    @property
    def post(self) -> Registrar:
        return self._registrar("POST")

    @property
    def put(self) -> Registrar:
        return self._registrar("PUT")

    @property
    def patch(self) -> Registrar:
        return self._registrar("PATCH")

    @property
    def delete(self) -> Registrar:
        return self._registrar("DELETE")


router = Router()
"""The endpoint's router; the endpoint id defaults to the package name (see `endpoint`)."""


def endpoint(id: str | None = None) -> Router:
    """Name the endpoint (`/<id>/...`, like Directus's `{id, handler}` form) and get its router."""
    _registry.expect("endpoint", "endpoint()")
    if id is not None:
        _registry.id = _text(id, "endpoint id")
    return router


def _filter(event: str, handler: H | None = None) -> Any:
    """Run `handler(payload, meta, context)` before `event`; its return value replaces the payload
    (returning None keeps it) and raising cancels the write."""

    def register(fn: Handler) -> None:
        _registry.expect("hook", "filter()")
        _registry.filters.append({"event": _text(event, "filter event"), "handler": _registry.add(fn, "filter handler")})

    return _decorate(register, handler)


def _action(event: str, handler: H | None = None) -> Any:
    """Run `handler(meta, context)` after `event`; never delays the response."""

    def register(fn: Handler) -> None:
        _registry.expect("hook", "action()")
        _registry.actions.append({"event": _text(event, "action event"), "handler": _registry.add(fn, "action handler")})

    return _decorate(register, handler)


def _operation(id: str, handler: H | None = None) -> Any:
    """The operation `{id, handler}`: `handler(options, context)`; returning resolves, raising rejects."""

    def register(fn: Handler) -> None:
        _registry.expect("operation", "operation()")
        if _registry.operation is not None:
            raise RegistrationError("an operation extension registers one operation")
        _registry.operation = {"id": _text(id, "operation id"), "handler": _registry.add(fn, "operation handler")}

    return _decorate(register, handler)


filter: Registrar = _filter  # noqa: A001 - the Directus name
action: Registrar = _action
operation: Registrar = _operation
