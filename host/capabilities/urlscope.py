"""URL scopes of the `request` capability: Directus's globs, matched on a parsed, normalized URL.

Directus compiles each `urls` entry of a sandboxed extension's `request` scope with
`glob-to-regexp` in its default mode: a run of `*` (so `*` and `**` alike) matches
any characters, every other character (`?`, `[`, `{`, `.`, ...) is itself, and the
whole URL must match. Directus matches the raw string, so there `*` also crosses
into user info, port and path (`https://api.example.com*` admits
`https://api.example.com@evil.io/`). exthost keeps the glob language and changes
what it is matched against:

- The guest's URL is parsed and normalized first (`normalize_url`): scheme and
  host lowercased, a non-ASCII host converted with IDNA (UTS #46), a host written
  as a number (`2130706433`, `0x7f.1`, ...) read as the IPv4 address it denotes,
  IPv6 written compressed, the default port removed (an explicit one kept), the
  fragment dropped, in path and query the unreserved characters percent-decoded
  and the other escapes uppercased, dot segments removed. What is matched is what
  is sent. URLs that parsers read differently are refused: user info (`user@`,
  `user:pass@`), backslashes, control characters and whitespace, `%` in a host,
  IPv6 zone identifiers, and a path that a lenient server could still read as
  containing a `.` or `..` segment (`..;/`, `%2e%2e%2f`, `%252e`, `%5c..`,
  fullwidth or overlong dots).
- A pattern is split the same way (`URLPattern.parse`), each `*` matching within
  its own part only: in the scheme, within the scheme; in the host, within the
  host (dots included: `*.example.com` is every subdomain at any depth, never
  `example.com` itself); in the port, any port; in the path (which includes the
  query), any characters (`/` and `?` included). A pattern without a port
  matches only the scheme's default port, a pattern without a path every path
  and query; the pattern `*` alone matches every http and https URL.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import idna

from host.capabilities.netguard import parse_ipv4_number

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 8192


class URLRefused(ValueError):
    """A URL (or URL pattern) exthost will not read; the message says why."""


# --------------------------------------------------------------------------- URLs


@dataclass(frozen=True)
class NormalizedURL:
    scheme: str
    host: str
    """Lowercase ASCII name, dotted-quad IPv4 address or `[compressed IPv6]`."""
    port: int | None
    """None for the scheme's default port."""
    path: str
    query: str | None

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS.get(self.scheme, 0)

    @property
    def target(self) -> str:
        """Path and query, as sent in the request line."""
        return self.path if self.query is None else f"{self.path}?{self.query}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.effective_port)

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}{self.target}"


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", re.DOTALL)
_NAME = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_HEX = "0123456789ABCDEFabcdef"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")


def _refuse_unreadable(text: str) -> None:
    if len(text) > MAX_URL_LENGTH:
        raise URLRefused(f"longer than {MAX_URL_LENGTH} characters")
    for char in text:
        if char == "\\":
            raise URLRefused("backslashes are refused (parsers disagree on them)")
        if ord(char) < 0x20 or ord(char) == 0x7F or (0x80 <= ord(char) < 0xA0):
            raise URLRefused("control characters (tabs, line breaks, ...) are refused")


def normalize_url(text: str) -> NormalizedURL:
    """The URL `text` denotes, normalized; raises `URLRefused` naming what is wrong."""
    _refuse_unreadable(text)
    match = _SCHEME.match(text)
    if match is None:
        raise URLRefused("not an absolute URL (scheme://host/path)")
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme not in DEFAULT_PORTS:
        raise URLRefused("only http and https URLs are allowed")
    if not rest.startswith("//"):
        raise URLRefused(f"expected {scheme}://host after the scheme")
    rest = rest[2:]
    rest = rest.split("#", 1)[0]  # the fragment is never sent
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, remainder = rest[:end], rest[end:]
    path, _, query = remainder.partition("?")
    has_query = "?" in remainder
    host, port = _split_authority(authority)
    if not host:
        raise URLRefused("the URL has no host")
    normalized_port = _port(port, scheme)
    normalized_path = _remove_dot_segments(_normalize_escapes(path or "/", _PATH_SAFE))
    _refuse_ambiguous_path(normalized_path)
    normalized_query = _normalize_escapes(query, _QUERY_SAFE) if has_query and query else None
    return NormalizedURL(scheme, _normalize_host(host), normalized_port, normalized_path, normalized_query)


def _split_authority(authority: str) -> tuple[str, str | None]:
    if "@" in authority:
        raise URLRefused("URLs with user info (user@host, user:password@host) are refused")
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise URLRefused("unclosed [ in the host")
        host, after = authority[: close + 1], authority[close + 1 :]
        if after and not after.startswith(":"):
            raise URLRefused(f"unexpected {after!r} after the IPv6 address")
        return host, after[1:] if after else None
    if authority.count(":") > 1:
        raise URLRefused("more than one ':' in the host (IPv6 addresses go in [brackets])")
    host, colon, port = authority.partition(":")
    return host, port if colon else None


def _port(text: str | None, scheme: str) -> int | None:
    if text is None or text == "":
        return None
    if not _PORT.match(text) or not 0 < int(text) < 65536:
        raise URLRefused(f"invalid port {text!r}")
    port = int(text)
    return None if port == DEFAULT_PORTS.get(scheme) else port


def _normalize_host(host: str) -> str:
    if host.startswith("["):
        inner = host[1:-1]
        if "%" in inner:
            raise URLRefused("IPv6 zone identifiers (%25...) are refused")
        try:
            return f"[{ipaddress.IPv6Address(inner).compressed}]"
        except ValueError:
            raise URLRefused(f"invalid IPv6 address {inner!r}") from None
    if "%" in host:
        raise URLRefused("percent-encoded host names are refused")
    name = _ascii_host(host)
    if name.endswith("."):
        name = name[:-1]
    if not _NAME.match(name) or len(name) > 253 or any(len(label) > 63 for label in name.split(".")):
        raise URLRefused(f"invalid host name {host!r}")
    if _NUMERIC_LABEL.match(name.rsplit(".", 1)[-1]):
        address = parse_ipv4_number(name)
        if address is None:
            raise URLRefused(f"invalid IPv4 address {host!r}")
        return str(address)
    return name


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise URLRefused(f"invalid international host name {host!r}") from None


def _normalize_escapes(text: str, safe: frozenset[str]) -> str:
    """Decode escapes of unreserved characters, uppercase the others, escape what may not appear raw."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            digits = text[i + 1 : i + 3]
            if len(digits) < 2 or digits[0] not in _HEX or digits[1] not in _HEX:
                raise URLRefused("invalid percent-encoding (% not followed by two hex digits)")
            decoded = chr(int(digits, 16))
            out.append(decoded if decoded in _UNRESERVED else f"%{digits.upper()}")
            i += 3
            continue
        if char in safe:
            out.append(char)
        else:
            try:
                out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
            except UnicodeEncodeError:
                raise URLRefused("not valid Unicode") from None
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on a path that starts with `/`."""
    output: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


# Byte sequences some servers have decoded to '.', '/' and '\' (overlong UTF-8).
_OVERLONG = ((b"\xc0\xae", b"."), (b"\xe0\x80\xae", b"."), (b"\xc0\xaf", b"/"), (b"\xe0\x80\xaf", b"/"),
             (b"\xc1\x9c", b"\\"), (b"\xe0\x81\x9c", b"\\"))


def _lenient_segments(path: str) -> list[str]:
    """The segments of `path` as the most forgiving server could read them."""
    text = path
    for _ in range(4):  # %252e: some servers decode twice
        raw = unquote_to_bytes(text)
        for sequence, replacement in _OVERLONG:
            raw = raw.replace(sequence, replacement)
        decoded = unicodedata.normalize("NFKC", raw.decode("utf-8", errors="replace"))
        if decoded == text:
            break
        text = decoded
    return [segment.split(";", 1)[0] for segment in text.replace("\\", "/").split("/")]


def _refuse_ambiguous_path(path: str) -> None:
    if any(segment in (".", "..") for segment in _lenient_segments(path)):
        raise URLRefused(
            "the path holds an encoded or disguised dot segment ('..;', '%2e%2e%2f', '%5c..', ...)"
        )


# --------------------------------------------------------------------------- patterns


def _glob(text: str) -> re.Pattern[str]:
    """Directus's glob: a run of `*` matches any characters, every other character is itself."""
    return re.compile(".*".join(re.escape(part) for part in re.split(r"\*+", text)), re.DOTALL)


_PATTERN = re.compile(r"^([A-Za-z*][A-Za-z0-9+.*-]*)://([^/?]*)(.*)$", re.DOTALL)
_HOST_GLOB = re.compile(r"^(?:[a-z0-9_*-]+(?:\.[a-z0-9_*-]+)*|\[[0-9a-f:.*]+\])$")
_PORT_GLOB = re.compile(r"^[0-9*]{1,5}$")


@dataclass(frozen=True)
class URLPattern:
    """One `urls` entry, compiled per URL part."""

    text: str
    scheme: re.Pattern[str]
    host: re.Pattern[str]
    port: re.Pattern[str] | None
    """None: the scheme's default port only."""
    target: re.Pattern[str] | None
    """None: every path and query."""

    @classmethod
    def parse(cls, text: str) -> URLPattern:
        """Compile `text`; raises `URLRefused` naming what cannot be read."""
        scheme, host, port, target = pattern_globs(text)
        return cls(
            text,
            _glob(scheme),
            _glob(host),
            None if port is None else _glob(port),
            None if target is None else _glob(target),
        )

    def matches(self, url: NormalizedURL) -> bool:
        if not self.scheme.fullmatch(url.scheme) or not self.host.fullmatch(url.host):
            return False
        if self.port is None:
            if url.port is not None:
                return False
        elif not self.port.fullmatch(str(url.effective_port)):
            return False
        return self.target is None or self.target.fullmatch(url.target) is not None


def pattern_globs(text: str) -> tuple[str, str, str | None, str | None]:
    """The globs `text` is matched with, per part: scheme, host, port (None: the scheme's
    default port only), path and query (None: every path and query); raises `URLRefused`."""
    _refuse_unreadable(text)
    if text and set(text) == {"*"}:
        return "*", "*", "*", None
    if "#" in text:
        raise URLRefused("a fragment (#) can never match: it is not sent")
    match = _PATTERN.match(text)
    if match is None:
        raise URLRefused("expected scheme://host[:port][/path] or *")
    scheme, authority, target = match.group(1).lower(), match.group(2), match.group(3)
    host, port = _split_authority(authority)
    return (
        scheme,
        _host_glob(host),
        None if port in (None, "") else _port_glob(port, scheme),
        None if target == "" else _target_glob(target),
    )


def _host_glob(host: str) -> str:
    if not host:
        raise URLRefused("the pattern has no host")
    if "*" not in host:
        return _normalize_host(host)
    if host.startswith("["):
        glob = host.lower()
    else:
        labels = []
        for label in host.rstrip(".").split("."):
            if label.isascii():
                labels.append(label.lower())
            elif "*" in label:
                raise URLRefused("a label with * must be ASCII (write it in punycode)")
            else:
                labels.append(_ascii_host(label))
        glob = ".".join(labels)
    if not _HOST_GLOB.match(glob):
        raise URLRefused(f"invalid host pattern {host!r}")
    return glob


def _port_glob(port: str, scheme: str) -> str | None:
    if not _PORT_GLOB.match(port):
        raise URLRefused(f"invalid port pattern {port!r}")
    if "*" in port:
        return port
    number = _port(port, scheme) if scheme in DEFAULT_PORTS else int(port)
    return None if number is None else str(number)


def _target_glob(target: str) -> str:
    if not target.startswith("/"):
        target = "/" + target
    path, question, query = target.partition("?")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise URLRefused("dot segments (. and ..) in a pattern's path are refused")
    normalized = _normalize_escapes(path, _PATH_SAFE)
    if question:
        normalized += "?" + _normalize_escapes(query, _QUERY_SAFE)
    return normalized


class URLScope:
    """The `urls` of one `request` scope."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(URLPattern.parse(text) for text in patterns)

    def allows(self, url: NormalizedURL) -> bool:
        return any(pattern.matches(url) for pattern in self.patterns)


def check_patterns(patterns: Iterable[str]) -> None:
    """Raise `ValueError` naming the first pattern that cannot be read (manifest validation)."""
    for index, text in enumerate(patterns):
        try:
            URLPattern.parse(text)
        except URLRefused as exc:
            raise ValueError(f"urls[{index}] {text!r}: {exc}") from None
