"""The one reader of request bodies, for every route: the host's API, endpoint extensions
and flow triggers.

The body's size is already bounded by `MAX_PAYLOAD_SIZE` (`host.api.payload`) by the
time it is read; JSON goes through `host.jsontext.loads` (depth, numbers, encoding),
and every refusal is a 400 `INVALID_PAYLOAD` saying what was wrong.

- `read_json`: the host's API. The body is JSON whatever its content type.
- `read_body`: webhooks. JSON when the content type says so (`application/json`,
  `*+json`), UTF-8 text otherwise; `None` when empty.
- `read_body_json`: endpoint extensions. The same value, as JSON text for the guest: a
  JSON body's own text once `loads` has accepted it (never decoded and encoded again),
  text as a JSON string, `null` when empty.
"""

from __future__ import annotations

import json

from starlette.requests import Request

from host.config import Settings
from host.errors import InvalidPayload
from host.jsontext import JsonRefused, loads
from host.types import Json


def decode_json(raw: bytes | str, settings: Settings) -> Json:
    """`raw` as JSON within the host's limits; `InvalidPayload` otherwise."""
    try:
        return loads(raw, settings.max_json_depth)
    except JsonRefused as exc:
        raise InvalidPayload(f"Invalid JSON body: the body {exc.reason}") from None


async def read_json(request: Request, *, required: bool = True) -> Json:
    """The JSON body; an empty body is refused, or `None` when not `required`."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise InvalidPayload("The request body is empty: expected JSON")
        return None
    settings: Settings = request.app.state.settings
    return decode_json(raw, settings)


def is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def read_body(request: Request) -> Json:
    """The body as its content type says: JSON, or UTF-8 text; `None` when empty."""
    raw, as_json = await _body(request)
    if raw is None:
        return None
    if as_json:
        return decode_json(raw, request.app.state.settings)
    return _text(raw)


async def read_body_json(request: Request) -> str:
    """The JSON text of what `read_body` returns, encoded once: a JSON body's own text (checked
    by `loads` as `read_body` decodes it, so refused the same way), text as a JSON string."""
    raw, as_json = await _body(request)
    if raw is None:
        return "null"
    if as_json:
        settings: Settings = request.app.state.settings
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            decode_json(raw, settings)  # refused as not UTF-8, in the words `read_body` uses
            raise
        decode_json(text, settings)  # the same refusals as `read_body`; the value is not needed
        return text
    return json.dumps(_text(raw))


async def _body(request: Request) -> tuple[bytes | None, bool]:
    """The body (None when empty, or blank JSON), and whether its content type says JSON."""
    raw = await request.body()
    if not raw:
        return None, False
    if is_json(request.headers.get("content-type", "")):
        return (raw if raw.strip() else None), True
    return raw, False


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPayload("The request body is neither JSON nor UTF-8 text") from None
