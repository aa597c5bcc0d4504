"""Which names an extension may take: the host's first path segments are the host's.

Endpoint extensions are served at `/<id>/...` by a dispatcher that runs before
the host's own routes (`host.api.endpoints`), so an endpoint whose id equals a
first path segment the host serves would take that part of the host's API over.
The host's segments are derived from the app's routes when it starts (FastAPI's
`/docs`, `/redoc`, `/openapi.json` and every router included, later ones too),
and Directus's own API root namespaces are added: a Directus client or extension
relies on them even where this host does not serve them (yet).

Ids are compared folded (`fold`: percent-decoded, Unicode NFKC, case-folded), so
`Items`, `%69tems` or a full-width `items` (U+FF49...) do not get past `items`; and an id
must be one clean path segment (`check_segment`), which also keeps every
non-ASCII look-alike out.

Operation ids are a namespace of their own (a flow operation's `type`): the
built-in operations' ids are the host's, and two extensions claiming one
operation id are both refused, like two claiming one name.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import unquote

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute

from host.extensions.registry import LoadedExtension
from host.flows.operations import DEFAULT_OPERATIONS
from host.sandbox import Sandbox
from host.types import ExtensionKind

DIRECTUS_API_NAMESPACES: frozenset[str] = frozenset(
    {
        # `app.use('/<name>', ...)` in Directus's api/src/app.ts (Directus 10 and 11)
        "access", "activity", "assets", "auth", "collections", "comments", "dashboards",
        "extensions", "fields", "files", "flows", "folders", "graphql", "items", "metrics",
        "notifications", "operations", "panels", "permissions", "policies", "presets",
        "relations", "revisions", "roles", "schema", "server", "settings", "shares",
        "translations", "users", "utils", "versions",
        "webhooks",  # Directus 10
        "mcp",  # Directus 11.11+
        # served by the same app.ts outside the routers: the admin app, robots.txt, and the
        # websocket's REST path (WEBSOCKETS_REST_PATH, default /websocket)
        "admin", "robots.txt", "websocket",
    }
)  # fmt: skip
"""Directus's API root namespaces: the first path segments Directus itself serves
(source: directus/directus `api/src/app.ts`). A Directus client or extension relies
on them, so no endpoint may take one, whether or not this host serves it."""

SEGMENT_CHARACTERS = "letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @"
_SEGMENT = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@]+")
"""RFC 3986 `segment-nz` without percent-encoding: what a path segment is made of."""


def fold(name: str) -> str:
    """The form names are compared in: percent-decoded, NFKC-normalized, case-folded."""
    return unicodedata.normalize("NFKC", unquote(name)).casefold()


def quoted(name: str) -> str:
    """`name` in double quotes, control characters escaped (safe in a message and a log line)."""
    return json.dumps(name)


def first_segment(path: str) -> str:
    """`/items/{collection}` -> `items`; `/` -> ``."""
    return path.lstrip("/").split("/", 1)[0]


def check_segment(endpoint_id: str) -> str | None:
    """Why `endpoint_id` is not one clean path segment, or None when it is."""
    if endpoint_id in ("", ".", ".."):
        return f"an endpoint id may not be {quoted(endpoint_id)}"
    if _SEGMENT.fullmatch(endpoint_id) is None:
        return f"an endpoint id must be one path segment made only of {SEGMENT_CHARACTERS}"
    return None


@dataclass(frozen=True)
class HostNamespace:
    """The first path segments the host keeps: folded segment -> what serves it there."""

    segments: Mapping[str, str]
    derived: frozenset[str]
    """The segments the app's own routes serve (before Directus's namespaces are added)."""
    operations: Mapping[str, str]
    """The built-in flow operations: folded id -> how to name it."""

    @classmethod
    def of_routes(cls, routes: Iterable[BaseRoute], operations: Iterable[str] | None = None) -> HostNamespace:
        """Every first segment of `routes` (routers included, recursively), plus `DIRECTUS_API_NAMESPACES`;
        and the built-in operation ids (`operations`, by default those the flows engine registers).

        A route without a path (a Starlette `Host`) or whose first segment is a parameter could
        serve any id: the host then refuses to start rather than promise a namespace it cannot keep.
        """
        segments: dict[str, str] = {}
        for context in iter_route_contexts(list(routes)):
            path = context.path
            if not isinstance(path, str):
                raise ValueError(f"host route {context.route!r} has no path: endpoint ids cannot be checked against it")
            segment = first_segment(path)
            if "{" in segment:
                raise ValueError(f'host route "{path}" starts with a parameter: it would match every endpoint id')
            if segment:
                segments.setdefault(fold(segment), f'the host route "{path}"')
        derived = frozenset(segments)
        for name in sorted(DIRECTUS_API_NAMESPACES):
            segments.setdefault(fold(name), f'Directus\'s API namespace "/{name}"')
        if operations is None:
            operations = [operation.id for operation in DEFAULT_OPERATIONS]
        builtins = {fold(op): f"the built-in operation {quoted(op)}" for op in operations}
        return cls(MappingProxyType(segments), derived, MappingProxyType(builtins))

    def owner(self, endpoint_id: str) -> str | None:
        """What serves the first segment `endpoint_id` would take (folded, so no spelling sneaks past)."""
        key = first_segment(fold(endpoint_id).strip())
        return self.segments.get(key)

    def refusal(self, extension: str, endpoint_id: str, *, from_package_name: bool) -> str | None:
        """Why extension `extension` may not serve under `endpoint_id`, or None when it may."""
        owner = self.owner(endpoint_id)
        if owner is not None:
            return (
                f'endpoint "{extension}" may not use the id {quoted(endpoint_id)}: it would take over {owner} '
                "(ids are compared ignoring case, percent-encoding and Unicode compatibility forms)"
            )
        problem = check_segment(endpoint_id)
        if problem is not None:
            hint = " (the id is the package name; export default { id, handler } to choose one)"
            return f'endpoint "{extension}" may not use the id {quoted(endpoint_id)}: {problem}' + (
                hint if from_package_name else ""
            )
        return None


    def operation_refusal(self, extension: str, operation_id: str) -> str | None:
        """Why extension `extension` may not register the operation `operation_id`, or None when it may."""
        builtin = self.operations.get(fold(operation_id))
        if builtin is None:
            return None
        return (
            f'operation "{extension}" may not use the id {quoted(operation_id)}: it would take over {builtin} '
            "(ids are compared ignoring case, percent-encoding and Unicode compatibility forms)"
        )


def endpoint_id(extension: LoadedExtension, sandbox: Sandbox) -> str:
    """The id an endpoint is served under: its config object's `id`, else its package name."""
    return sandbox.registration.id or extension.name


_NAMES = "name"
_OPERATIONS = "operation"
"""The two spaces names are claimed in: package names and endpoint ids (one space: both are
served as a first path segment or name an extension), and flow operation ids."""


def _claims(extension: LoadedExtension) -> list[tuple[tuple[str, str], str]]:
    """The names `extension` claims, keyed by space and folded name, each with how it claims it:
    its package name, an endpoint's own id, an operation's id."""
    if extension.manifest is None:
        return []  # not even a package.json: it claims nothing (its folder name only labels the error)
    name = extension.manifest.name
    claims = [((_NAMES, fold(name)), f"package name {quoted(name)}")]
    if extension.sandbox is not None and extension.kind is ExtensionKind.endpoint:
        own = extension.sandbox.registration.id
        if own is not None and fold(own) != fold(name):
            claims.append(((_NAMES, fold(own)), f"endpoint id {quoted(own)}"))
    if extension.sandbox is not None and extension.kind is ExtensionKind.operation:
        operation = extension.sandbox.registration.operation
        if operation is not None:
            claims.append(((_OPERATIONS, fold(operation.id)), f"operation id {quoted(operation.id)}"))
    return claims


def label(extension: LoadedExtension) -> str:
    return f"extension {quoted(extension.name)} (folder {quoted(extension.folder.name)})"


def refuse_clashes(extensions: list[LoadedExtension]) -> None:
    """Refuse every extension whose package name, endpoint id or operation id another one also claims.

    Names are compared folded; all the claimants are refused, each error naming the
    others, so the outcome does not depend on the order the folders were loaded in.
    """
    claimants: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for index, extension in enumerate(extensions):
        for key, how in _claims(extension):
            claimants.setdefault(key, []).append((index, how))
    problems: dict[int, list[str]] = {}
    for group in claimants.values():
        if len({index for index, _ in group}) < 2:
            continue
        for index, how in group:
            others = ", ".join(f"{label(extensions[o])} as its {o_how}" for o, o_how in group if o != index)
            problems.setdefault(index, []).append(
                f"the {how} of {label(extensions[index])} is also claimed by {others}"
            )
    for index, messages in sorted(problems.items()):
        extension = extensions[index]
        message = "; ".join(messages) + "; all of them are refused, whatever the load order"
        if extension.sandbox is not None:
            extension.sandbox.close()
            extension.sandbox = None
        extension.error = f"{extension.error}; {message}" if extension.error else message


def clash(extension: LoadedExtension, others: Iterable[LoadedExtension]) -> str | None:
    """Why `extension` (a new version) may not join `others` (loaded): a name, endpoint id or
    operation id one of them already claims; None when it may."""
    theirs = {key: (other, how) for other in others for key, how in _claims(other)}
    for key, how in _claims(extension):
        if key in theirs:
            other, their_how = theirs[key]
            return f"the {how} of {label(extension)} is already claimed by {label(other)} as its {their_how}"
    return None
