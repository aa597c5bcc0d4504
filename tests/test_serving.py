"""`host.serving`: the socket `exthost serve --workers N` shares, and the log configuration."""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn

from host.logformat import PRETTY_FORMAT, log_config
from host.serving import listening_socket


def test_the_workers_socket_gives_its_connections_tcp_nodelay() -> None:
    """Without TCP_NODELAY on the accepted connections, every keep-alive response after the
    first waits for the client's delayed ACK (~40 ms on Linux; uvicorn issue #3149)."""
    sock = listening_socket(uvicorn.Config("host.app:create_app", host="127.0.0.1", port=0))
    assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()
    port = sock.getsockname()[1]

    async def accepted_nodelay() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            result = await asyncio.wait_for(accepted, 30)
            writer.close()
            return result

    assert asyncio.run(accepted_nodelay()) != 0


def test_every_line_carries_the_pid() -> None:
    config = log_config()
    assert config["formatters"]["exthost"]["format"] == PRETTY_FORMAT and "%(process)d" in PRETTY_FORMAT
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's lines go through the same handler
        assert config["loggers"][name] == {"level": logging.INFO, "handlers": [], "propagate": True}
