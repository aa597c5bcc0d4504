"""Decoding a response's `Content-Encoding` within a size limit (the `request` capability).

httpx decodes a compressed body a whole chunk at a time, however large it inflates, and
one layer after another: a few hundred bytes of `gzip, gzip` became 300 MB of host memory
before any size check could see them, and a few kilobytes would be gigabytes. Here each
piece of output is at most the limit (plus one byte), so the caller refuses the body
after holding no more than about twice the limit.

Only what browsers send for is decoded: one layer of `gzip` (`x-gzip`) or `deflate`
(zlib-wrapped, or raw as some servers send it). Stacked or other codings are refused.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

DECODED = frozenset({"gzip", "x-gzip", "deflate"})


class EncodingRefused(ValueError):
    """A body whose content coding the host does not decode, or that does not decode."""


def codings(header: str | None) -> list[str]:
    """The content codings a `Content-Encoding` header lists, lower case, `identity` left out."""
    listed = [part.strip().lower() for part in (header or "").split(",")]
    return [coding for coding in listed if coding and coding != "identity"]


def decoded(chunks: Iterable[bytes], header: str | None, limit: int) -> Iterator[bytes]:
    """The body `chunks` decoded per the `Content-Encoding` `header`, in pieces of at most
    `limit + 1` bytes (the caller counts them and stops past its limit)."""
    found = codings(header)
    if not found:
        yield from chunks
        return
    if len(found) > 1 or found[0] not in DECODED:
        raise EncodingRefused(f"content encoding {', '.join(found)!r} is not supported (only one of gzip, deflate)")
    inflater = _Inflater(found[0])
    for chunk in chunks:
        yield from inflater.feed(chunk, limit)
    yield from inflater.feed(b"", limit)


class _Inflater:
    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._gzip = coding != "deflate"
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)
        self._started = False

    def feed(self, data: bytes, limit: int) -> Iterator[bytes]:
        """What `data` inflates to (with `b""`: what is still pending), `limit + 1` bytes at most at a time."""
        while True:
            try:
                piece = self._inflate.decompress(data, limit + 1)
            except zlib.error as exc:
                if self._gzip or self._started:
                    raise EncodingRefused(f"the {self.coding} body does not decode: {exc}") from None
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, without the zlib header
                self._started = True
                continue
            self._started = True
            data = self._inflate.unconsumed_tail
            if piece:
                yield piece
            elif not data:
                return
