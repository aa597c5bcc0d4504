"""Flow benchmarks: run time of a five-operation flow of built-ins and of one with a
sandboxed (JS) custom operation, in process; webhook flow requests/s through real HTTP.

- run time: the flows are built through the REST API of an in-process host, then
  run `RUNS` times back to back by the flow manager (no HTTP), with no run log
  (`accountability: null`) and with the full run log (`all`, stored in batches by its writer);
- webhook: the host runs in its own uvicorn process; a GET webhook flow of two built-ins,
  without a run log and with the full one, is loaded by wrk (bench/common.py `load_stats`:
  keep-alive, closed loop) for `SECONDS` at `CONCURRENCY`, and the ratio of the two reported;
- Run Script: what a fresh instance per run costs (no state survives a run): one script
  called in process in a single-use sandbox, back to back and with `SCRIPT_GAP_MS`
  between runs (the next instance is made in the background meanwhile), against the
  same script in a reused instance (the unsafe baseline), measured in the same run.

`run()` returns `(label, value)` rows; `python -m bench flows` prints them.
"""

from __future__ import annotations

import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import Row, call_latencies_us, load, percentile, server
from host.capabilities import build_capabilities
from host.extensions.manifest import Scopes
from host.flows.operations.exec import WRAPPER, script_settings
from host.paths import PROJECT_ROOT, SDK_PATH
from host.runtime import Runtime
from host.types import ExtensionKind
from tests.support import ADMIN, make_settings, running_host, write_extension

RUNS = 400
WARMUP = 40
SECONDS = 4
CONCURRENCY = 16
TOKEN = "bench-admin-token"
SCRIPT_RUNS = 200
SCRIPT_GAP_MS = 20
SCRIPT = "module.exports = function (data) { return { n: data.$trigger.n + 1 }; };"

CUSTOM = "export default { id: 'bench-op', handler: (options, { data }) => ({ n: options.n + 1 }) };"

BUILTINS = [
    {"key": "input", "type": "transform", "options": {"json": {"n": "{{ $trigger.n }}", "who": "bench"}}},
    {"key": "check", "type": "condition", "options": {"filter": {"input": {"n": {"_gte": 0}}}}},
    {"key": "note", "type": "log", "options": {"message": "n is {{ input.n }}"}},
    {"key": "pause", "type": "sleep", "options": {"milliseconds": 0}},
    {"key": "out", "type": "transform", "options": {"json": {"result": "{{ input.n }} by {{ input.who }}"}}},
]
WITH_CUSTOM = [*BUILTINS[:3], {"key": "custom", "type": "bench-op", "options": {"n": "{{ input.n }}"}}, BUILTINS[4]]


def _build(client: Any, name: str, ops: list[dict[str, Any]], **flow: Any) -> str:
    def post(path: str, body: Any) -> Any:
        response = client.post(path, json=body, headers=ADMIN)
        response.raise_for_status()
        return response.json()["data"]

    flow_id = post("/flows", {"name": name, "trigger": "operation", **flow})["id"]
    ids = [post("/operations", {**op, "flow": flow_id})["id"] for op in ops]
    for here, there in itertools.pairwise(ids):
        client.patch(f"/operations/{here}", json={"resolve": there}, headers=ADMIN).raise_for_status()
    client.patch(f"/flows/{flow_id}", json={"operation": ids[0]}, headers=ADMIN).raise_for_status()
    return str(flow_id)


def _run_times(manager: Any, flow_id: str) -> Callable[[], Awaitable[list[float]]]:
    async def measure() -> list[float]:
        tree = manager.lookup(flow_id)
        samples = []
        for index in range(WARMUP + RUNS):
            started = time.perf_counter()
            result = await manager.run(tree, {"n": index}, None)
            samples.append(time.perf_counter() - started)
            assert result.status == "resolve", result.last
        return samples[WARMUP:]

    return measure


def _in_process() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "extensions").mkdir()
        write_extension(root / "extensions", "bench-op", "operation", CUSTOM)
        with running_host(make_settings(root)) as client:
            manager = client.app.state.flows  # type: ignore[attr-defined]
            assert client.portal is not None
            cases = [
                ("five built-ins", BUILTINS, None),
                ("five built-ins, full run log", BUILTINS, "all"),
                ("four built-ins + sandboxed JS operation", WITH_CUSTOM, None),
            ]
            for label, ops, level in cases:
                flow_id = _build(client, label, ops, accountability=level)
                samples = client.portal.call(_run_times(manager, flow_id))
                p50 = statistics.median(samples) * 1e6
                p99 = sorted(samples)[int(0.99 * len(samples))] * 1e6
                rows.append((f"flow run, {label} (p50)", f"{p50:.0f} us"))
                rows.append((f"flow run, {label} (p99)", f"{p99:.0f} us"))
    return rows


def _webhook() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "DATA_PATH": str(Path(tmp) / "data"),
            "EXTENSIONS_PATH": str(Path(tmp) / "extensions"),
            "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache"),
            "ADMIN_TOKEN": TOKEN,
            "DB_URL": "",
        }
        rps: dict[str, float] = {}
        with server("host.app:create_app", env) as base, httpx.Client(base_url=base) as client:
            client.headers["Authorization"] = f"Bearer {TOKEN}"
            for label, level in (("no run log", None), ("full run log", "all")):
                flow = {"name": f"webhook {label}", "trigger": "webhook", "accountability": level,
                        "options": {"method": "GET", "cache": False}}
                flow_id = client.post("/flows", json=flow).json()["data"]["id"]
                ops = [client.post("/operations", json={**op, "flow": flow_id}).json()["data"]["id"]
                       for op in (BUILTINS[0], BUILTINS[4])]
                client.patch(f"/operations/{ops[0]}", json={"resolve": ops[1]}).raise_for_status()
                client.patch(f"/flows/{flow_id}", json={"operation": ops[0]}).raise_for_status()
                url = f"{base}/flows/trigger/{flow_id}?n=1"
                assert httpx.get(url).status_code == 200
                rps[label] = load(url, SECONDS, CONCURRENCY)
                rows.append((f"webhook flow, 2 operations, {label}", f"{rps[label]:.0f} req/s"))
    rows.append(("webhook flow, full run log / no run log", f"{rps['full run log'] / rps['no run log']:.2f}x"))
    return rows


def _run_script() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = script_settings(make_settings(Path(tmp)))
        runtime = Runtime(settings, SDK_PATH)
        path = Path(tmp) / "script.js"
        path.write_text(WRAPPER % SCRIPT, encoding="utf-8")
        capabilities = build_capabilities("bench-script", Scopes(), settings)
        args = json.dumps([{}, {"data": {"$trigger": {"n": 1}}}])
        p50: dict[str, float] = {}
        for label, single_use, gap in (
            ("reused instance (unsafe baseline)", False, 0),
            ("fresh instance, back to back", True, 0),
            (f"fresh instance, runs {SCRIPT_GAP_MS} ms apart", True, SCRIPT_GAP_MS),
        ):
            sandbox = runtime.open("bench-script", ExtensionKind.operation, path, capabilities, single_use=single_use)
            binding = sandbox.registration.operation
            assert binding is not None
            if gap:
                samples = []
                for _ in range(SCRIPT_RUNS):
                    time.sleep(gap / 1000)
                    samples += call_latencies_us(sandbox, binding.handler, args, 1, 0)
            else:
                samples = call_latencies_us(sandbox, binding.handler, args, SCRIPT_RUNS, WARMUP)
            sandbox.close()
            p50[label] = statistics.median(samples)
            rows.append((f"Run Script call, {label} (p50)", f"{p50[label]:.0f} us"))
            rows.append((f"Run Script call, {label} (p99)", f"{percentile(samples, 0.99):.0f} us"))
        base = p50["reused instance (unsafe baseline)"]
        for label, value in p50.items():
            if label != "reused instance (unsafe baseline)":
                rows.append((f"Run Script call, {label} / reused (p50)", f"{value / base:.1f}x"))
        runtime.close()
    return rows


def run() -> list[Row]:
    return _in_process() + _run_script() + _webhook()


if __name__ == "__main__":
    for label, value in run():
        print(f"{label:<55} {value:>12}")
