"""CORS as Directus's `CORS_*` settings say, for Starlette's `CORSMiddleware`.

`CORS_ORIGIN=true` reflects the request's origin (any origin is allowed), `false` allows
none, a list allows those origins, `regex:PATTERN` the origins the pattern matches in full.
"""

from __future__ import annotations

from typing import Any

from host.config import OriginPattern, Settings


def cors_options(settings: Settings) -> dict[str, Any] | None:
    """The `CORSMiddleware` keyword arguments; None when `CORS_ENABLED` is off."""
    if not settings.cors_enabled:
        return None
    origin = settings.cors_origin
    options: dict[str, Any] = {
        "allow_methods": settings.cors_methods,
        "allow_headers": settings.cors_allowed_headers,
        "expose_headers": settings.cors_exposed_headers,
        "allow_credentials": settings.cors_credentials,
        "max_age": settings.cors_max_age,
    }
    if origin is True:
        options["allow_origin_regex"] = ".*"  # reflected, never "*", so credentials work as in Directus
    elif isinstance(origin, OriginPattern):
        options["allow_origin_regex"] = origin.regex
    elif isinstance(origin, list):
        options["allow_origins"] = origin
    else:
        options["allow_origins"] = []
    return options
