"""Checks on a flow's operations as a whole: links stay inside the flow, keys are
unique, the entry point belongs to the flow, and no cycle can run forever.

A cycle is refused when it can never end: every operation in it sends both its
resolve and its reject back into it, or its operations are linked by resolve
alone and none of them is a `condition` (nothing in it decides to leave).
Other loops are allowed; `FLOWS_MAX_STEPS` still bounds a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from host.flows.models import FieldError, FlowRecord, OperationRecord

DECIDES = frozenset({"condition"})


def check_flow_graph(flow: FlowRecord, operations: Iterable[OperationRecord]) -> None:
    ops = {op.id: op for op in operations}
    keys: dict[str, str] = {}
    for op in ops.values():
        if op.key in keys:
            raise FieldError("key", f'"{op.key}" is already the key of another operation of this flow')
        keys[op.key] = op.id
        for link in ("resolve", "reject"):
            target = getattr(op, link)
            if target is not None and target not in ops:
                raise FieldError(link, f'operation "{target}" is not an operation of flow "{flow.id}"')
    if flow.operation is not None and flow.operation not in ops:
        raise FieldError("operation", f'operation "{flow.operation}" is not an operation of flow "{flow.id}"')
    _check_cycles(ops)


def _successors(op: OperationRecord, resolve_only: bool) -> list[str]:
    links = [op.resolve] if resolve_only else [op.resolve, op.reject]
    return [link for link in links if link is not None]


def _components(ops: Mapping[str, OperationRecord], resolve_only: bool) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative) of the link graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in ops:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = _successors(ops[node], resolve_only)
            if child < len(successors):
                work.append((node, child + 1))
                succ = successors[child]
                if succ not in index:
                    work.append((succ, 0))
                elif succ in on_stack:
                    low[node] = min(low[node], index[succ])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def _is_cycle(ops: Mapping[str, OperationRecord], members: list[str], resolve_only: bool) -> bool:
    if len(members) > 1:
        return True
    only = ops[members[0]]
    return only.id in _successors(only, resolve_only)


def _describe(ops: Mapping[str, OperationRecord], members: list[str]) -> str:
    return " -> ".join(sorted(ops[m].key for m in members))


def _check_cycles(ops: Mapping[str, OperationRecord]) -> None:
    for members in _components(ops, resolve_only=False):
        if not _is_cycle(ops, members, False):
            continue
        inside = set(members)
        if all(op.resolve in inside and op.reject in inside for op in (ops[m] for m in members)):
            raise FieldError(
                "resolve",
                f"operations {_describe(ops, members)} form a cycle that can never end "
                "(every resolve and reject leads back into it)",
            )
    for members in _components(ops, resolve_only=True):
        if not _is_cycle(ops, members, True):
            continue
        if not any(ops[m].type in DECIDES for m in members):
            raise FieldError(
                "resolve",
                f"operations {_describe(ops, members)} form a resolve loop that can never end "
                "(no condition in it decides to leave)",
            )
