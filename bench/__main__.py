"""`python -m bench`: every benchmark in one run, one table."""

from __future__ import annotations

import importlib
import logging
import sys

from bench.common import Row

SECTIONS = [
    ("Endpoints and the JS runtime", "bench.endpoint"),
    ("Waiting without threads", "bench.waiting"),
    ("Items and hooks", "bench.items"),
    ("Queries in the database", "bench.query"),
    ("Flows", "bench.flows"),
    ("Durable queue (PostgreSQL)", "bench.queue"),
    ("Runtimes", "bench.runtimes"),
    ("Security: oversized bodies", "bench.security_payload"),
    ("Security: memory bound", "bench.security_memory"),
    ("Security: starvation", "bench.security_starvation"),
    ("Cluster: workers", "bench.workers"),
]


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    only = sys.argv[1:]
    for title, module_name in SECTIONS:
        if only and not any(name in module_name for name in only):
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        rows: list[Row] = module.run()
        width = max(len(label) for label, _ in rows)
        print(f"\n## {title}\n")
        for label, value in rows:
            print(f"  {label:<{width}}  {value:>12}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
