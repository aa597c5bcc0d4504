"""Getting an extension package onto disk, safely: from the npm registry, a `.tgz`, or a folder.

- **Registry** (`name`, `name@1.2.3`, `name@^1.2`, `@scope/name@latest`): the package
  document is read from `NPM_REGISTRY` (its JSON API), the version chosen (an exact
  version, a dist-tag, or a range: `^`, `~`, `x`, comparators, `||`), and the tarball
  downloaded and checked against the document's `dist.integrity` (sha512) and
  `dist.shasum` (sha1): a mismatch, or neither being given, refuses the package.
- **Tarball**: a `.tgz` (npm's layout: everything under `package/`). Unpacking refuses an
  absolute path, a `..`, a link (symbolic or hard), a device or FIFO, more than
  `EXTENSIONS_INSTALL_MAX_FILES` files, and more than `EXTENSIONS_INSTALL_MAX_BYTES` in the
  archive or unpacked: no file is ever written outside the target folder.
- **Folder**: copied (without `node_modules` and dot folders); a link inside is refused.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import httpx

from host.config import Settings

Progress = Callable[[str, str], None]
"""`progress(step, message)`: what the installer is doing now."""

_NAME = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


class PackageError(ValueError):
    """A package that cannot be installed; the message says why."""


@dataclass(frozen=True)
class Spec:
    kind: str
    """`registry`, `tarball` or `folder`."""
    name: str = ""
    range: str = "latest"
    path: Path | None = None


def parse_spec(spec: str) -> Spec:
    """What `spec` names: an existing folder or `.tgz`, else a registry package `name[@range]`."""
    text = spec.strip()
    if not text:
        raise PackageError("empty spec: give a package name, a .tgz or a folder")
    path = Path(text).expanduser()
    if path.is_dir():
        return Spec("folder", path=path)
    if text.endswith((".tgz", ".tar.gz")) or path.is_file():
        if not path.is_file():
            raise PackageError(f"no such file: {text}")
        return Spec("tarball", path=path)
    at = text.find("@", 1)
    name, wanted = (text[:at], text[at + 1 :] or "latest") if at > 0 else (text, "latest")
    if not _NAME.match(name) or len(name) > 214:
        raise PackageError(f"{spec!r} is not a folder, a .tgz or an npm package name (name, name@version, "
                           "@scope/name@range)")
    return Spec("registry", name=name, range=wanted)


# --------------------------------------------------------------------------- versions

Version = tuple[int, int, int, tuple[str, ...]]


def parse_version(text: str) -> Version | None:
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    pre = tuple(match.group(4).split(".")) if match.group(4) else ()
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), pre


def _key(version: Version) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in version[3])
    return version[0], version[1], version[2], 0 if version[3] else 1, pre


def _partial(text: str) -> tuple[int | None, int | None, int | None]:
    parts = [p for p in text.lstrip("v=").split(".") if p != ""]
    numbers: list[int | None] = []
    for part in parts[:3]:
        if part in ("x", "X", "*"):
            numbers.append(None)
        elif part.isdigit():
            numbers.append(int(part))
        else:
            raise PackageError(f"cannot read the version range part {text!r}")
    while len(numbers) < 3:
        numbers.append(None)
    return numbers[0], numbers[1], numbers[2]


def _comparator(text: str) -> Callable[[Version], bool]:
    """One npm comparator: `^1.2.3`, `~1.2`, `>=1.0.0`, `<2`, `1.x`, `*`, `1.2.3`."""
    if text in ("", "*", "x", "X", "latest"):
        return lambda v: True
    exact = parse_version(text.lstrip("="))
    if exact is not None and not text.startswith(("^", "~", ">", "<")):
        return lambda v: _key(v) == _key(exact)
    op = next((op for op in (">=", "<=", ">", "<") if text.startswith(op)), None)
    if op is not None:
        b = _key(parse_version(text[len(op):]) or _floor(_partial(text[len(op):])))
        return {">=": lambda v: _key(v) >= b, "<=": lambda v: _key(v) <= b,
                ">": lambda v: _key(v) > b, "<": lambda v: _key(v) < b}[op]
    if text.startswith("^"):
        major, minor, patch = _partial(text[1:])
        low = _floor((major, minor, patch))
        if major is None:
            return lambda v: True
        if major > 0 or minor is None:
            high: Version = (major + 1, 0, 0, ())
        elif minor > 0 or patch is None:
            high = (0, minor + 1, 0, ())
        else:
            high = (0, 0, (patch or 0) + 1, ())
        return lambda v: _key(low) <= _key(v) < _key(high)
    major, minor, patch = _partial(text[1:] if text.startswith("~") else text)
    low = _floor((major, minor, patch))
    if major is None:
        return lambda v: True
    high = (major + 1, 0, 0, ()) if minor is None else (major, minor + 1, 0, ())
    if not text.startswith("~") and minor is not None and patch is not None:
        return lambda v: _key(v) == _key(low)
    return lambda v: _key(low) <= _key(v) < _key(high)


def _floor(parts: tuple[int | None, int | None, int | None]) -> Version:
    return parts[0] or 0, parts[1] or 0, parts[2] or 0, ()


def satisfies(version: str, wanted: str) -> bool:
    """Whether `version` is in the npm range `wanted` (prereleases only when named exactly)."""
    parsed = parse_version(version)
    if parsed is None:
        return False
    for alternative in wanted.split("||"):
        parts = alternative.strip().split()
        if parsed[3] and not any(parse_version(p.lstrip("=")) == parsed for p in parts):
            continue
        if all(_comparator(part)(parsed) for part in parts or ["*"]):
            return True
    return False


def choose_version(document: dict[str, object], wanted: str) -> str:
    """The version of a registry package document that `wanted` (tag, version, range) picks."""
    versions = document.get("versions")
    tags = document.get("dist-tags")
    if not isinstance(versions, dict) or not versions:
        raise PackageError("the registry lists no versions of this package")
    tag = tags.get(wanted) if isinstance(tags, dict) else None
    if isinstance(tag, str):
        return tag
    if wanted in versions:
        return wanted
    matching = [str(v) for v in versions if satisfies(str(v), wanted)]
    if not matching:
        raise PackageError(f"no version matches {wanted!r} (available: {', '.join(list(versions)[-10:])})")
    return max(matching, key=lambda v: _key(parse_version(v) or (0, 0, 0, ())))


# --------------------------------------------------------------------------- registry


def check_integrity(data: bytes, integrity: str | None, shasum: str | None) -> None:
    """Refuse `data` unless it matches the registry's `dist.integrity` (sha512/384/256) and `dist.shasum`."""
    if not integrity and not shasum:
        raise PackageError("the registry gives no integrity hash for this tarball: refused")
    if integrity:
        checked = False
        for entry in integrity.split():
            algorithm, _, expected = entry.partition("-")
            if algorithm not in ("sha512", "sha384", "sha256"):
                continue
            actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
            if actual != expected:
                raise PackageError(f"integrity check failed: the tarball's {algorithm} is {actual}, the registry "
                                   f"says {expected}: refused (tampered or corrupted)")
            checked = True
        if not checked:
            raise PackageError(f"unsupported integrity {integrity!r}: refused")
    if shasum and hashlib.sha1(data).hexdigest() != shasum.lower():  # npm's own checksum
        raise PackageError("shasum check failed: the tarball does not match the registry's sha1: refused")


def _download(client: httpx.Client, url: str, limit: int) -> bytes:
    with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise PackageError(f"GET {url}: HTTP {response.status_code}")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise PackageError(f"{url} is larger than EXTENSIONS_INSTALL_MAX_BYTES ({limit} bytes): refused")
            chunks.append(chunk)
    return b"".join(chunks)


def fetch_from_registry(spec: Spec, settings: Settings, progress: Progress) -> tuple[bytes, str]:
    """The verified tarball of `spec` and the exact `name@version` it is."""
    registry = settings.npm_registry.rstrip("/")
    url = f"{registry}/{quote(spec.name, safe='@')}"
    progress("resolve", f"looking up {spec.name}@{spec.range} at {registry}")
    limit = settings.extensions_install_max_bytes
    try:
        with httpx.Client(timeout=30, follow_redirects=True) as client:
            response = client.get(url, headers={"Accept": "application/json"})
            if response.status_code == 404:
                raise PackageError(f"no package {spec.name!r} on {registry}")
            if response.status_code != 200:
                raise PackageError(f"GET {url}: HTTP {response.status_code}")
            document = response.json()
            if not isinstance(document, dict):
                raise PackageError(f"{url} did not return a package document")
            version = choose_version(document, spec.range)
            meta = document["versions"][version]
            dist = meta.get("dist") if isinstance(meta, dict) else None
            if not isinstance(dist, dict) or not isinstance(dist.get("tarball"), str):
                raise PackageError(f"{spec.name}@{version} has no tarball in the registry")
            progress("download", f"downloading {spec.name}@{version} from {dist['tarball']}")
            data = _download(client, dist["tarball"], limit)
    except httpx.HTTPError as exc:
        raise PackageError(f"cannot reach the npm registry {registry}: {exc}") from None
    except ValueError as exc:
        if isinstance(exc, PackageError):
            raise
        raise PackageError(f"{url} did not return JSON: {exc}") from None
    progress("verify", "checking the tarball against the registry's integrity hash")
    integrity, shasum = dist.get("integrity"), dist.get("shasum")
    check_integrity(
        data, integrity if isinstance(integrity, str) else None, shasum if isinstance(shasum, str) else None
    )
    return data, f"{spec.name}@{version}"


# --------------------------------------------------------------------------- unpacking


def _member_path(member: tarfile.TarInfo) -> PurePosixPath | None:
    """Where `member` goes inside the package (npm's leading `package/` stripped), or raise."""
    name = member.name
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\\" in name:
        raise PackageError(f"the archive holds an absolute or Windows path {name!r}: refused")
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if ".." in parts:
        raise PackageError(f"the archive holds a path leaving the package ({name!r}): refused")
    if member.issym() or member.islnk():
        raise PackageError(f"the archive holds a link ({name!r} -> {member.linkname!r}): refused")
    if not (member.isfile() or member.isdir()):
        raise PackageError(f"the archive holds a device, FIFO or other special file ({name!r}): refused")
    if len(parts) < 2:
        return None  # the top folder itself (or a stray file beside it)
    return PurePosixPath(*parts[1:])


def unpack(data: bytes, target: Path, settings: Settings) -> int:
    """Unpack the npm tarball `data` into the new folder `target`; returns the number of files."""
    limit, max_files = settings.extensions_install_max_bytes, settings.extensions_install_max_files
    if len(data) > limit:
        raise PackageError(f"the archive is larger than EXTENSIONS_INSTALL_MAX_BYTES ({limit} bytes): refused")
    try:
        raw = gzip.GzipFile(fileobj=io.BytesIO(data)).read(limit + 1) if data[:2] == b"\x1f\x8b" else data
    except (OSError, EOFError) as exc:
        raise PackageError(f"not a readable .tgz: {exc}") from None
    if len(raw) > limit:
        raise PackageError(f"the archive unpacks to more than EXTENSIONS_INSTALL_MAX_BYTES ({limit} bytes): refused")
    target.mkdir(parents=True)
    files = written = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            for member in archive:
                relative = _member_path(member)
                if relative is None:
                    continue
                destination = target.joinpath(*relative.parts)
                if not destination.resolve().is_relative_to(target.resolve()):
                    raise PackageError(f"the archive holds a path leaving the package ({member.name!r}): refused")
                if member.isdir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                files += 1
                written += member.size
                if files > max_files:
                    raise PackageError(f"the archive holds more than EXTENSIONS_INSTALL_MAX_FILES ({max_files}) "
                                       "files: refused")
                if written > limit:
                    raise PackageError("the archive unpacks to more than EXTENSIONS_INSTALL_MAX_BYTES: refused")
                source = archive.extractfile(member)
                if source is None:
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with destination.open("xb") as out:
                    shutil.copyfileobj(source, out)
                destination.chmod(0o644)
    except tarfile.TarError as exc:
        raise PackageError(f"not a readable .tgz: {exc}") from None
    except FileExistsError as exc:
        raise PackageError(f"the archive holds {exc.filename!r} twice: refused") from None
    if not files:
        raise PackageError("the archive holds no files")
    return files


def copy_folder(source: Path, target: Path, settings: Settings) -> int:
    """Copy the extension folder `source` into the new folder `target` (no links, no `node_modules`)."""
    limit, max_files = settings.extensions_install_max_bytes, settings.extensions_install_max_files
    files = size = 0
    target.mkdir(parents=True)
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part == "node_modules" or part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink():
            raise PackageError(f"the folder holds a link ({relative}): refused")
        if path.is_dir():
            (target / relative).mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            files += 1
            size += path.stat().st_size
            if files > max_files or size > limit:
                raise PackageError("the folder is larger than EXTENSIONS_INSTALL_MAX_FILES/MAX_BYTES allow: refused")
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / relative)
        else:
            raise PackageError(f"the folder holds a special file ({relative}): refused")
    return files
