"""What the Input tests share: a real uvicorn server, raw HTTP over a socket, the
extensions they attack through, and deep JSON."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import wasmtime

from host.app import create_app
from host.config import Settings
from tests.support import ADMIN, write_extension

ENDPOINT = """
export default (router) => {
  router.post('/echo', (req) => ({ status: 200, body: { size: JSON.stringify(req.body).length } }));
  router.get('/nest/:depth', (req) => {
    let body = 0;
    for (let i = 0; i < Number(req.params.depth); i++) body = [body];
    return { status: 200, body };
  });
};
"""

HOOK = """
export default ({ filter }) => {
  filter('deep.items.create', (payload) => {
    let value = 'x';
    for (let i = 0; i < payload.depth; i++) value = { v: value };
    return { ...payload, nested: value };
  });
};
"""

OPERATION = """
export default {
  id: 'nest-op',
  handler: ({ depth }) => {
    let value = 0;
    for (let i = 0; i < Number(depth); i++) value = [value];
    return value;
  },
};
"""


def write_input_extensions(root: Path) -> None:
    """`probe` (endpoint), `deep-hook` (filter on deep.items.create), `nest-op` (operation)."""
    write_extension(root, "probe", "endpoint", ENDPOINT)
    write_extension(root, "deep-hook", "hook", HOOK)
    write_extension(root, "nest-op", "operation", OPERATION)


def nested(depth: int, leaf: Any = 0) -> Any:
    """`leaf` inside `depth` arrays (built without recursion)."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def nested_text(depth: int, open_: str = "[", close: str = "]", leaf: str = "0") -> str:
    return open_ * depth + leaf + close * depth


def deep_object_text(depth: int) -> str:
    """`{"a":{"a":...{"a":1}...}}`: an object `depth` levels deep."""
    return '{"a":' * (depth - 1) + '{"a":1}' + "}" * (depth - 1)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    error = body["errors"][0]
    return response.status_code, error["extensions"]["code"], error["message"]


# --------------------------------------------------------------------------- flows


def webhook_flow(client: httpx.Client | Any, name: str = "hook") -> str:
    """An active POST webhook flow that logs everything and answers `$all`; returns its id."""
    created = client.post(
        "/flows",
        json={"name": name, "trigger": "webhook", "status": "active", "accountability": "all",
              "options": {"method": "POST", "return": "$all"}},
        headers=ADMIN,
    )
    assert created.status_code == 200, created.text
    flow_id: str = created.json()["data"]["id"]
    operation = client.post(
        "/operations",
        json={"key": "echo", "type": "transform", "flow": flow_id, "options": {"json": {"got": "{{ $trigger.body }}"}}},
        headers=ADMIN,
    )
    assert operation.status_code == 200, operation.text
    linked = client.patch(f"/flows/{flow_id}", json={"operation": operation.json()["data"]["id"]}, headers=ADMIN)
    assert linked.status_code == 200, linked.text
    return flow_id


def operation_flow(client: httpx.Client | Any, depth: int) -> str:
    """A POST webhook flow whose one step is the `nest-op` extension operation."""
    created = client.post(
        "/flows",
        json={"name": f"nest-{depth}", "trigger": "webhook", "status": "active", "accountability": "all",
              "options": {"method": "POST"}},
        headers=ADMIN,
    )
    flow_id: str = created.json()["data"]["id"]
    operation = client.post(
        "/operations", json={"key": "nest", "type": "nest-op", "flow": flow_id, "options": {"depth": depth}},
        headers=ADMIN,
    )
    assert operation.status_code == 200, operation.text
    client.patch(f"/flows/{flow_id}", json={"operation": operation.json()["data"]["id"]}, headers=ADMIN)
    return flow_id


def runs_of(client: httpx.Client | Any, flow_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/flows/{flow_id}/runs", headers=ADMIN)
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()["data"]
    return runs


# --------------------------------------------------------------------------- a real server


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The host under a real uvicorn server (in a thread); yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the host did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)
        sock.close()


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def read_response(conn: socket.socket) -> RawResponse:
    """One HTTP/1.1 response from `conn` (Content-Length framed, or up to the close)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawResponse(status, headers, body[:length] if length >= 0 else body)


def connect(base: str) -> socket.socket:
    url = httpx.URL(base)
    conn = socket.create_connection((url.host, url.port or 80), timeout=30)
    return conn


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


# --------------------------------------------------------------------------- a hand-written Extism module


EMIT_WAT = """
  (func $emit (param $ptr i32) (param $len i32)
    (local $out i64) (local $i i32)
    (local.set $out (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $store_u8 (i64.add (local.get $out) (i64.extend_i32_u (local.get $i)))
                        (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (call $output_set (local.get $out) (i64.extend_i32_u (local.get $len))))
"""
"""WAT of `(call $emit (i32.const PTR) (i32.const LEN))`: the LEN bytes at PTR of the module's memory
become the call's output (it needs the imports `$alloc`, `$store_u8` and `$output_set`)."""


def wat_string(data: bytes) -> str:
    """`data` as the inside of a WAT string literal (a data segment), byte for byte."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\{b:02x}" for b in data)


def raw_output_module(outputs: list[str], registration: dict[str, Any]) -> bytes:
    """A core module for the exthost Extism ABI, written by hand: `register` answers
    `registration`, and handler `n` answers the call state `outputs[n]`, byte for byte
    (whatever text that is: the host gets exactly what an adversary would send)."""
    blobs = [json.dumps(registration).encode(), *(text.encode("utf-8", "surrogatepass") for text in outputs)]
    offsets, data, at = [], [], 1024
    for blob in blobs:
        offsets.append((at, len(blob)))
        data.append(f'(data (i32.const {at}) "{wat_string(blob)}")')
        at += len(blob) + 16
    pages = at // 65536 + 1
    branches = "\n".join(
        f"(if (i32.eq (local.get $n) (i32.const {index})) (then (call $emit (i32.const {offset}) (i32.const {length}))))"
        for index, (offset, length) in enumerate(offsets[1:])
    )
    wat = f"""
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (memory {pages})
  {" ".join(data)}
  {EMIT_WAT}
  (func (export "register") (result i32)
    (call $emit (i32.const {offsets[0][0]}) (i32.const {offsets[0][1]}))
    (i32.const 0))
  ;; the input is {{"handler":N,...}}: N is the byte at offset 11
  (func (export "invoke") (result i32) (local $n i32)
    (local.set $n (i32.sub (call $input_load_u8 (i64.const 11)) (i32.const 48)))
    {branches}
    (i32.const 0)))
"""
    return bytes(wasmtime.wat2wasm(wat))
