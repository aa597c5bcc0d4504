"""How `exthost serve` runs: uvicorn with the `create_app` factory in one process or in N
worker processes sharing one socket, and one log format for all of them.

Each worker builds its own app, and its own `Settings`, from the same environment; the
migrations at start-up run under a lock (`host.storage.lock`), so workers and hosts
starting at once on one database are safe.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from host.logformat import level_number, log_config

APP_FACTORY = "host.app:create_app"

def parse_workers(value: str) -> int:
    """`--workers`: a whole number of worker processes, 1 or more."""
    try:
        workers = int(value.strip())
    except ValueError:
        workers = 0
    if workers < 1:
        raise ValueError(f"--workers must be a whole number of worker processes (1 or more), not {value!r}")
    return workers


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The socket the workers share: uvicorn's, marked as TCP.

    `Config.bind_socket()` leaves the socket's `proto` at 0, the accepted connections inherit
    it, and asyncio only turns Nagle's algorithm off (`TCP_NODELAY`) on a socket whose proto
    is `IPPROTO_TCP`: every keep-alive response after the first would then wait ~40 ms for
    the client's delayed ACK (uvicorn issue #3149). The same descriptor, told what it is.
    """
    bound = config.bind_socket()
    if bound.family not in (socket.AF_INET, socket.AF_INET6):
        return bound
    marked = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    marked.set_inheritable(True)
    return marked


def serve(host: str, port: int, workers: int, log_level: str = "info", log_style: str = "pretty") -> int:
    """Serve until SIGTERM or SIGINT; returns the exit code: 0, or 3 when the app failed to start.
    Logs at `log_level` in `log_style` (`host.logformat`)."""
    logs, level = log_config(log_level, log_style), level_number(log_level)
    if workers == 1:
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, log_config=logs, log_level=level)
        return 0  # uvicorn exits 3 itself when the app failed to start
    config = uvicorn.Config(
        APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_config=logs, log_level=level
    )
    supervisor = Multiprocess(config, sockets=[listening_socket(config)])
    supervisor.run()
    # the supervisor stops every worker when one fails to start, and returns as after SIGTERM
    return STARTUP_FAILURE if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0
