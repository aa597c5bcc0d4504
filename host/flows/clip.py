"""The run log's size cap: a run entry larger than `FLOWS_LOG_MAX_ENTRY_BYTES` (its steps,
final chain and error as stored JSON) is cut down until it fits, and every cut leaves
a visible `--truncated--` marker in place of what it removed.

Cuts go from gentle to drastic until the entry fits: long strings are shortened, long
lists and objects keep their first entries, deep nesting is cut; then the steps keep
only their outcome (operation, key, type, status, duration) and the chain becomes a
marker; last, only the first steps that fit are kept, followed by a marker step. The
result is always JSON of the same shape (a list of step objects, a chain, an error
string), so reading the run later never fails. (The setting is at least 4096 bytes:
room for the cut error, the chain's marker and a marker step.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from host.types import Json

TRUNCATED = "--truncated--"

_LEVELS = ((4096, 256, 32), (1024, 64, 16), (256, 16, 8), (64, 4, 4), (16, 1, 2))
"""(characters per string, entries per list or object, nesting depth), gentle to drastic."""
_ERROR_CHARS = 1024
_OUTCOME = ("operation", "key", "type", "status", "duration_ms")


@dataclass(frozen=True)
class Entry:
    steps: list[dict[str, Json]]
    data: Json
    error: str | None
    truncated: bool = False


def size(value: Json) -> int:
    """Bytes of `value` as the run log stores it (`json.dumps`); a value too deep to encode is
    reported as larger than any cap."""
    try:
        return len(json.dumps(value))
    except (RecursionError, ValueError, TypeError):
        return 1 << 62


def fit(steps: list[dict[str, Json]], data: Json, error: str | None, limit: int) -> Entry:
    """The entry as given if it fits in `limit` bytes, else cut down with markers until it does."""
    if size([steps, data, error]) <= limit:
        return Entry(steps, data, error)
    short_error = _text(error, _ERROR_CHARS) if error is not None else None
    for chars, items, depth in _LEVELS:
        cut_steps = [_step(step, chars, items, depth) for step in steps]
        cut_data = clip(data, chars, items, depth)
        if size([cut_steps, cut_data, short_error]) <= limit:
            return Entry(cut_steps, cut_data, short_error, truncated=True)
    marker = f"{TRUNCATED} the chain was larger than FLOWS_LOG_MAX_ENTRY_BYTES ({limit})"
    used = size([[], marker, short_error]) + size(_left_out(len(steps))) + 2  # json.dumps puts ", " between items
    kept: list[dict[str, Json]] = []
    for step in steps:
        outcome = {name: step.get(name) for name in _OUTCOME if name in step}
        used += size(outcome) + 2
        if used > limit:
            kept.append(_left_out(len(steps) - len(kept)))
            break
        kept.append(outcome)
    return Entry(kept, marker, short_error, truncated=True)


def _left_out(count: int) -> dict[str, Json]:
    return {"key": TRUNCATED, "status": "unknown", "steps_left_out": count}


def clip(value: Json, chars: int, items: int, depth: int) -> Json:
    """`value` with strings cut to `chars` characters, lists and objects to `items` entries,
    and nesting to `depth` levels, each cut marked."""
    if isinstance(value, str):
        return _text(value, chars)
    if isinstance(value, list | dict) and depth <= 0:
        return f"{TRUNCATED} nested deeper than this"
    if isinstance(value, list):
        kept = [clip(item, chars, items, depth - 1) for item in value[:items]]
        if len(value) > items:
            kept.append(f"{TRUNCATED} {len(value) - items} more items")
        return kept
    if isinstance(value, dict):
        out: dict[str, Json] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= items:
                out[TRUNCATED] = f"{len(value) - items} more keys"
                break
            out[_text(str(key), chars)] = clip(item, chars, items, depth - 1)
        return out
    return value


def _step(step: dict[str, Json], chars: int, items: int, depth: int) -> dict[str, Json]:
    return {
        name: value if name in _OUTCOME else clip(value, chars, items, depth)
        for name, value in step.items()
    }


def _text(text: str, chars: int) -> str:
    if len(text) <= chars:
        return text
    return f"{text[:chars]}...{TRUNCATED} {len(text) - chars} more characters"
