"""Facts derived from a checked spec that several consumers need.

- :func:`restrict`: the sub-spec of a set of modules closed under imports
  (an implementation may cover part of the protocol, e.g. sections 1-6).
- :func:`write_set`: which modules' state an action can change, through the
  actions it calls (the model snapshots only those before running it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from spec import ir


def restrict(spec: ir.Spec, names: Iterable[str]) -> ir.Spec:
    """The spec with only the named modules, in the original order.

    Raises:
        ValueError: a module is unknown, or imports a module left out.
    """
    keep = set(names)
    unknown = keep - set(spec.modules)
    if unknown:
        raise ValueError(f"unknown module(s): {', '.join(sorted(unknown))}")
    for name in keep:
        missing = [i for i in spec.modules[name].imports if i not in keep]
        if missing:
            raise ValueError(f"module `{name}` imports {', '.join(missing)}, which the selection leaves out")
    return ir.Spec({n: m for n, m in spec.modules.items() if n in keep}, spec.sources)


def _calls(e: ir.Expr) -> Iterator[ir.ActionCall]:
    if isinstance(e, ir.ActionCall):
        yield e
        for a in e.args:
            yield from _calls(a)


def write_set(spec: ir.Spec, module: str, action: str) -> frozenset[str]:
    """Modules whose state ``module.action`` may change (itself included)."""
    cached = _CACHE.get(id(spec))
    if cached is None or cached[0] is not spec:
        cached = (spec, _write_sets(spec))
        _CACHE[id(spec)] = cached
    return cached[1][(module, action)]


_CACHE: dict[int, tuple[ir.Spec, dict[tuple[str, str], frozenset[str]]]] = {}


def _write_sets(spec: ir.Spec) -> dict[tuple[str, str], frozenset[str]]:
    direct: dict[tuple[str, str], set[str]] = {}
    callees: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for mname, m in spec.modules.items():
        for a in m.actions.values():
            key = (mname, a.name)
            direct[key] = {mname}
            callees[key] = set()
            for s in ir.walk(a.body):
                if isinstance(s, ir.Govern):
                    direct[key].update(c for c, _ in s.candidates)
                values: list[ir.Expr] = []
                if isinstance(s, ir.CallStmt):
                    values.append(s.call)
                elif isinstance(s, ir.Let | ir.Assign):
                    values.append(s.value)
                for v in values:
                    for c in _calls(v):
                        callees[key].add((c.module, c.name))
    out: dict[tuple[str, str], frozenset[str]] = {}
    for key in direct:
        seen: set[tuple[str, str]] = set()
        stack = [key]
        acc: set[str] = set()
        while stack:
            k = stack.pop()
            if k in seen or k not in direct:
                continue
            seen.add(k)
            acc |= direct[k]
            stack.extend(callees[k])
        out[key] = frozenset(acc)
    return out
