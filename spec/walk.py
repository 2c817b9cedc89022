"""The one tree walker: pre-order, iterative (deep input cannot exhaust the stack).

:func:`spec.ir.walk` (statements), :func:`spec.ir.walk_expr` (expressions)
and :func:`spec.ast.walk` (parsed statements) are this walk with their own
notion of children.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


def preorder(roots: Iterable[T], children: Callable[[T], Sequence[T]]) -> list[T]:
    """Every node under ``roots`` (the roots included), parents before their
    children, in order."""
    out: list[T] = []
    stack = list(roots)
    stack.reverse()
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children(node)))
    return out
