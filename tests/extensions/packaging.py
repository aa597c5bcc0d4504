"""Test packages: npm-style tarballs (everything under `package/`), hostile ones, and a small
npm registry served over HTTP (the `NPM_REGISTRY` seam) holding real tarballs."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support import write_extension

ENDPOINT = "export default (router) => router.get('/', () => ({ status: 200, body: '%s' }));"


def pack(folder: Path) -> bytes:
    """`folder` as `npm pack` lays it out: a gzipped tar with every file under `package/`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=f"package/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def hostile(entries: list[tarfile.TarInfo], contents: dict[str, bytes] | None = None) -> bytes:
    """A tarball holding `entries` exactly as given (paths, links, devices)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info in entries:
            data = (contents or {}).get(info.name)
            if data is not None:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def file_entry(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def package_source(root: Path, name: str, version: str, body: str, scopes: dict[str, Any] | None = None) -> Path:
    """An endpoint package `name@version` answering `body` at `/<name>` (`/<last part>` when scoped)."""
    source = ENDPOINT % body
    if name.startswith("@"):
        source = f"export default {{ id: '{name.split('/')[-1]}', handler: (router) => router.get('/', () => " \
                 f"({{ status: 200, body: '{body}' }})) }};"
    folder = write_extension(root / f"{name}-{version}".replace("/", "-"), name, "endpoint", source, scopes=scopes)
    manifest = json.loads((folder / "package.json").read_text())
    manifest["version"] = version
    (folder / "package.json").write_text(json.dumps(manifest))
    return folder


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class Registry:
    """Package documents and tarballs, as the npm registry's JSON API serves them."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.tarballs: dict[str, bytes] = {}
        self.url = ""

    def publish(self, name: str, version: str, tarball: bytes, *, served: bytes | None = None,
                tag: bool = True) -> None:
        """`served`: what the tarball URL actually returns (a tampered copy) instead of `tarball`."""
        path = f"/{name}/-/{name.split('/')[-1]}-{version}.tgz"
        self.tarballs[path] = tarball if served is None else served
        document = self.documents.setdefault(name, {"name": name, "versions": {}, "dist-tags": {}})
        document["versions"][version] = {
            "name": name, "version": version,
            "dist": {"tarball": self.url + path, "integrity": integrity(tarball),
                     "shasum": hashlib.sha1(tarball).hexdigest()},
        }
        if tag:
            document["dist-tags"]["latest"] = version


@contextmanager
def serve_registry() -> Iterator[Registry]:
    registry = Registry()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.replace("%2F", "/").replace("%2f", "/")
            if path in registry.tarballs:
                body, kind = registry.tarballs[path], "application/octet-stream"
            elif path.lstrip("/") in registry.documents:
                body, kind = json.dumps(registry.documents[path.lstrip("/")]).encode(), "application/json"
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
