"""The network guard of the `request` capability (DESIGN section 3).

Outbound requests may only reach addresses outside `IMPORT_IP_DENY_LIST`
(`Settings.import_ip_deny_list`; `None` means `DEFAULT_DENY_LIST`). The check
happens where the socket is opened: `GuardedBackend` is an httpcore network
backend whose `connect_tcp` resolves the host itself, checks every address it
resolves to, and connects only to an address it checked, so there is no gap
between checking a name and using it (DNS rebinding), and every redirect hop
is checked again.

An address is compared in every form it can take: an IPv6 address that
carries an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated
`::ffff:0:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
`2002::/16`, Teredo) is denied when the IPv4 address it carries is, and a
host written as a number the C resolver reads as IPv4 (`2130706433`,
`0x7f000001`, `0177.0.0.1`, `127.1`) is read as that IPv4 address.

Unspecified addresses (`0.0.0.0/8` and `::`, `ALWAYS_DENIED`) mean "this host"
(a connection to 0.0.0.0 reaches the host's own services): they are denied in
every form whatever `IMPORT_IP_DENY_LIST` says.

The guard meets the operating system at two seams, both replaceable by a real
implementation of their protocol (tests route a fake internet through them):
`resolve` (a `Resolver`: names to addresses) and `system_backend()` (the
httpcore network backend that opens sockets to checked addresses).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ipaddress
import logging
import re
import socket
import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol

import httpcore

from host.errors import CapabilityDenied

logger = logging.getLogger("exthost.netguard")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_DENY_LIST: tuple[str, ...] = (
    # IPv4
    "0.0.0.0/8",  # "this network", unspecified
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # CGNAT (shared address space)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments (192.0.0.192: Oracle Cloud metadata)
    "192.0.2.0/24",  # documentation (TEST-NET-1)
    "192.88.99.0/24",  # 6to4 relay anycast
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation (TEST-NET-2)
    "203.0.113.0/24",  # documentation (TEST-NET-3)
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, broadcast
    "169.254.169.254/32",  # cloud metadata (AWS, GCP, Azure, OpenStack, ...)
    "169.254.170.2/32",  # AWS ECS task metadata
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "168.63.129.16/32",  # Azure WireServer
    # IPv6
    "::/128",  # unspecified
    "::1/128",  # loopback
    "64:ff9b:1::/48",  # local-use NAT64
    "100::/64",  # discard-only
    "2001::/23",  # IETF protocol assignments (Teredo, ORCHID, benchmarking, ...)
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation
    "5f00::/16",  # SRv6 SIDs
    "fc00::/7",  # unique local (private)
    "fd00:ec2::254/128",  # AWS metadata over IPv6
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local (deprecated)
    "ff00::/8",  # multicast
)
"""Denied when `IMPORT_IP_DENY_LIST` is not set. IPv4 addresses carried inside
IPv6 ones (mapped, translated, compatible, NAT64, 6to4, Teredo) are checked
as the IPv4 address they carry, so those prefixes need no entry of their own."""

ALWAYS_DENIED: tuple[IPNetwork, ...] = (
    ipaddress.IPv4Network("0.0.0.0/8"),
    ipaddress.IPv6Network("::/128"),
)
"""Unspecified addresses: denied in every form, whatever the deny list."""

_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


class AddressDenied(CapabilityDenied):
    """A request that would reach a denied address."""


# --------------------------------------------------------------------------- addresses


_NUMBER = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")


def parse_ipv4_number(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address `host` denotes under the C `inet_aton` rules, or None.

    One to four parts separated by dots, each decimal, octal (leading `0`)
    or hexadecimal (`0x`); the last part fills the remaining bytes:
    `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1` are all 127.0.0.1.
    A trailing dot (fully qualified form) is ignored.
    """
    text = host.strip()
    if text.endswith("."):
        text = text[:-1]
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER.match(p) for p in parts):
        return None
    values: list[int] = []
    for part in parts:
        if part[:2].lower() == "0x":
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if any(c in "89" for c in part):
                return None
            values.append(int(part, 8))
        else:
            values.append(int(part, 10))
    *leading, last = values
    if any(v > 0xFF for v in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    number = 0
    for v in leading:
        number = number << 8 | v
    number = number << (8 * (4 - len(leading))) | last
    return ipaddress.IPv4Address(number)


def parse_address(host: str) -> IPAddress | None:
    """The IP address `host` is written as (any IPv4 or IPv6 literal form), or None for a name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(text.split("%", 1)[0])
    return parse_ipv4_number(text)


def _unscoped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return ipaddress.IPv6Address(address.packed)
    return address


def address_forms(address: IPAddress) -> list[IPAddress]:
    """`address` and every IPv4 address it carries."""
    address = _unscoped(address)
    forms: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if (
            address in _IPV4_MAPPED
            or address in _IPV4_TRANSLATED
            or (address in _IPV4_COMPATIBLE and int(address) > 1)  # `::` and `::1` are themselves
            or address in _NAT64
        ):
            forms.append(low32)
        if address in _NAT64_LOCAL:
            forms.append(low32)
        if address.sixtofour is not None:
            forms.append(address.sixtofour)
        if address.teredo is not None:
            forms.extend(address.teredo)
    return forms


def _parse_network(entry: str) -> IPNetwork:
    text = entry.strip()
    if "/" not in text:
        address = parse_address(text)
        if address is None:
            raise ValueError(f"{entry!r} is not an IP address or CIDR range")
        return ipaddress.ip_network(_unscoped(address))
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{entry!r} is not an IP address or CIDR range") from None


class NetGuard:
    """Decides which addresses outbound requests may reach."""

    def __init__(self, deny_list: Sequence[str] | None = None) -> None:
        self.default = deny_list is None
        entries = DEFAULT_DENY_LIST if deny_list is None else tuple(deny_list)
        networks: list[IPNetwork] = []
        for entry in entries:
            network = _parse_network(entry)
            networks.append(network)
            # `::ffff:a.b.c.d/n` written in a deny list also denies a.b.c.d itself.
            if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_IPV4_MAPPED):
                offset = network.prefixlen - 96
                base = ipaddress.IPv4Address(int(network.network_address) & 0xFFFFFFFF)
                networks.append(ipaddress.IPv4Network(f"{base}/{offset}"))
        networks.extend(network for network in ALWAYS_DENIED if network not in networks)
        self.networks: tuple[IPNetwork, ...] = tuple(networks)

    def denied_by(self, address: IPAddress) -> IPNetwork | None:
        """The deny-list entry that covers `address` in one of its forms, or None."""
        for form in address_forms(address):
            for network in self.networks:
                if form.version == network.version and form in network:
                    return network
            if self.default and not _carries_ipv4(form) and _special(form):
                return ipaddress.ip_network(form)
        return None

    def is_denied(self, address: IPAddress | str) -> bool:
        if isinstance(address, str):
            parsed = parse_address(address)
            if parsed is None:
                raise ValueError(f"{address!r} is not an IP address")
            address = parsed
        return self.denied_by(address) is not None


def _carries_ipv4(address: IPAddress) -> bool:
    """An IPv6 address that only carries an IPv4 one: judged by the IPv4 address alone."""
    if not isinstance(address, ipaddress.IPv6Address):
        return False
    if address in _IPV4_COMPATIBLE:
        return int(address) > 1  # `::` and `::1` are themselves
    return any(address in prefix for prefix in (_IPV4_MAPPED, _IPV4_TRANSLATED, _NAT64))


def _special(address: IPAddress) -> bool:
    """Belt and braces for the default list: whatever the standard library calls non-public."""
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


# --------------------------------------------------------------------------- deadline

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "exthost_request_deadline", default=None
)


@contextlib.contextmanager
def deadline(at: float) -> Iterator[None]:
    """Within the block, network I/O through `GuardedBackend` in this thread ends by `at` (monotonic)."""
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    at = _deadline.get()
    if at is None:
        return timeout
    remaining = at - time.monotonic()
    if remaining <= 0:
        raise error("the request's time limit was reached")
    return remaining if timeout is None else min(timeout, remaining)


# --------------------------------------------------------------------------- backend

class Resolver(Protocol):
    """Names to addresses: `(host, port, timeout) -> [ip, ...]`; raises httpcore's connect errors.

    It may block: `GuardedBackend` runs it on lookup threads of its own and stops
    waiting at `timeout`."""

    def __call__(self, host: str, port: int, timeout: float | None) -> list[str]: ...


def resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """The system `Resolver`: the addresses `host` resolves to for TCP (getaddrinfo), in its order.

    getaddrinfo cannot be given a timeout; the backend that calls this stops waiting instead."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from None
    addresses: list[str] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = str(sockaddr[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise httpcore.ConnectError(f"{host!r} has no IPv4 or IPv6 address")
    return addresses


def system_backend() -> httpcore.NetworkBackend:
    """The sockets checked addresses are connected on."""
    return httpcore.SyncBackend()


class GuardedStream(httpcore.NetworkStream):
    """A stream whose reads and writes end by the current `deadline`."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        return GuardedStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Guarding:
    """What both guarded backends do before a socket is opened: the rules live here once.

    Names are resolved on `lookups` threads of the backend's own (one backend per
    extension's `request` capability, started on demand): names that resolve slowly hold
    only their own extension's lookups, never another's. A lookup that outlasts the
    connection's time limit is given up (and dropped if it has not started yet)."""

    def __init__(self, guard: NetGuard, resolver: Resolver | None, lookups: int) -> None:
        self.guard = guard
        self._resolver = resolver
        self._lookups = ThreadPoolExecutor(max_workers=lookups, thread_name_prefix="exthost-dns")

    def close(self) -> None:
        """Stop the lookup threads (lookups under way end on their own; queued ones are dropped)."""
        self._lookups.shutdown(wait=False, cancel_futures=True)

    def _lookup(self, host: str, port: int, timeout: float | None) -> Future[list[str]]:
        lookup = self._resolver or resolve  # looked up per call: the module's seam
        try:
            return self._lookups.submit(lookup, host, port, timeout)
        except RuntimeError:  # closed
            raise httpcore.ConnectError(f"cannot resolve {host!r}: the request capability is closed") from None

    def check_host(self, host: str) -> None:
        """Refuse `host` when it is written as a denied address (in any literal form)."""
        address = parse_address(host)
        if address is not None and self.guard.denied_by(address) is not None:
            raise AddressDenied(f"address {address} is denied")

    def _literal(self, host: str) -> list[str] | None:
        """The address `host` denotes when it is one (refused when denied), else None: a name."""
        self.check_host(host)
        literal = parse_address(host)
        if literal is None:
            return None
        # Connect to the address the host denotes, whatever the resolver would make of it.
        return [host if ":" in host else str(literal)]

    def _check(self, host: str, addresses: list[str]) -> list[str]:
        """`addresses` when every one of them is allowed; refused when one is denied."""
        for ip in addresses:
            parsed = parse_address(ip)
            if parsed is None or self.guard.denied_by(parsed) is not None:
                logger.warning("refused connection to %s (%s): denied address", host, ip)
                raise AddressDenied(f'host "{host}" resolves to a denied address')
        return addresses


class GuardedBackend(_Guarding, httpcore.NetworkBackend):
    """Resolves, checks every address against the guard, and connects only to a checked address
    (`_Guarding`).

    TLS is started by httpcore on the returned stream with the URL's host name,
    so SNI and certificate verification use the name, not the address.
    """

    def __init__(
        self,
        guard: NetGuard,
        inner: httpcore.NetworkBackend | None = None,
        resolver: Resolver | None = None,
        lookups: int = 4,
    ) -> None:
        super().__init__(guard, resolver, lookups)
        self._inner = inner if inner is not None else system_backend()

    def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        future = self._lookup(host, port, timeout)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            future.cancel()
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from None

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._literal(host)
        if addresses is None:
            addresses = self._resolve(host, port, _clamp(timeout, httpcore.ConnectTimeout))
        last_error: Exception | None = None
        for ip in self._check(host, addresses):
            try:
                stream = self._inner.connect_tcp(
                    ip,
                    port,
                    timeout=_clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            return GuardedStream(stream)
        assert last_error is not None
        raise last_error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise AddressDenied("unix sockets are not reachable")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def async_system_backend() -> httpcore.AsyncNetworkBackend:
    """The sockets checked addresses are connected on, for `request-start` (on the event loop)."""
    return httpcore.AnyIOBackend()


class AsyncGuardedStream(httpcore.AsyncNetworkStream):
    """`GuardedStream` on the event loop: reads and writes end by the current `deadline`."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        return AsyncGuardedStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class AsyncGuardedBackend(_Guarding, httpcore.AsyncNetworkBackend):
    """`GuardedBackend` on the event loop, with the same rules (`_Guarding`): a connection waits
    holding no thread (a name is still resolved on one of the lookup threads: getaddrinfo blocks)."""

    def __init__(
        self,
        guard: NetGuard,
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolver: Resolver | None = None,
        lookups: int = 4,
    ) -> None:
        super().__init__(guard, resolver, lookups)
        self._inner = inner if inner is not None else async_system_backend()

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        future = self._lookup(host, port, timeout)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            future.cancel()
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from None

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self._literal(host)
        if addresses is None:
            addresses = await self._resolve(host, port, _clamp(timeout, httpcore.ConnectTimeout))
        last_error: Exception | None = None
        for ip in self._check(host, addresses):
            try:
                stream = await self._inner.connect_tcp(
                    ip,
                    port,
                    timeout=_clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            return AsyncGuardedStream(stream)
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressDenied("unix sockets are not reachable")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
