"""Consent: what an administrator granted an extension out of what it requested.

A grant has the shape of `requestedScopes` (`{"log": {}, "request": {"urls": [...],
"methods": [...]}}`) and may only narrow what was requested: each granted capability
was requested, each granted method was requested, and each granted URL glob is proved
to match nothing that no requested glob matches (`covers`). What cannot be proved is
refused, so a grant never widens a request.

- An extension runs with `effective(grant, requested)`: its grant, narrowed to what the
  version on disk requests now. An upgrade that requests more keeps its old grant; what
  it requests beyond it (`ungranted`) waits for the administrator.
- No stored grant (an extension that was in `EXTENSIONS_PATH` before consent existed, or a
  folder copied there by hand): it is granted what it requests, and that is recorded once.
  `exthost install` records an empty grant before the folder appears: installed
  extensions wait for consent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import ValidationError

from host.capabilities.urlscope import DEFAULT_PORTS, URLRefused, pattern_globs
from host.extensions.manifest import RequestScope, Scopes

CAPABILITIES = ("log", "sleep", "request")


class GrantError(ValueError):
    """A grant that cannot be given; the message says what is wrong."""


# --------------------------------------------------------------------------- globs


def _tokens(glob: str) -> list[str | None]:
    """Characters, and None for each run of `*`."""
    out: list[str | None] = []
    for char in glob:
        if char == "*":
            if not out or out[-1] is not None:
                out.append(None)
        else:
            out.append(char)
    return out


def glob_covers(outer: str, inner: str) -> bool:
    """True when every string `inner` matches is matched by `outer` (both Directus globs: a run
    of `*` matches any characters). Proved by matching `outer` against `inner` with each of
    inner's stars as a symbol only a star of `outer` can absorb: sound, and exact for these globs."""
    pattern, text = _tokens(outer), _tokens(inner)

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(text)
        if pattern[i] is None:
            return match(i + 1, j) or (j < len(text) and match(i, j + 1))
        return j < len(text) and text[j] == pattern[i] and match(i + 1, j + 1)

    return match(0, 0)


def _default_ports(scheme_glob: str) -> list[str]:
    return [str(port) for scheme, port in DEFAULT_PORTS.items() if glob_covers(scheme_glob, scheme)]


def url_covers(outer: str, inner: str) -> bool:
    """True when the URL pattern `outer` provably matches every URL `inner` matches."""
    try:
        o_scheme, o_host, o_port, o_target = pattern_globs(outer)
        i_scheme, i_host, i_port, i_target = pattern_globs(inner)
    except URLRefused:
        return False
    if not glob_covers(o_scheme, i_scheme) or not glob_covers(o_host, i_host):
        return False
    if i_port is None:
        if o_port is not None and not all(glob_covers(o_port, port) for port in _default_ports(i_scheme)):
            return False
    elif o_port is None or not glob_covers(o_port, i_port):
        return False
    if o_target is None:
        return True
    return glob_covers(o_target, "/*" if i_target is None else i_target)


# --------------------------------------------------------------------------- grants


def parse_grant(value: Any, requested: Scopes) -> Scopes:
    """A grant as given (`"all"`, or a `requestedScopes`-shaped object), checked against `requested`."""
    if value == "all":
        return requested
    try:
        grant = Scopes.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'granted_scopes'}: {e['msg']}" for e in exc.errors())
        raise GrantError(f"invalid granted_scopes: {problems}") from None
    beyond = exceeding(grant, requested)
    if beyond:
        raise GrantError("a grant may only narrow what was requested: " + "; ".join(beyond))
    return grant


def exceeding(grant: Scopes, requested: Scopes) -> list[str]:
    """What `grant` gives that `requested` does not ask for (empty: the grant is within it)."""
    problems = [f'"{name}" was not requested' for name in ("log", "sleep") if getattr(grant, name) and not
                getattr(requested, name)]
    if grant.request is not None:
        if requested.request is None:
            problems.append('"request" was not requested')
        else:
            problems += _request_exceeding(grant.request, requested.request)
    return problems


def _request_exceeding(grant: RequestScope, requested: RequestScope) -> list[str]:
    problems = [f"method {method} was not requested" for method in grant.methods if method not in requested.methods]
    for url in grant.urls:
        if not any(url_covers(asked, url) for asked in requested.urls):
            problems.append(f"URL {url!r} is not provably within the requested {list(requested.urls)!r}")
    return problems


def effective(grant: Scopes, requested: Scopes) -> Scopes:
    """What the extension runs with: `grant`, narrowed to what `requested` asks for now."""
    request: RequestScope | None = None
    if grant.request is not None and requested.request is not None:
        urls = tuple(url for url in grant.request.urls if any(url_covers(r, url) for r in requested.request.urls))
        methods = tuple(m for m in grant.request.methods if m in requested.request.methods)
        if urls and methods:
            request = RequestScope(urls=urls, methods=methods)
    return Scopes(
        log=grant.log if requested.log is not None else None,
        sleep=grant.sleep if requested.sleep is not None else None,
        request=request,
    )


def ungranted(requested: Scopes, grant: Scopes) -> dict[str, Any]:
    """What `requested` asks for beyond `grant` (waiting for consent), in the scopes' shape."""
    out: dict[str, Any] = {
        name: {} for name in ("log", "sleep") if getattr(requested, name) and not getattr(grant, name)
    }
    if requested.request is not None:
        if grant.request is None:
            out["request"] = requested.request.model_dump(mode="json")
        else:
            urls = [u for u in requested.request.urls if not any(url_covers(g, u) for g in grant.request.urls)]
            methods = [m for m in requested.request.methods if m not in grant.request.methods]
            if urls or methods:
                out["request"] = {"urls": urls, "methods": methods}
    return out


def narrowed(grant: Scopes, remove: Iterable[str], urls: Iterable[str] = ()) -> Scopes:
    """`grant` without the capabilities in `remove` and without the request `urls` listed."""
    gone = set(remove)
    request = None if "request" in gone else grant.request
    dropped = set(urls)
    if request is not None and dropped:
        kept = tuple(url for url in request.urls if url not in dropped)
        request = RequestScope(urls=kept, methods=request.methods) if kept else None
    return Scopes(
        log=None if "log" in gone else grant.log, sleep=None if "sleep" in gone else grant.sleep, request=request
    )


def dump(grant: Scopes) -> str:
    return json.dumps(grant.describe(), sort_keys=True, separators=(",", ":"))


def load(text: str | None) -> Scopes | None:
    """A stored grant (None: never decided). One that no longer reads is no grant at all."""
    if text is None:
        return None
    try:
        return Scopes.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        return Scopes()
