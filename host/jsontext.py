"""Reading JSON the host did not write: request bodies, JSON query parameters, guest output.

`loads` is the one decoder for all of them. On top of `json.loads` it refuses what
would break a later step, with a `JsonRefused` whose `reason` says what was wrong:

- nesting deeper than `max_depth` (`MAX_JSON_DEPTH`), measured on the text before
  parsing and without recursion (`depth`), so no input reaches a recursive parser
  or serializer deep enough to raise `RecursionError`;
- `NaN`, `Infinity`, `-Infinity` and numbers outside a double's range (`1e400`),
  which no JSON response can render;
- integers longer than Python's int/str conversion limit (4300 digits);
- lone surrogates (`"\\ud800"`): not Unicode text, so no UTF-8 response or database
  can hold them;
- NUL characters (`"\\u0000"`): PostgreSQL text cannot hold them;
- when a `max_size` is given, text whose decoded value would take more than `max_size`
  bytes of the host's memory (`decoded_size`, an upper estimate read from the text):
  decoded, JSON takes up to 25 times its length (`[{},{},...]`: a 64-byte dict for
  every 3 bytes), so what a guest returns or a remote server answers is bounded by what
  it decodes to, not by its length.

A valid document is a JSON value: depth 0 for a scalar, 1 for `[]` or `{}`, 2 for
`[[]]`, and so on.
"""

from __future__ import annotations

import json
import math
import re
import sys
from itertools import accumulate

from host.types import Json

MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300


class JsonRefused(ValueError):
    """Text the host will not take as JSON. `reason` completes a sentence: "The body <reason>"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JsonTooDeep(JsonRefused):
    """Nested deeper than the limit."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"is nested deeper than MAX_JSON_DEPTH ({max_depth} levels)")
        self.max_depth = max_depth


# --------------------------------------------------------------------------- depth

_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


def depth(text: str) -> int:
    """How deeply `text` nests arrays and objects, read from the text alone (linear, no recursion).

    Escapes are dropped first, then strings (an unterminated one runs to the end), then
    everything but brackets; the depth is the highest running sum of opening (+1) and
    closing (-1) brackets.
    """
    return _bare_depth(_without_strings(text)[0])


def _bare_depth(bare: str) -> int:
    """`depth` of text without escapes and strings."""
    steps = bare.encode("utf-8", "surrogatepass").translate(_STEPS, _NOT_BRACKETS)
    return max(accumulate(memoryview(steps).cast("b")), default=0)


# --------------------------------------------------------------------------- size

CONTAINER_BYTES = 96
"""A dict or list object (CPython 64-bit: an empty dict is 64 bytes, a list 56, and a list
the decoder appended to holds room for 4 items: 88)."""
ELEMENT_BYTES = 36
"""What each `,` or `:` adds: a list slot or a dict entry (8 to 40 bytes) and the value's
object (an int is 28 bytes, a float 24; `true`, `false`, `null` and small ints are shared)."""
STRING_BYTES = 48
"""A string object's header (49 bytes for an ASCII one, its characters counted with the text)."""
WIDE_TEXT = 4
"""Bytes per character of text that is not all ASCII: one wide character makes a Python
string hold 2 or 4 bytes for each of its characters."""
DECODER_BYTES = 4096
"""What decoding takes besides the value (the decoder's own state)."""


def _without_strings(text: str) -> tuple[str, int]:
    """`text` with escapes and strings removed (an unterminated string runs to the end),
    and how many strings there were. Linear: the escape pattern cannot rescan; with escapes
    gone every `"` opens or closes a string, so the text between quotes 1 and 2, 3 and 4, ...
    is what goes (`str.split`, twice as fast as a regex substitution on many strings)."""
    if "\\" in text:
        text = _ESCAPE.sub("", text)
    if '"' not in text:
        return text, 0
    parts = text.split('"')
    return "".join(parts[0::2]), len(parts) // 2


def decoded_size(text: str) -> int:
    """An upper estimate of the bytes the value of `text` takes once decoded (CPython objects),
    read from the text alone in linear time, valid JSON or not."""
    return _bare_size(text, *_without_strings(text))


def _bare_size(text: str, bare: str, strings: int) -> int:
    """`decoded_size` of `text`, given it without escapes and strings, and how many strings it has."""
    containers = bare.count("[") + bare.count("{")
    elements = bare.count(",") + bare.count(":")
    characters = len(text) if text.isascii() else WIDE_TEXT * len(text)
    objects = CONTAINER_BYTES * containers + ELEMENT_BYTES * elements + STRING_BYTES * strings
    return DECODER_BYTES + characters + objects


_MOST_PER_CHARACTER = WIDE_TEXT + CONTAINER_BYTES
"""No character adds more than this to `decoded_size`."""


class JsonTooLarge(JsonRefused):
    """Would take more than the allowed memory once decoded."""

    def __init__(self, estimate: int, max_size: int) -> None:
        estimated, allowed = _megabytes(estimate), _megabytes(max_size)
        super().__init__(f"would take about {estimated} of memory once decoded, more than the {allowed} allowed")
        self.max_size = max_size


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_size(text: str, max_size: int) -> None:
    """Raise `JsonTooLarge` if the value of `text` could take more than `max_size` bytes decoded."""
    _check_structure(text, None, max_size)


def check_depth(text: str, max_depth: int) -> None:
    """Raise `JsonRefused` if `text` nests deeper than `max_depth`."""
    _check_structure(text, max_depth, None)


def _check_structure(text: str, max_depth: int | None, max_size: int | None) -> None:
    """`check_depth` then `check_size` (each when its limit is given), reading the text without
    its strings at most once, and not at all when a bound from the text's length and bracket
    count already says it is within both."""
    deep = max_depth is not None and text.count("[") + text.count("{") > max_depth
    large = max_size is not None and DECODER_BYTES + len(text) * _MOST_PER_CHARACTER > max_size
    if not (deep or large):
        return
    bare, strings = _without_strings(text)
    if deep and max_depth is not None and _bare_depth(bare) > max_depth:
        raise JsonTooDeep(max_depth)
    if large and max_size is not None:
        estimate = _bare_size(text, bare, strings)
        if estimate > max_size:
            raise JsonTooLarge(estimate, max_size)


# --------------------------------------------------------------------------- strings

_HEX = "[0-9a-fA-F]"
_HIGH = rf"\\u[dD][89abAB]{_HEX}{{2}}"
_LOW = rf"\\u[dD][c-fC-F]{_HEX}{{2}}"
_LONE_SURROGATE = re.compile(rf"{_HIGH}(?!{_LOW})|(?<!{_HIGH}){_LOW}")


def _check_escapes(text: str) -> None:
    """Refuse `\\u0000` and unpaired surrogate escapes (a pair is one character, and fine)."""
    if "\\" not in text or "\\u" not in text:  # one character is found at memchr's speed
        return
    plain = text.replace("\\\\", "__")  # an escaped backslash never starts an escape
    if "\\u0000" in plain:
        raise JsonRefused("holds a NUL character (\\u0000), which the database cannot store")
    if _LONE_SURROGATE.search(plain):
        raise JsonRefused("holds a lone surrogate (an unpaired \\ud800-\\udfff escape), which is not Unicode text")


# --------------------------------------------------------------------------- numbers


def _refuse_constant(name: str) -> Json:
    raise JsonRefused(f"holds {name}, which is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise JsonRefused(f"holds a number out of range ({shown})")
    return value


# --------------------------------------------------------------------------- the decoder


def loads(data: str | bytes, max_depth: int, max_size: int | None = None) -> Json:
    """The JSON value of `data` (UTF-8 if bytes), or `JsonRefused` saying why not; with `max_size`,
    also refused when the value could take more than `max_size` bytes once decoded."""
    if isinstance(data, bytes | bytearray):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonRefused("is not UTF-8 text") from None
    else:
        text = data
    _check_structure(text, max_depth, max_size)
    _check_escapes(text)
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except JsonRefused:
        raise
    except ValueError:  # the int/str conversion limit
        raise JsonRefused(f"holds an integer longer than {MAX_INT_DIGITS} digits") from None
    except RecursionError:  # cannot happen below the depth check; never let it out as a 500
        raise JsonTooDeep(max_depth) from None
