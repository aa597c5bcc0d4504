from __future__ import annotations

import ipaddress

import httpcore
import pytest

from host.capabilities import netguard
from host.capabilities.netguard import (
    DEFAULT_DENY_LIST,
    AddressDenied,
    GuardedBackend,
    NetGuard,
    parse_address,
    parse_ipv4_number,
)

DENIED_BY_DEFAULT = [
    "127.0.0.1",
    "127.255.0.9",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:0:7f00:1",  # IPv4-translated
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::7f00:1",  # NAT64
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "169.254.169.254",
    "::ffff:169.254.169.254",
    "fd00:ec2::254",
    "100.100.100.200",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.254",
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "240.0.0.1",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "fec0::1",
    "2001:db8::1",
]

ALLOWED_BY_DEFAULT = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:93.184.216.34",  # the mapped form of a public address is that address
    "64:ff9b::5db8:d822",  # NAT64 of a public address (DNS64 networks)
    "2002:5db8:d822::1",
]


@pytest.mark.parametrize("address", DENIED_BY_DEFAULT)
def test_denied_by_default(address: str) -> None:
    assert NetGuard().is_denied(address)


@pytest.mark.parametrize("address", ALLOWED_BY_DEFAULT)
def test_public_addresses_allowed_by_default(address: str) -> None:
    assert not NetGuard().is_denied(address)


def test_default_list_entries_are_valid() -> None:
    guard = NetGuard()
    assert len(guard.networks) >= len(DEFAULT_DENY_LIST)
    assert NetGuard(None).default and not NetGuard([]).default


def test_custom_list_replaces_default() -> None:
    guard = NetGuard(["192.0.2.0/24", "10.1.2.3"])
    assert guard.is_denied("192.0.2.7")
    assert guard.is_denied("10.1.2.3")
    assert not guard.is_denied("10.1.2.4")
    assert not guard.is_denied("127.0.0.1")
    assert not guard.is_denied("169.254.169.254")
    assert not guard.is_denied("::1")


def test_custom_list_compares_every_form() -> None:
    guard = NetGuard(["127.0.0.2"])
    assert guard.is_denied("127.0.0.2")
    assert guard.is_denied("::ffff:127.0.0.2")
    assert guard.is_denied("64:ff9b::7f00:2")
    assert guard.is_denied("::127.0.0.2")
    assert guard.is_denied("2002:7f00:2::")
    assert not guard.is_denied("127.0.0.1")


def test_mapped_entry_in_custom_list_denies_the_ipv4_address() -> None:
    guard = NetGuard(["::ffff:10.0.0.0/104"])
    assert guard.is_denied("10.9.9.9")
    assert guard.is_denied("::ffff:10.9.9.9")
    assert not guard.is_denied("11.0.0.1")


def test_empty_custom_list_denies_nothing() -> None:
    assert not NetGuard([]).is_denied("127.0.0.1")


def test_invalid_entry_is_an_error() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        NetGuard(["not-an-ip"])
    with pytest.raises(ValueError, match="not an IP address"):
        NetGuard(["10.0.0.0/99"])


def test_scoped_ipv6_address() -> None:
    assert NetGuard().is_denied("fe80::1%eth0")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.0000.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("2852039166", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("10.1", "10.0.0.1"),
    ],
)
def test_numeric_ipv4_forms(text: str, expected: str) -> None:
    assert parse_ipv4_number(text) == ipaddress.IPv4Address(expected)
    assert parse_address(text) == ipaddress.IPv4Address(expected)
    assert NetGuard().is_denied(text)


@pytest.mark.parametrize("text", ["example.com", "1.2.3.4.5", "4294967296", "256.1.1.1", "08.1", "1..2", ""])
def test_not_numeric_ipv4(text: str) -> None:
    assert parse_ipv4_number(text) is None


def test_parse_address_literals() -> None:
    assert parse_address("[::1]") == ipaddress.IPv6Address("::1")
    assert parse_address("::ffff:127.0.0.1") == ipaddress.IPv6Address("::ffff:7f00:1")
    assert parse_address("localhost") is None


class _RecordingBackend(httpcore.NetworkBackend):
    """Stands in for the socket layer: records where the guard asked it to connect."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: object = None,
    ) -> httpcore.NetworkStream:
        self.connected.append((host, port))
        return httpcore.MockStream([])


def test_backend_refuses_literal_and_resolved_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = _RecordingBackend()
    backend = GuardedBackend(NetGuard(), inner)
    for host in ("127.0.0.1", "2130706433", "::ffff:127.0.0.1", "169.254.169.254"):
        with pytest.raises(AddressDenied):
            backend.connect_tcp(host, 80)
    monkeypatch.setattr(netguard, "resolve", lambda host, port, timeout: ["93.184.216.34", "10.0.0.5"])
    with pytest.raises(AddressDenied, match="resolves to a denied address"):
        backend.connect_tcp("mixed.test", 80)
    assert inner.connected == []


def test_backend_connects_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = _RecordingBackend()
    backend = GuardedBackend(NetGuard(), inner)
    monkeypatch.setattr(netguard, "resolve", lambda host, port, timeout: ["93.184.216.34"])
    backend.connect_tcp("public.test", 443)
    assert inner.connected == [("93.184.216.34", 443)]


def test_backend_connects_numeric_host_as_the_address_it_denotes() -> None:
    inner = _RecordingBackend()
    backend = GuardedBackend(NetGuard(["192.0.2.0/24"]), inner)
    backend.connect_tcp("0x5db8d822", 80)
    assert inner.connected == [("93.184.216.34", 80)]


def test_backend_refuses_unix_sockets() -> None:
    with pytest.raises(AddressDenied):
        GuardedBackend(NetGuard()).connect_unix_socket("/var/run/docker.sock")


def test_resolve_localhost() -> None:
    addresses = netguard.resolve("localhost", 80, 5)
    assert addresses
    assert all(NetGuard().is_denied(a) for a in addresses)
