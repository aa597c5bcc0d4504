"""The route table of every loaded endpoint extension, with Express-style `:params`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from host.sandbox import Sandbox

_PARAM = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)(\?)?")


def compile_path(path: str) -> re.Pattern[str]:
    """`/items/:id` -> a regex with a named group per param; `*` matches the rest; a trailing slash is optional."""
    pattern = ""
    position = 0
    for match in _PARAM.finditer(path):
        pattern += re.escape(path[position : match.start()]).replace(r"\*", ".*")
        name, optional = match.group(1), match.group(2)
        if optional and pattern.endswith("/"):
            pattern = pattern[:-1] + f"(?:/(?P<{name}>[^/]+))?"
        else:
            pattern += f"(?P<{name}>[^/]+)"
        position = match.end()
    pattern += re.escape(path[position:]).replace(r"\*", ".*")
    pattern = pattern.rstrip("/")
    return re.compile(f"^{pattern}/?$")


@dataclass(frozen=True)
class BoundRoute:
    method: str
    path: str
    pattern: re.Pattern[str]
    handler: int
    sandbox: Sandbox


@dataclass(frozen=True)
class RouteMatch:
    route: BoundRoute
    params: dict[str, str]


class EndpointTable:
    """Routes grouped by endpoint id, matched in registration order."""

    def __init__(self) -> None:
        self._routes: dict[str, list[BoundRoute]] = {}

    def add(self, endpoint_id: str, sandbox: Sandbox) -> None:
        routes = self._routes.setdefault(endpoint_id, [])
        for route in sandbox.registration.routes:
            routes.append(BoundRoute(route.method, route.path, compile_path(route.path), route.handler, sandbox))

    def ids(self) -> list[str]:
        return list(self._routes)

    def has(self, endpoint_id: str) -> bool:
        return endpoint_id in self._routes

    def match(self, endpoint_id: str, method: str, path: str) -> RouteMatch | None:
        for route in self._routes.get(endpoint_id, ()):
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                params = {k: v for k, v in found.groupdict().items() if v is not None}
                return RouteMatch(route, params)
        return None
