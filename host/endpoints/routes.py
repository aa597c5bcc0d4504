"""The route table of every loaded endpoint extension: Express-style paths, indexed.

Paths follow Express 4 (path-to-regexp 0.1):
`:name` matches a segment, or the part of one up to the next literal character
when the segment goes on (`/:from-:to`); `:name?` right after a `/` makes that
segment optional; `*` matches anything, `/` included; a trailing slash is
optional; among routes that match, the one registered first wins.

A lookup does not walk an extension's routes: per method, the static paths sit
in a dict and every path with a parameter or `*` is one alternative of a single
compiled regex, whose first matching alternative is the earliest such route;
the earlier of the two candidates wins. Parameters match possessively, so a
request path cannot make a pattern backtrack inside a segment; paths that would
(two parameters or `*` back to back, more than one `*`) are refused at load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from host.sandbox import Sandbox
from host.types import Route

_TOKEN = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)(\?)?|\*")


class RoutePathError(ValueError):
    """A route path the table cannot serve safely; the message says why."""


@dataclass(frozen=True)
class PathPattern:
    """A route path compiled: the regex source (one named group per parameter) and, for a path
    without parameters or `*`, its static key."""

    source: str
    params: tuple[str, ...]
    static: str | None
    """The path with its trailing slashes removed, when it has no parameter and no `*`."""


def static_key(request_path: str) -> str:
    """The dict key a request path is looked up under (one trailing slash is optional)."""
    return request_path[:-1] if request_path.endswith("/") else request_path


def parse_path(path: str, prefix: str = "g") -> PathPattern:
    """Compile an Express-style `path` (parameter groups named `<prefix>0`, `<prefix>1`, ...);
    raise `RoutePathError` for a path that is ambiguous."""
    pieces: list[tuple[str, str, bool]] = []  # (literal before, parameter name or "*", optional)
    position = 0
    for match in _TOKEN.finditer(path):
        token = match.group(1) or "*"
        pieces.append((path[position : match.start()], token, bool(match.group(2))))
        position = match.end()
    tail = path[position:].rstrip("/")
    if not pieces:
        return PathPattern(re.escape(tail), (), tail)
    if sum(1 for _, token, _ in pieces if token == "*") > 1:
        raise RoutePathError(f"route path {path!r} has more than one '*'")
    source = ""
    params: list[str] = []
    for index, (literal, token, optional) in enumerate(pieces):
        if index and not literal:
            raise RoutePathError(f"route path {path!r} has two parameters or wildcards with nothing between them")
        if token == "*":
            source += re.escape(literal) + ".*"
            continue
        following = pieces[index + 1][0] if index + 1 < len(pieces) else tail
        stop = following[:1]
        value = "[^/]++" if stop in ("", "/") else f"[^/{re.escape(stop)}]++"
        group = f"(?P<{prefix}{len(params)}>{value})"
        params.append(token)
        if optional and literal.endswith("/"):
            source += re.escape(literal[:-1]) + f"(?:/{group})?"
        else:
            source += re.escape(literal) + group
    source += re.escape(tail)
    return PathPattern(source, tuple(params), None)


@dataclass(frozen=True)
class BoundRoute:
    method: str
    path: str
    order: int
    """Registration order within the extension: the lower wins."""
    params: tuple[str, ...]
    handler: int
    sandbox: Sandbox


@dataclass(frozen=True)
class RouteMatch:
    route: BoundRoute
    params: dict[str, str]


@dataclass
class _MethodIndex:
    static: dict[str, BoundRoute] = field(default_factory=dict)
    dynamic: list[BoundRoute] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    regex: re.Pattern[str] | None = None

    def add(self, method: str, order: int, route: Route, sandbox: Sandbox) -> None:
        number = len(self.dynamic)
        pattern = parse_path(route.path, prefix=f"r{number}_")
        bound = BoundRoute(method, route.path, order, pattern.params, route.handler, sandbox)
        if pattern.static is not None:
            self.static.setdefault(pattern.static, bound)
        else:
            self.dynamic.append(bound)
            self.sources.append(pattern.source)

    def seal(self) -> None:
        if self.sources:
            alternatives = "|".join(f"(?P<r{n}>{source})" for n, source in enumerate(self.sources))
            self.regex = re.compile(f"^(?:{alternatives})/?$")

    def match(self, path: str) -> RouteMatch | None:
        best = self.static.get(static_key(path))
        params: dict[str, str] = {}
        found = self.regex.match(path) if self.regex is not None else None
        if found is not None and found.lastgroup is not None:
            number = int(found.lastgroup[1:])
            route = self.dynamic[number]
            if best is None or route.order < best.order:
                best = route
                for index, name in enumerate(route.params):
                    value = found.group(f"r{number}_{index}")
                    if value is not None:
                        params[name] = value
        return RouteMatch(best, params) if best is not None else None


class EndpointRoutes:
    """One endpoint extension's routes, indexed per method."""

    def __init__(self, routes: Sequence[Route], sandbox: Sandbox) -> None:
        self._methods: dict[str, _MethodIndex] = {}
        for order, route in enumerate(routes):
            self._methods.setdefault(route.method, _MethodIndex()).add(route.method, order, route, sandbox)
        for index in self._methods.values():
            index.seal()

    def match(self, method: str, path: str) -> RouteMatch | None:
        index = self._methods.get(method)
        return index.match(path) if index is not None else None

    def methods(self, path: str) -> set[str]:
        """The methods with a route matching `path`."""
        return {method for method, index in self._methods.items() if index.match(path) is not None}

    def routes(self) -> list[tuple[str, str]]:
        """(method, path) of every route, in registration order within each method."""
        found: list[tuple[int, str, str]] = []
        for index in self._methods.values():
            found += [(route.order, route.method, route.path) for route in index.static.values()]
            found += [(route.order, route.method, route.path) for route in index.dynamic]
        return [(method, path) for _, method, path in sorted(found)]


def check_paths(routes: Iterable[Route]) -> None:
    """Raise `RoutePathError` for the first path the table would refuse (called at load)."""
    for route in routes:
        parse_path(route.path)


class EndpointTable:
    """Every loaded endpoint extension's routes, by endpoint id."""

    def __init__(self) -> None:
        self._endpoints: dict[str, EndpointRoutes] = {}

    def add(self, endpoint_id: str, sandbox: Sandbox) -> None:
        if endpoint_id in self._endpoints:
            raise ValueError(f'endpoint id "{endpoint_id}" is already in the table')
        self._endpoints[endpoint_id] = EndpointRoutes(sandbox.registration.routes, sandbox)

    def ids(self) -> list[str]:
        return list(self._endpoints)

    def has(self, endpoint_id: str) -> bool:
        return endpoint_id in self._endpoints

    def match(self, endpoint_id: str, method: str, path: str) -> RouteMatch | None:
        routes = self._endpoints.get(endpoint_id)
        return routes.match(method, path) if routes is not None else None

    def methods(self, endpoint_id: str, path: str) -> set[str]:
        routes = self._endpoints.get(endpoint_id)
        return routes.methods(path) if routes is not None else set()

    def routes(self, endpoint_id: str) -> list[tuple[str, str]]:
        routes = self._endpoints.get(endpoint_id)
        return routes.routes() if routes is not None else []
