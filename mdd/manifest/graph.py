"""The graph of ``depends_on``: groups of points that depend on each other in a circle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def strongly_connected(graph: Mapping[str, Sequence[tuple[str, Any]]]) -> dict[str, set[str]]:
    """Each node's group of nodes that all reach each other (Tarjan's algorithm).

    Iterative, and linear in the number of points and dependencies, so a long chain of
    depends_on neither recurses too deep nor takes quadratic time.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: dict[str, set[str]] = {}
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, next_edge = work.pop()
            if next_edge == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            edges = graph.get(node, ())
            for position in range(next_edge, len(edges)):
                target = edges[position][0]
                if target not in index:
                    work.append((node, position + 1))
                    work.append((target, 0))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                if low[node] == index[node]:
                    group: set[str] = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        groups[member] = group
                        if member == node:
                            break
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
    return groups
