"""The only package that imports wasmtime or extism.

`Runtime.open()` turns an extension artifact into a `host.sandbox.Sandbox`:
`.js` source runs in the prebuilt JS runtime component, `.py` source in the
prebuilt Python runtime component, and a `.wasm` file is told apart by its
header: a component for the `sdk/wit` world, or an Extism core module.
"""

from host.runtime.loader import Runtime, RuntimeKind, detect_runtime

__all__ = ["Runtime", "RuntimeKind", "detect_runtime"]
