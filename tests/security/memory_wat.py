"""Hand-written guests (WAT) that try to allocate past the memory limit: components for the
`sdk/wit` world and Extism core modules, assembled by `wasmtime.wat2wasm`.

Every handler answers an endpoint response `{"status": 200, "body": N}` (N a number the
handler computed), so a test reads what the guest obtained, not only that it failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import wasmtime

PAGE = 64 * 1024
GUEST_INTERFACE = "exthost:extension/guest@0.1.0"

# Main's scratch layout: the call state at 16, the response text ends at 512, its prefix at 600,
# the registration at 1024, the bump heap from 8192.
_ITOA = r"""
  (func $itoa (param $n i64) (param $end i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $end))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $n) (i64.const 0))))
    (local.get $p))
  (data (i32.const 600) "{\"status\":200,\"body\":")
  ;; the response text {"status":200,"body":N} ending at 512; returns where it starts
  (func $response (param $n i64) (result i32)
    (local $start i32)
    (i32.store8 (i32.const 511) (i32.const 125))
    (local.set $start (i32.sub (call $itoa (local.get $n) (i32.const 511)) (i32.const 21)))
    (memory.copy (local.get $start) (i32.const 600) (i32.const 21))
    (local.get $start))
"""


def _bytes(text: str) -> str:
    return "".join(f"\\{b:02x}" for b in text.encode())


def touch(memory: str, page: str) -> str:
    """WAT writing a byte every 4 KiB of page number `page` (an i32 expression) of `memory`, so that
    the page really takes host memory."""
    stores = "".join(
        f"(i32.store8 {memory} offset={offset} (i32.mul ({page}) (i32.const {PAGE})) (i32.const 1))"
        for offset in range(0, PAGE, 4096)
    )
    return stores


def grow_until_full(memory: str) -> str:
    """WAT adding to `$n` the pages of memory `memory` after growing it a page at a time (each page
    written) until refused."""
    return f"""
      (block $full (loop $more
        (local.set $r (memory.grow {memory} (i32.const 1)))
        (br_if $full (i32.eq (local.get $r) (i32.const -1)))
        {touch(memory, "local.get $r")}
        (br $more)))
      (local.set $n (i64.add (local.get $n) (i64.extend_i32_u (memory.size {memory}))))"""


def grow_extra_until_full(index: int) -> str:
    """The same for the memory of the `index`-th extra instance (through its exports)."""
    return f"""
      (block $full (loop $more
        (br_if $full (i32.eq (call $grow{index} (i32.const 1)) (i32.const -1)))
        (br $more)))
      (local.set $n (i64.add (local.get $n) (i64.extend_i32_u (call $size{index}))))"""


EXTRA_MODULE = f"""
  (core module $Extra
    (memory 1)
    ;; memory.grow, each new page written
    (func (export "grow") (param $delta i32) (result i32)
      (local $old i32) (local $page i32)
      (local.set $old (memory.grow (local.get $delta)))
      (if (i32.ne (local.get $old) (i32.const -1))
        (then
          (local.set $page (local.get $old))
          (block $done (loop $each
            (br_if $done (i32.ge_u (local.get $page) (i32.add (local.get $old) (local.get $delta))))
            {touch("0", "local.get $page")}
            (local.set $page (i32.add (local.get $page) (i32.const 1)))
            (br $each)))))
      (local.get $old))
    (func (export "size") (result i32) (memory.size)))"""
@dataclass
class Component:
    """A component for the exthost world whose core module `$Main` serves `routes` (path -> WAT body
    computing `$n`, an i64 the endpoint answers)."""

    name: str
    routes: dict[str, str]
    main_memories: int = 1
    main_tables: str = "(table $t 1 funcref)"
    main_fields: str = ""
    main_imports: str = ""
    extras: int = 0
    """Instances of `$Extra` (one memory each) `$Main` can grow through imports."""
    register_body: str = ""
    """WAT run by `register` before it answers (it may set `$n`, which is dropped)."""
    definitions: str = ""
    """More component-level definitions, placed before `$Main` is instantiated."""
    main_args: list[str] = field(default_factory=list)

    def wat(self) -> str:
        registration = json.dumps(
            {
                "kind": "endpoint",
                "name": self.name,
                "routes": [{"method": "GET", "path": path, "handler": i} for i, path in enumerate(self.routes)],
            }
        )
        imports = "\n".join(
            f'(import "x{i}" "grow" (func $grow{i} (param i32) (result i32)))\n'
            f'(import "x{i}" "size" (func $size{i} (result i32)))'
            for i in range(self.extras)
        )
        export = '(export "memory")'
        memories = "\n".join(f"(memory $m{k} {export if k == 0 else ''} 1)" for k in range(self.main_memories))
        handlers = "\n".join(
            f"(func $handler{i} (result i32) (local $n i64) (local $r i32) {body}\n"
            f"  (call $done (call $response (local.get $n))))"
            for i, body in enumerate(self.routes.values())
        )
        dispatch = "\n".join(
            f"(if (i32.eq (local.get $h) (i32.const {i})) (then (return (call $handler{i}))))"
            for i in range(len(self.routes))
        )
        extra_instances = "\n".join(f"(core instance $x{i} (instantiate $Extra))" for i in range(self.extras))
        args = " ".join([f'(with "x{i}" (instance $x{i}))' for i in range(self.extras)] + self.main_args)
        return f"""
(component
  {EXTRA_MODULE if self.extras else ""}
  (core module $Main
    {self.main_imports}
    {imports}
    {memories}
    {self.main_tables}
    {self.main_fields}
    (global $heap (mut i32) (i32.const 8192))
    (data (i32.const 1024) "{_bytes(registration)}")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    {_ITOA}
    (func $done (param $start i32) (result i32)
      (i32.store8 (i32.const 16) (i32.const 0))
      (i32.store (i32.const 20) (local.get $start))
      (i32.store (i32.const 24) (i32.sub (i32.const 512) (local.get $start)))
      (i32.const 16))
    {handlers}
    (func (export "register") (param i32 i32 i32 i32) (result i32)
      (local $n i64) (local $r i32)
      {self.register_body}
      (i32.store8 (i32.const 16) (i32.const 0))
      (i32.store (i32.const 20) (i32.const 1024))
      (i32.store (i32.const 24) (i32.const {len(registration.encode())}))
      (i32.const 16))
    (func (export "invoke") (param $h i32) (param i32 i32) (result i32)
      (global.set $heap (i32.const 8192))
      {dispatch}
      unreachable)
    (func (export "poll") (param i32) (result i32) unreachable))
  {extra_instances}
  {self.definitions}
  (core instance $main (instantiate $Main {args}))
  (type $state-def (variant (case "done" string) (case "failed" string) (case "pending" u32)))
  (export $state "call-state" (type $state-def))
  (type $reg (result string (error string)))
  (func $register (param "source" string) (param "context" string) (result $reg)
    (canon lift (core func $main "register") (memory (core memory $main "memory"))
      (realloc (core func $main "realloc"))))
  (func $invoke (param "handler" u32) (param "args" string) (result $state)
    (canon lift (core func $main "invoke") (memory (core memory $main "memory"))
      (realloc (core func $main "realloc"))))
  (func $poll (param "ticket" u32) (result $state)
    (canon lift (core func $main "poll") (memory (core memory $main "memory"))
      (realloc (core func $main "realloc"))))
  (instance $guest
    (export "call-state" (type $state))
    (export "register" (func $register))
    (export "invoke" (func $invoke))
    (export "poll" (func $poll)))
  (export "{GUEST_INTERFACE}" (instance $guest)))
"""

    def wasm(self) -> bytes:
        return bytes(wasmtime.wat2wasm(self.wat()))


@dataclass
class ExtismModule:
    """An Extism plugin speaking the exthost ABI whose handler `i` runs `routes[i]` (WAT computing
    `$n`) and answers `{"done": {"status": 200, "body": N}}`."""

    routes: dict[str, str]
    memories: str = "(memory $m0 1)"
    fields: str = ""
    imports: str = ""

    def wat(self) -> str:
        registration = json.dumps(
            {"routes": [{"method": "GET", "path": path, "handler": i} for i, path in enumerate(self.routes)]}
        )
        handlers = "\n".join(
            f"(func $handler{i} (local $n i64) (local $r i32) {body}\n"
            f"  (call $reply (i32.const 8) (call $number (local.get $n))))"
            for i, body in enumerate(self.routes.values())
        )
        dispatch = "\n".join(
            f"(if (i32.eq (local.get $h) (i32.const {i})) (then (call $handler{i}) (return (i32.const 0))))"
            for i in range(len(self.routes))
        )
        return f"""
(module
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  {self.imports}
  {self.memories}
  {self.fields}
  {_ITOA}
  (data (i32.const 1024) "{_bytes(registration)}")
  (data (i32.const 700) "{{\\"done\\":")
  ;; the text [$start, $end) of memory $m0 becomes the plugin's output
  (func $output (param $start i32) (param $end i32)
    (local $block i64) (local $i i32)
    (local.set $block (call $alloc (i64.extend_i32_u (i32.sub (local.get $end) (local.get $start)))))
    (local.set $i (local.get $start))
    (block $copied (loop $copy
      (br_if $copied (i32.ge_u (local.get $i) (local.get $end)))
      (call $store_u8 (i64.add (local.get $block) (i64.extend_i32_u (i32.sub (local.get $i) (local.get $start))))
        (i32.load8_u $m0 (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (call $output_set (local.get $block) (i64.extend_i32_u (i32.sub (local.get $end) (local.get $start)))))
  ;; {{"done": <response>}}: the response ends at 512, followed by the closing brace
  (func $reply (param $unused i32) (param $start i32)
    (i32.store8 $m0 (i32.const 512) (i32.const 125))
    (memory.copy $m0 $m0 (i32.sub (local.get $start) (i32.const 8)) (i32.const 700) (i32.const 8))
    (call $output (i32.sub (local.get $start) (i32.const 8)) (i32.const 513)))
  (func $number (param $n i64) (result i32) (call $response (local.get $n)))
  {handlers}
  (func (export "register") (result i32)
    (call $output (i32.const 1024) (i32.const {1024 + len(registration.encode())}))
    (i32.const 0))
  ;; the input is {{"handler":N,...}} with N < 10
  (func (export "invoke") (result i32)
    (local $h i32)
    (local.set $h (i32.sub (call $input_load_u8 (i64.const 11)) (i32.const 48)))
    {dispatch}
    unreachable))
"""

    def wasm(self) -> bytes:
        return bytes(wasmtime.wat2wasm(self.wat()))
