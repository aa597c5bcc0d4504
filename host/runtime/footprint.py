"""What one instance of an artifact allocates, read from its binary at load.

A core module creates the linear memories and tables its memory and table
sections define (imported ones are someone else's). A component creates, for
every `instantiate` in its core-instance sections, what that module defines,
and for every `instantiate` of a nested component, what that component
creates; modules and components are followed through the index spaces that
sections, aliases, imports and exports build.

The footprint sets the store limits (`component_budget`, `extism_budget`):
wasmtime enforces the number of memories and tables exactly, so an analysis
that counted too few makes instantiation fail (refused at load), never lets
anything through. Anything this reader does not understand is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PAGE = 64 * 1024
TABLE_ELEMENT_BYTES = 8
"""What wasmtime allocates per table element (a pointer)."""

MAX_TABLE_ELEMENTS = 1 << 17
"""Elements one table may hold (1 MiB of host memory): the JS runtime's tables hold 7691 and 13, the
Python runtime's 5674 growing a little at start-up."""

MAX_INSTANCES = 256
"""Core instances one instance of a component may create (the Python runtime creates about 40)."""

EXTISM_KERNEL_PAGES = 16
"""The initial memory of the Extism kernel (libextism's `extism-runtime.wasm`), allocated before its memory
limiter is installed."""

_WASM_MAGIC = b"\0asm"
_CORE_VERSION = b"\x01\x00\x00\x00"
_COMPONENT_VERSION = b"\x0d\x00\x01\x00"
_MAX_NESTING = 16

# section ids
_CORE_TABLE, _CORE_MEMORY = 4, 5
_CORE_MODULE, _CORE_INSTANCE, _COMPONENT, _INSTANCE, _ALIAS, _IMPORT, _EXPORT = 1, 2, 4, 5, 6, 10, 11
# sorts
_CORE_SORT, _SORT_COMPONENT = 0x00, 0x04
_CORE_SORT_MODULE = 0x11
_SORTS_WITH_CORE_BYTE = {_CORE_SORT}


class ArtifactRefused(ValueError):
    """The artifact cannot run within the limits, or could not be analysed: refused at load."""


class MalformedArtifact(ArtifactRefused):
    """The binary is not well-formed WebAssembly."""


@dataclass(frozen=True)
class MemoryDecl:
    minimum_bytes: int
    maximum_bytes: int | None
    shared: bool = False


@dataclass(frozen=True)
class TableDecl:
    minimum: int
    maximum: int | None


@dataclass(frozen=True)
class Footprint:
    """The memories and tables one instance creates, and how many core instances."""

    memories: tuple[MemoryDecl, ...] = ()
    tables: tuple[TableDecl, ...] = ()
    instances: int = 0

    def __add__(self, other: Footprint) -> Footprint:
        return Footprint(self.memories + other.memories, self.tables + other.tables, self.instances + other.instances)


@dataclass(frozen=True)
class StoreBudget:
    """The wasmtime store limits of one instance, and the total they bound."""

    memory_size: int
    """Bytes each linear memory may reach."""
    table_elements: int
    memories: int
    tables: int
    instances: int

    @property
    def bound(self) -> int:
        return self.memories * self.memory_size + self.tables * self.table_elements * TABLE_ELEMENT_BYTES


@dataclass(frozen=True)
class ExtismBudget:
    """`max_pages` of an Extism manifest, and the total it bounds with what the module declares."""

    max_pages: int
    bound: int


# -- reading -----------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes, offset: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = offset
        self.end = len(data) if end is None else end

    def done(self) -> bool:
        return self.pos >= self.end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise MalformedArtifact("the WebAssembly binary ends unexpectedly")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uleb(self, max_bits: int = 64) -> int:
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result
            if shift >= max_bits + 7:
                raise MalformedArtifact("the WebAssembly binary has an over-long integer")

    def sleb(self) -> int:
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result - (1 << shift) if byte & 0x40 else result
            if shift >= 64:
                raise MalformedArtifact("the WebAssembly binary has an over-long integer")

    def skip(self, count: int) -> None:
        if count > self.end - self.pos:
            raise MalformedArtifact("the WebAssembly binary ends unexpectedly")
        self.pos += count

    def name(self) -> None:
        self.skip(self.uleb(32))

    def sections(self) -> list[tuple[int, int, int]]:
        """(id, start, end) of every section after the 8-byte header."""
        found = []
        while not self.done():
            section_id = self.byte()
            size = self.uleb(32)
            start = self.pos
            self.skip(size)
            found.append((section_id, start, start + size))
        return found


def _header(wasm: bytes, version: bytes, what: str) -> None:
    if wasm[:4] != _WASM_MAGIC or wasm[4:8] != version:
        raise MalformedArtifact(f"it is not a WebAssembly {what}")


# -- core modules --------------------------------------------------------------


def _memory_type(reader: _Reader) -> MemoryDecl:
    flags = reader.byte()
    if flags & ~0b1111:
        raise ArtifactRefused(f"it declares a memory with unknown flags {flags:#x}")
    minimum = reader.uleb()
    maximum = reader.uleb() if flags & 0b0001 else None
    page = 1 << reader.uleb(32) if flags & 0b1000 else PAGE
    return MemoryDecl(minimum * page, maximum * page if maximum is not None else None, shared=bool(flags & 0b0010))


def _table(reader: _Reader) -> TableDecl:
    if reader.data[reader.pos : reader.pos + 1] == b"\x40":
        raise ArtifactRefused("it declares a table with an initializer expression, which is not supported")
    kind = reader.byte()
    if kind in (0x63, 0x64):  # (ref null? heaptype)
        reader.sleb()
    flags = reader.byte()
    if flags & ~0b101:
        raise ArtifactRefused(f"it declares a table with unsupported flags {flags:#x}")
    minimum = reader.uleb()
    maximum = reader.uleb() if flags & 0b001 else None
    return TableDecl(minimum, maximum)


def _core_module(wasm: bytes, start: int = 0, end: int | None = None) -> Footprint:
    reader = _Reader(wasm, start, end)
    if reader.data[reader.pos : reader.pos + 8] != _WASM_MAGIC + _CORE_VERSION:
        raise MalformedArtifact("it contains a core module with an unknown header")
    reader.skip(8)
    memories: list[MemoryDecl] = []
    tables: list[TableDecl] = []
    for section_id, s_start, s_end in reader.sections():
        if section_id not in (_CORE_TABLE, _CORE_MEMORY):
            continue
        section = _Reader(wasm, s_start, s_end)
        for _ in range(section.uleb(32)):
            if section_id == _CORE_MEMORY:
                memories.append(_memory_type(section))
            else:
                tables.append(_table(section))
        if not section.done():
            raise MalformedArtifact("its memory or table section has trailing bytes")
    return Footprint(tuple(memories), tuple(tables), 1)


def core_module(wasm: bytes) -> Footprint:
    """The memories and tables one instance of the core module `wasm` defines."""
    _header(wasm, _CORE_VERSION, "core module")
    return _core_module(wasm)


# -- components ------------------------------------------------------------------


@dataclass
class _Scope:
    """The core-module and component index spaces of one component, as they are built."""

    parent: _Scope | None
    modules: list[Footprint | str] = field(default_factory=list)
    """A footprint, or why it is unknown (imported, aliased from an instance)."""
    components: list[Footprint | str] = field(default_factory=list)
    total: Footprint = field(default_factory=Footprint)
    unknown: str | None = None
    """Why instantiating this component cannot be accounted for."""

    def ancestor(self, count: int) -> _Scope:
        scope: _Scope | None = self
        for _ in range(count):
            scope = scope.parent if scope is not None else None
        if scope is None:
            raise ArtifactRefused("it has an outer alias past its outermost component")
        return scope


def _sort(reader: _Reader) -> tuple[int, int | None]:
    first = reader.byte()
    return (first, reader.byte()) if first in _SORTS_WITH_CORE_BYTE else (first, None)


def _extern_name(reader: _Reader) -> None:
    tag = reader.byte()
    if tag not in (0x00, 0x01, 0x02):
        raise ArtifactRefused(f"it has a component name with an unknown encoding {tag:#x}")
    reader.name()
    if tag == 0x02:
        for _ in range(reader.uleb(32)):
            reader.byte()
            reader.name()


def _extern_desc(reader: _Reader) -> tuple[int, int | None]:
    sort = _sort(reader)
    if sort[0] == 0x02:
        raise ArtifactRefused("it imports or exports a component value, which is not supported")
    if sort[0] == 0x03:  # type bound: eq typeidx | sub resource
        if reader.byte() == 0x00:
            reader.uleb(32)
    else:
        reader.uleb(32)
    return sort


def _pick(space: list[Footprint | str], index: int, what: str) -> Footprint | str:
    if index >= len(space):
        raise ArtifactRefused(f"it refers to {what} {index}, which does not exist")
    return space[index]


def _instantiated(found: Footprint | str, what: str) -> Footprint:
    if isinstance(found, str):
        raise ArtifactRefused(f"it instantiates {what} that {found}, whose memory cannot be accounted for")
    return found


def _component(wasm: bytes, start: int, end: int, parent: _Scope | None, depth: int) -> _Scope:
    if depth > _MAX_NESTING:
        raise ArtifactRefused(f"it nests components more than {_MAX_NESTING} deep")
    reader = _Reader(wasm, start, end)
    if reader.data[reader.pos : reader.pos + 8] != _WASM_MAGIC + _COMPONENT_VERSION:
        raise MalformedArtifact("it contains a nested component with an unknown header")
    reader.skip(8)
    scope = _Scope(parent)
    for section_id, s_start, s_end in reader.sections():
        section = _Reader(wasm, s_start, s_end)
        if section_id == _CORE_MODULE:
            scope.modules.append(_core_module(wasm, s_start, s_end))
            continue
        if section_id == _COMPONENT:
            nested = _component(wasm, s_start, s_end, scope, depth + 1)
            scope.components.append(nested.unknown if nested.unknown is not None else nested.total)
            continue
        if section_id not in (_CORE_INSTANCE, _INSTANCE, _ALIAS, _IMPORT, _EXPORT):
            continue
        for _ in range(section.uleb(32)):
            _entry(section_id, section, scope)
        if not section.done():
            raise MalformedArtifact(f"its section {section_id} has trailing bytes")
    return scope


def _entry(section_id: int, section: _Reader, scope: _Scope) -> None:
    if section_id == _CORE_INSTANCE:
        kind = section.byte()
        if kind == 0x00:
            module = _pick(scope.modules, section.uleb(32), "core module")
            scope.total = scope.total + _instantiated(module, "a core module")
            for _ in range(section.uleb(32)):
                section.name()
                if section.byte() != 0x12:
                    raise ArtifactRefused("it passes something other than an instance to a core module")
                section.uleb(32)
        elif kind == 0x01:
            for _ in range(section.uleb(32)):
                section.name()
                section.byte()
                section.uleb(32)
        else:
            raise ArtifactRefused(f"it has a core instance of unknown kind {kind:#x}")
    elif section_id == _INSTANCE:
        kind = section.byte()
        if kind == 0x00:
            component = _pick(scope.components, section.uleb(32), "component")
            scope.total = scope.total + _instantiated(component, "a component")
            for _ in range(section.uleb(32)):
                section.name()
                _sort(section)
                section.uleb(32)
        elif kind == 0x01:
            for _ in range(section.uleb(32)):
                _extern_name(section)
                _sort(section)
                section.uleb(32)
        else:
            raise ArtifactRefused(f"it has a component instance of unknown kind {kind:#x}")
    elif section_id == _ALIAS:
        sort = _sort(section)
        target = section.byte()
        origin: Footprint | str = "comes from another instance's exports"
        if target in (0x00, 0x01):
            section.uleb(32)
            section.name()
        elif target == 0x02:
            outer = scope.ancestor(section.uleb(32))
            index = section.uleb(32)
            if sort == (_CORE_SORT, _CORE_SORT_MODULE):
                origin = _pick(outer.modules, index, "core module")
            elif sort[0] == _SORT_COMPONENT:
                origin = _pick(outer.components, index, "component")
        else:
            raise ArtifactRefused(f"it has an alias of unknown kind {target:#x}")
        _add(scope, sort, origin)
    elif section_id == _IMPORT:
        _extern_name(section)
        _add(scope, _extern_desc(section), "is imported")
    else:  # export: a new index for the exported item
        _extern_name(section)
        sort = _sort(section)
        index = section.uleb(32)
        marker = section.byte()
        if marker == 0x01:
            _extern_desc(section)
        elif marker != 0x00:
            raise ArtifactRefused(f"it has an export with an unknown type marker {marker:#x}")
        if sort == (_CORE_SORT, _CORE_SORT_MODULE):
            _add(scope, sort, _pick(scope.modules, index, "core module"))
        elif sort[0] == _SORT_COMPONENT:
            _add(scope, sort, _pick(scope.components, index, "component"))


def _add(scope: _Scope, sort: tuple[int, int | None], item: Footprint | str) -> None:
    if sort == (_CORE_SORT, _CORE_SORT_MODULE):
        scope.modules.append(item)
    elif sort[0] == _SORT_COMPONENT:
        scope.components.append(item)


def component(wasm: bytes) -> Footprint:
    """The memories, tables and core instances one instantiation of the component `wasm` creates."""
    _header(wasm, _COMPONENT_VERSION, "component")
    scope = _component(wasm, 0, len(wasm), None, 0)
    return scope.total


# -- budgets -----------------------------------------------------------------------


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def component_budget(footprint: Footprint, budget: int) -> StoreBudget:
    """Store limits under which everything `footprint` creates stays within `budget` bytes together.

    Every table may hold `MAX_TABLE_ELEMENTS`; what is left is shared equally by the memories.
    """
    if any(memory.shared for memory in footprint.memories):
        raise ArtifactRefused("it declares a shared memory, which is not supported")
    if footprint.instances > MAX_INSTANCES:
        raise ArtifactRefused(
            f"it creates {footprint.instances} core instances; at most {MAX_INSTANCES} are allowed"
        )
    for table in footprint.tables:
        if table.minimum > MAX_TABLE_ELEMENTS:
            raise ArtifactRefused(
                f"it declares a table of {table.minimum} elements; a table may hold at most {MAX_TABLE_ELEMENTS}"
            )
    tables = len(footprint.tables) * MAX_TABLE_ELEMENTS * TABLE_ELEMENT_BYTES
    memories = len(footprint.memories)
    left = budget - tables
    if left < 0 or (memories and left // memories < PAGE):
        raise ArtifactRefused(
            f"its {len(footprint.tables)} tables and {memories} memories do not fit in {_mb(budget)}"
        )
    per_memory = left // memories // PAGE * PAGE if memories else 0
    for memory in footprint.memories:
        if memory.minimum_bytes > per_memory:
            raise ArtifactRefused(
                f"it declares a memory of {_mb(memory.minimum_bytes)} at start; each of its {memories} memories "
                f"may use at most {_mb(per_memory)} of the {_mb(budget)} limit"
            )
    return StoreBudget(per_memory, MAX_TABLE_ELEMENTS, memories, len(footprint.tables), footprint.instances)


def extism_budget(footprint: Footprint, budget: int) -> ExtismBudget:
    """`max_pages` for an Extism plugin so that its memories (the kernel's included) and tables fit `budget`.

    Extism's memory limiter counts the growth of every memory of the plugin's store against
    `max_pages` together, but forgets what the module's own memories took at instantiation, and the
    kernel's memory is made before the limiter exists: both are taken off `max_pages`. The limiter
    bounds no table: every table must declare a maximum, counted in full.
    """
    if any(memory.shared for memory in footprint.memories):
        raise ArtifactRefused("it declares a shared memory, which is not supported")
    table_bytes = 0
    for table in footprint.tables:
        if table.maximum is None:
            raise ArtifactRefused("it declares a table without a maximum size, which an Extism plugin may not")
        if table.maximum > MAX_TABLE_ELEMENTS:
            raise ArtifactRefused(
                f"it declares a table of up to {table.maximum} elements; a table may hold at most "
                f"{MAX_TABLE_ELEMENTS}"
            )
        table_bytes += table.maximum * TABLE_ELEMENT_BYTES
    initial = sum(memory.minimum_bytes for memory in footprint.memories)
    growth = (budget - table_bytes - initial - EXTISM_KERNEL_PAGES * PAGE) // PAGE
    if growth < 1 or initial > growth * PAGE:
        raise ArtifactRefused(
            f"it declares {_mb(initial)} of memory at start; with its tables and Extism's own memory an Extism "
            f"plugin may start with at most half of the {_mb(budget)} limit"
        )
    return ExtismBudget(growth, EXTISM_KERNEL_PAGES * PAGE + initial + growth * PAGE + table_bytes)
