"""The `request` capability: outbound HTTP for a guest, within its scope (DESIGN sections 3 and 9).

`make_request(scope, settings)` returns `request(ctx, url, options_json) -> result_json`:

- the URL is parsed and normalized (`urlscope.normalize_url`: user info, backslashes,
  control characters and disguised dot segments are refused) and must match one of
  `scope.urls` (Directus's globs, matched per URL part: `urlscope.URLPattern`); the
  method must be in `scope.methods`;
- every connection, redirects included, goes through `GuardedBackend`, which
  resolves the host, checks every address against the deny list and connects
  to a checked address;
- redirects are followed here, up to `settings.request_max_redirects`, and every
  hop is checked like the first URL: readable, in `scope.urls`, with its method
  (kept by 307/308, GET after a 303 or after a 301/302 of a POST) in
  `scope.methods`, and not a denied address; a refusal names the hop and the
  original URL;
- the normalized URL is what is sent;
- the response body is read as a stream and refused past `settings.request_max_bytes`,
  decoded (one layer of gzip or deflate, `host.capabilities.inflate`) a limited piece at a
  time, so a compressed bomb is refused before it inflates;
  it is decoded in its charset when that is one browsers read (`response_text`), and
  a JSON body goes through the host's one decoder (`host.jsontext.loads`:
  `MAX_JSON_DEPTH`, NaN, huge numbers, lone surrogates, NUL, and no more memory decoded
  than `EXTENSIONS_SANDBOX_MEMORY`), else the guest gets the text;
- the whole request ends by min(`settings.request_timeout`, the call's remaining time).

Every refusal or failure raises `CapabilityDenied`, which the guest sees as an error it can catch.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import re
import ssl
import time
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Coroutine, Iterable, Iterator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx
from pydantic import ValidationError

from host.capabilities.base import CallContext, Capability, Starter
from host.capabilities.inflate import EncodingRefused, decoded
from host.capabilities.netguard import AsyncGuardedBackend, GuardedBackend, NetGuard, deadline
from host.capabilities.urlscope import NormalizedURL, URLRefused, URLScope, normalize_url
from host.config import Settings
from host.errors import CapabilityDenied
from host.extensions.manifest import RequestScope
from host.jsontext import JsonRefused, loads
from host.types import Json, RequestOptions, RequestResult

logger = logging.getLogger("exthost.capabilities.request")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

FLOW_DEPTH_HEADER = "X-Exthost-Flow-Depth"
"""How deep in nested flow runs a request of the `request` operation was sent: set by the host
only (a value the guest or the flow's options give is dropped), read by webhook triggers."""

# Headers the host controls: framing, connection management, routing and decoding.
_DROPPED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "accept-encoding",
        "proxy-authorization",
        "proxy-connection",
        FLOW_DEPTH_HEADER.lower(),
    }
)
_CROSS_ORIGIN_DROPPED = frozenset({"authorization", "cookie"})
_BODY_HEADERS = frozenset({"content-type", "content-encoding", "content-language", "content-location"})

# --------------------------------------------------------------------------- transport

_TIMEOUTS: tuple[type[Exception], ...] = (httpcore.TimeoutException,)
_FAILURES: tuple[type[Exception], ...] = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
)


@contextlib.contextmanager
def _httpcore_errors(request: httpx.Request | None = None) -> Iterator[None]:
    try:
        yield
    except _TIMEOUTS as exc:
        raise httpx.TimeoutException(str(exc) or type(exc).__name__, request=request) from exc
    except _FAILURES as exc:
        raise httpx.TransportError(str(exc) or type(exc).__name__, request=request) from exc


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes], request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        with _httpcore_errors(self._request):
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool whose every connection goes through `GuardedBackend`."""

    def __init__(self, backend: GuardedBackend, ssl_context: ssl.SSLContext | None = None) -> None:
        self.backend = backend
        self._pool = httpcore.ConnectionPool(**_pool_settings(ssl_context), network_backend=backend)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        with _httpcore_errors(request):
            response = self._pool.handle_request(_core_request(request))
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
        self.backend.close()


def _core_request(request: httpx.Request) -> httpcore.Request:
    return httpcore.Request(
        method=request.method,
        url=httpcore.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        ),
        headers=request.headers.raw,
        content=request.stream,
        extensions=request.extensions,
    )


def _pool_settings(ssl_context: ssl.SSLContext | None) -> dict[str, Any]:
    return {
        "ssl_context": ssl_context or httpx.create_ssl_context(trust_env=False),
        "max_connections": 20,
        "max_keepalive_connections": 10,
        "keepalive_expiry": 5.0,
        "http1": True,
        "http2": False,
    }


class _AsyncBody(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes], request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpcore_errors(self._request):
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


class AsyncGuardedTransport(httpx.AsyncBaseTransport):
    """`GuardedTransport` on the event loop: every connection goes through `AsyncGuardedBackend`."""

    def __init__(self, backend: AsyncGuardedBackend, ssl_context: ssl.SSLContext | None = None) -> None:
        self.backend = backend
        self._pool = httpcore.AsyncConnectionPool(**_pool_settings(ssl_context), network_backend=backend)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        with _httpcore_errors(request):
            response = await self._pool.handle_async_request(_core_request(request))
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_AsyncBody(response.stream, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _OnThread(httpx.AsyncBaseTransport):
    """A test's sync transport (`host.testing`) for `request-start`: each request on a thread."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=content,
                             extensions=request.extensions)
        response = await asyncio.to_thread(self._transport.handle_request, copy)
        body = await asyncio.to_thread(response.read)
        return httpx.Response(response.status_code, headers=response.headers, stream=httpx.ByteStream(body),
                              extensions=response.extensions)


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: no state carries from one call (or extension) to the next."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def make_client(backend: GuardedBackend, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The client a `request` capability sends through: guarded, no proxies, no cookies, no redirects.

    Responses are asked for uncompressed so that `request_max_bytes` bounds
    what is held in memory (a server that compresses anyway is still decoded).
    `transport` replaces the network (`host.testing` answers an extension's requests with the
    test's fake server); every check before sending (scope, method, address) still runs.
    """
    return httpx.Client(transport=transport or GuardedTransport(backend), **_CLIENT_SETTINGS, cookies=_no_cookies())


_CLIENT_SETTINGS: dict[str, Any] = {
    "trust_env": False,
    "follow_redirects": False,
    "headers": {"User-Agent": "exthost", "Accept-Encoding": "identity"},
}


def make_async_client(backend: AsyncGuardedBackend, transport: httpx.BaseTransport | None = None) -> httpx.AsyncClient:
    """`make_client` for `request-start`, on the event loop."""
    sent: httpx.AsyncBaseTransport = _OnThread(transport) if transport is not None else AsyncGuardedTransport(backend)
    return httpx.AsyncClient(transport=sent, **_CLIENT_SETTINGS, cookies=_no_cookies())


# --------------------------------------------------------------------------- scope


def url_allowed(url: str, globs: Iterable[str]) -> bool:
    """Whether `url`, normalized, matches one of the `urls` globs (see `host.capabilities.urlscope`)."""
    try:
        target = normalize_url(url)
    except URLRefused:
        return False
    return URLScope(globs).allows(target)


def shown(text: str, limit: int = 300) -> str:
    """`text` quoted for an error message: control characters escaped, cut at `limit`."""
    cut = text if len(text) <= limit else text[:limit] + "..."
    return '"' + "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut) + '"'


def _parse_options(options_json: str, max_depth: int) -> RequestOptions:
    text = options_json.strip() if options_json else ""
    if text in ("", "null", "undefined"):
        return RequestOptions()
    try:
        raw = loads(text, max_depth)
    except JsonRefused as exc:
        raise CapabilityDenied(f"Invalid request options: the options {exc.reason}") from None
    if raw is None:
        return RequestOptions()
    if not isinstance(raw, dict):
        raise CapabilityDenied("Invalid request options: expected an object {method, headers, body}")
    try:
        return RequestOptions.model_validate(raw)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'options'}: {item['msg']}" for item in exc.errors()
        )
        raise CapabilityDenied(f"Invalid request options: {details}") from None


def _request_headers(headers: dict[str, str]) -> list[tuple[str, str]]:
    kept: list[tuple[str, str]] = []
    for name, value in headers.items():
        key = name.strip().lower()
        if key not in _DROPPED_HEADERS and not key.startswith("proxy-"):
            kept.append((name, value))
    return kept


_TEXT_ENCODINGS = frozenset(
    codecs.lookup(name).name
    for name in (
        "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be",
        "ascii", "latin-1", "cp866", "koi8-r", "koi8-u", "mac-roman", "mac-cyrillic", "cp874",
        *(f"iso-8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16)),
        *(f"cp{n}" for n in range(1250, 1259)),
        "gbk", "gb18030", "big5", "euc-jp", "iso-2022-jp", "shift_jis", "euc-kr",
    )
)  # fmt: skip
"""The charsets a response is decoded with: the WHATWG Encoding standard's (what browsers
read), plus ASCII, Latin-1 and UTF-32. Python's other codecs are not for remote text:
`punycode` and `idna` decode in quadratic time holding the GIL (a 5 MB body would stop the
host for an hour), `utf-7` and `unicode_escape` make lone surrogates, which no JSON can carry."""


def response_text(content: bytes, charset: str | None) -> str:
    """`content` as text: in its declared charset when it is one of `_TEXT_ENCODINGS`, else
    UTF-8; undecodable bytes become U+FFFD, and the text is always valid Unicode."""
    try:
        codec = codecs.lookup(charset or "utf-8").name
    except LookupError:
        codec = "utf-8"
    if codec not in _TEXT_ENCODINGS:
        codec = "utf-8"
    text = content.decode(codec, errors="replace")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # belt and braces: a lone surrogate no codec above should make
        text = content.decode("utf-8", errors="replace")
    return text


_JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


def _is_json(content_type: str) -> bool:
    return bool(_JSON_TYPE.match(content_type.split(";", 1)[0].strip().lower()))


# --------------------------------------------------------------------------- capability


class _Requester:
    def __init__(self, scope: RequestScope, settings: Settings, transport: httpx.BaseTransport | None) -> None:
        self.scope = scope
        self.urls = URLScope(scope.urls)
        self.max_bytes = settings.request_max_bytes
        self.timeout = settings.request_timeout / 1000
        self.max_redirects = settings.request_max_redirects
        self.json_depth = settings.max_json_depth
        # a JSON body is handed to a guest decoded only if it fits what the guest may hold
        self.max_decoded = settings.extensions_sandbox_memory * 1024 * 1024
        try:
            self.guard = NetGuard(settings.import_ip_deny_list)
        except ValueError as exc:
            raise ValueError(f"IMPORT_IP_DENY_LIST: {exc}") from None
        # names are resolved on threads of this capability's own, as many as the extension's calls
        self.backend = GuardedBackend(self.guard, lookups=settings.extensions_sandbox_pool_size)
        self.client = make_client(self.backend, transport)
        self.async_backend = AsyncGuardedBackend(self.guard, lookups=settings.extensions_sandbox_pool_size)
        self.transport = transport
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._holders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncIterator[None]] = (
            weakref.WeakKeyDictionary()
        )

    def _prepare(self, ctx: CallContext, url: str, options_json: str) -> _Hops:
        """The checks made before anything is sent (a refusal the guest gets at once)."""
        options = _parse_options(options_json, self.json_depth)
        method = options.method.strip().upper()
        where = shown(url)
        target = self._admit(url, method, where)
        budget = min(self.timeout, ctx.remaining())
        if budget <= 0:
            raise CapabilityDenied(f"Request to {where} refused: the call has no time left")
        return _Hops(self, url, target, method, options, budget, ctx.flow_depth)

    def __call__(self, ctx: CallContext, url: str, options_json: str) -> str:
        hops = self._prepare(ctx, url, options_json)
        with hops.failures(), deadline(hops.until):
            while True:
                request = hops.request(self.client)
                try:
                    response = self.client.send(request, stream=True)
                except CapabilityDenied as exc:
                    raise hops.refused(exc) from None
                try:
                    if not hops.follow(response):
                        return self._result(response, url, response.iter_raw()).model_dump_json()
                finally:
                    response.close()

    def start(self, ctx: CallContext, url: str, options_json: str) -> Coroutine[Any, Any, str]:
        """`request-start`: the same checks at once, then the same request on the event loop."""
        hops = self._prepare(ctx, url, options_json)
        return self._send(hops)

    async def _send(self, hops: _Hops) -> str:
        client = await self._async_client()
        with hops.failures(), deadline(hops.until):
            while True:
                request = hops.request(client)
                try:
                    response = await client.send(request, stream=True)
                except CapabilityDenied as exc:
                    raise hops.refused(exc) from None
                try:
                    if not hops.follow(response):
                        raw = await self._read_raw(response, hops.url)
                        return self._result(response, hops.url, raw).model_dump_json()
                finally:
                    await response.aclose()

    async def _async_client(self) -> httpx.AsyncClient:
        """The client of the running loop (its connections belong to it), closed when the loop
        shuts its async generators down (`asyncio.run` and uvicorn do, before closing it)."""
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = self._async_clients[loop] = make_async_client(self.async_backend, self.transport)
            holder = _closed_with_the_loop(client)
            await anext(holder)
            self._holders[loop] = holder
        return client

    async def _read_raw(self, response: httpx.Response, url: str) -> list[bytes]:
        """The body as it came (before decoding), refused past `max_bytes` as it arrives."""
        self._declared(response, url)
        chunks: list[bytes] = []
        async for chunk in response.aiter_raw():
            chunks.append(chunk)
            if response.num_bytes_downloaded > self.max_bytes:
                raise _too_large(url, self.max_bytes)
        return chunks

    def _admit(self, text: str, method: str, where: str) -> NormalizedURL:
        """One hop, checked before anything is sent: readable, in scope, method allowed, address allowed."""
        try:
            target = normalize_url(text)
        except URLRefused as exc:
            raise CapabilityDenied(f"No permission to access {where}: {exc}") from None
        if not self.urls.allows(target):
            raise CapabilityDenied(
                f"No permission to access {where}: it matches none of the scope's urls ({_listed(self.scope.urls)})"
            )
        if method not in self.scope.methods:
            raise CapabilityDenied(f'No permission to use method "{method}" to access {where}')
        try:
            self.backend.check_host(target.host)
        except CapabilityDenied as exc:
            raise CapabilityDenied(f"No permission to access {where}: {exc.message}") from None
        return target

    def _declared(self, response: httpx.Response, url: str) -> None:
        """Refuse a response whose `Content-Length` is past `max_bytes`, before reading it."""
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise CapabilityDenied(
                f'Response from "{url}" refused: {declared} bytes is more than the {self.max_bytes} allowed'
            )

    def _result(self, response: httpx.Response, url: str, raw: Iterable[bytes]) -> RequestResult:
        """The result of the final hop, from its body `raw` as it came (still encoded)."""
        self._declared(response, url)
        chunks: list[bytes] = []
        size = 0
        encoding = response.headers.get("content-encoding")
        try:
            for chunk in decoded(raw, encoding, self.max_bytes):
                size += len(chunk)
                if size > self.max_bytes or response.num_bytes_downloaded > self.max_bytes:
                    raise _too_large(url, self.max_bytes)
                chunks.append(chunk)
        except EncodingRefused as exc:
            raise CapabilityDenied(f'Response from "{url}" refused: {exc}') from None
        text = response_text(b"".join(chunks), response.charset_encoding)
        data: Json = text
        if _is_json(response.headers.get("content-type", "")) and text.strip():
            with contextlib.suppress(JsonRefused):
                data = loads(text, self.json_depth, self.max_decoded)
        return RequestResult(
            status=response.status_code,
            statusText=response.reason_phrase,
            headers=dict(response.headers.items()),
            data=data,
        )


async def _closed_with_the_loop(client: httpx.AsyncClient) -> AsyncIterator[None]:
    """Suspended once started: the loop closes it (and so the client) at `shutdown_asyncgens`."""
    try:
        yield
    finally:
        await client.aclose()


def _too_large(url: str, max_bytes: int) -> CapabilityDenied:
    return CapabilityDenied(f'Response from "{url}" refused: larger than the {max_bytes} bytes allowed')


class _Hops:
    """One request's hops, the redirect rules applied between them (sync and async alike):
    each hop readable, in scope, its method allowed, not a denied address; at most
    `max_redirects`; credentials dropped across origins; within the request's time."""

    def __init__(
        self, requester: _Requester, url: str, target: NormalizedURL, method: str, options: RequestOptions,
        budget: float, flow_depth: int,
    ) -> None:
        self.requester = requester
        self.url = url
        self.target = target
        self.method = method
        self.budget = budget
        self.until = time.monotonic() + budget
        self.headers = _request_headers(options.headers)
        if flow_depth > 0:
            self.headers.append((FLOW_DEPTH_HEADER, str(flow_depth)))
        self.body = options.body.encode("utf-8") if options.body is not None else None
        self.where = shown(url)
        self.redirects = 0

    def request(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The next hop's request, refused when the time is up."""
        remaining = self.until - time.monotonic()
        if remaining <= 0:
            raise httpx.TimeoutException("time limit reached")
        return client.build_request(
            self.method, str(self.target), headers=self.headers, content=self.body, timeout=httpx.Timeout(remaining)
        )

    def refused(self, exc: CapabilityDenied) -> CapabilityDenied:
        return CapabilityDenied(f"No permission to access {self.where}: {exc.message}")

    def follow(self, response: httpx.Response) -> bool:
        """Whether `response` redirects: then the next hop is checked and set up."""
        location = response.headers.get("location")
        if response.status_code not in REDIRECT_STATUSES or not location:
            return False
        self.redirects += 1
        max_redirects = self.requester.max_redirects
        if self.redirects > max_redirects:
            raise CapabilityDenied(f"Request to {shown(self.url)} refused: more than {max_redirects} redirects")
        hop = _join(self.target, location)
        self.where = f"{shown(hop)} (redirected from {shown(self.url)} by a {response.status_code})"
        self.method, self.body, self.headers = _redirected(response.status_code, self.method, self.body, self.headers)
        next_target = self.requester._admit(hop, self.method, self.where)
        if next_target.origin != self.target.origin:
            self.headers = [(n, v) for n, v in self.headers if n.strip().lower() not in _CROSS_ORIGIN_DROPPED]
        self.target = next_target
        return True

    @contextlib.contextmanager
    def failures(self) -> Iterator[None]:
        """What went wrong on the way, as the error the guest sees."""
        where = shown(self.url)
        try:
            yield
        except CapabilityDenied:
            raise
        except httpx.TimeoutException:
            raise CapabilityDenied(f"Request to {where} timed out after {round(self.budget * 1000)} ms") from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, ValueError, UnicodeError) as exc:
            raise CapabilityDenied(f"Request to {where} failed: {exc}") from None


def _join(base: NormalizedURL, location: str) -> str:
    """The URL a `Location` header points to, from `base` (RFC 3986 reference resolution).

    The result is checked like any URL; what parsers read differently (backslashes,
    control characters, surrounding whitespace) is kept as is so the check refuses it.
    """
    if location != location.strip() or "\\" in location or not location.isprintable():
        return location
    return urljoin(str(base), location)


def _listed(urls: Iterable[str], limit: int = 5) -> str:
    items = [shown(u, 100) for u in urls]
    more = f", and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _redirected(
    status: int, method: str, body: bytes | None, headers: list[tuple[str, str]]
) -> tuple[str, bytes | None, list[tuple[str, str]]]:
    """Method, body and headers of the request that follows a redirect (as browsers do)."""
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        kept = [(n, v) for n, v in headers if n.strip().lower() not in _BODY_HEADERS]
        return "GET", None, kept
    return method, body, headers


def make_requests(
    scope: RequestScope, settings: Settings, transport: httpx.BaseTransport | None = None
) -> tuple[Capability, Starter]:
    """The `request` and `request-start` capabilities bound to `scope`, with shared, guarded HTTP
    clients (sending through `transport` instead of the network when one is given: `make_client`)."""
    requester = _Requester(scope, settings, transport)

    def request(ctx: CallContext, url: str, options_json: str) -> str:
        return requester(ctx, url, options_json)

    def request_start(ctx: CallContext, url: str, options_json: str) -> Coroutine[Any, Any, str]:
        return requester.start(ctx, url, options_json)

    # when neither capability is referenced any more, the requester goes: its client and lookup threads with it
    weakref.finalize(requester, _close, requester.client, requester.async_backend)
    return request, request_start


def _close(client: httpx.Client, backend: AsyncGuardedBackend) -> None:
    client.close()
    backend.close()


def make_request(
    scope: RequestScope, settings: Settings, transport: httpx.BaseTransport | None = None
) -> Capability:
    """The `request` capability alone (`make_requests`)."""
    return make_requests(scope, settings, transport)[0]
