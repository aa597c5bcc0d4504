"""A guest error's stack, in the author's files and lines.

The JS runtime names the extension's frames after its artifact (`handler@index.js:15:7`);
its evaluation wrapper puts the artifact's first line on line `JS_LINE_OFFSET + 1`, and
keeps every other line where it was. `stack_mapper` gives the artifact's own lines back,
drops the runtime's frames, and when the artifact has a source map beside it
(`index.js.map`: `exthost build` writes one for JS and TS sources) maps each frame to the
original file, line and column (`handler@../src/index.ts:9:5`). Python tracebacks come
from the runtime with the extension's frames only, naming its file, which is shown as the
manifest's `source` (`src/index.py`: the artifact is a copy of it, line for line).
"""

from __future__ import annotations

import json
import posixpath
import re
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path

_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_MAX_MAP_BYTES = 8 * 1024 * 1024
JS_LINE_OFFSET = 3
"""Lines the JS runtime's evaluation adds before the artifact's first: `"use strict";` and the
two lines of the `Function` header (sdk/js/src/runtime.js, esm.js)."""

StackMapper = Callable[[str], str]


def _vlq(segment: str) -> list[int]:
    values, value, shift = [], 0, 0
    for char in segment:
        digit = _B64[char]
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(value >> 1) if value & 1 else value >> 1)
        value, shift = 0, 0
    return values


class SourceMap:
    """A version 3 source map: generated (line, column) -> (source, line, column), all 0-based."""

    def __init__(self, data: dict[str, object]) -> None:
        sources = data.get("sources")
        self.sources = [str(s) for s in sources] if isinstance(sources, list) else []
        root = data.get("sourceRoot")
        if isinstance(root, str) and root:
            self.sources = [f"{root.rstrip('/')}/{s}" for s in self.sources]
        self.lines: list[list[tuple[int, int, int, int]]] = []
        mappings = data.get("mappings")
        source = line = column = 0
        for text in (mappings if isinstance(mappings, str) else "").split(";"):
            generated, row = 0, []
            for segment in text.split(","):
                if not segment:
                    continue
                fields = _vlq(segment)
                generated += fields[0]
                if len(fields) >= 4:
                    source, line, column = source + fields[1], line + fields[2], column + fields[3]
                    row.append((generated, source, line, column))
            self.lines.append(row)

    def original(self, line: int, column: int) -> tuple[str, int, int] | None:
        if not 0 <= line < len(self.lines) or not self.lines[line]:
            return None
        row = self.lines[line]
        index = bisect_right([entry[0] for entry in row], column) - 1
        _, source, original_line, original_column = row[max(index, 0)]
        if not 0 <= source < len(self.sources):
            return None
        return self.sources[source], original_line, original_column


def source_map_of(artifact: Path) -> SourceMap | None:
    path = artifact.with_name(artifact.name + ".map")
    try:
        if not path.is_file() or path.stat().st_size > _MAX_MAP_BYTES:
            return None
        return SourceMap(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError):
        return None


def stack_mapper(artifact: Path, source: str | None = None) -> StackMapper | None:
    """Maps a JS stack to the frames of `artifact`, in the author's source when a map says where;
    a Python traceback's artifact file to its `source` (a copy: the lines are the author's)."""
    if artifact.suffix == ".py":
        return _python_mapper(artifact, source) if source and source.endswith(".py") else None
    if artifact.suffix not in (".js", ".mjs"):
        return None
    source_map = source_map_of(artifact)
    frame = re.compile(rf"@{re.escape(artifact.name)}:(\d+):(\d+)$")

    def place(line: int, column: int) -> str:
        found = source_map.original(line - 1, column - 1) if source_map is not None else None
        if found is None:
            return f"{artifact.name}:{line}:{column}"
        source = posixpath.normpath(f"{artifact.parent.name}/{found[0]}")  # the map's paths are from dist/
        return f"{source}:{found[1] + 1}:{found[2] + 1}"

    def mapped(stack: str) -> str:
        frames = []
        for text in stack.splitlines():
            match = frame.search(text)
            if match is not None:
                line = max(1, int(match.group(1)) - JS_LINE_OFFSET)
                frames.append(f"{text[: match.start()]}@{place(line, int(match.group(2)))}")
        return "\n".join(frames) if frames else stack

    return mapped


def _python_mapper(artifact: Path, source: str) -> StackMapper:
    named = re.compile(rf'File "{re.escape(artifact.name)}"')
    shown = posixpath.normpath(source)
    return lambda stack: named.sub(lambda _match: f'File "{shown}"', stack)
