"""The clauses of each action that spec coverage counts, each with a stable id.

A clause is a ``require``, an ``if`` (its two branches), an ``emit`` or a
revert reason of an action. Its id is ``module.action#N``: N is the place of
its IR node in the one pre-order walk of the action's body
(:func:`spec.ir.walk`), so that the reference model's probes, the
conformance counts and the report name a clause alike; a revert reason's id is
``module.action!REASON``.

A clause has sides, each of which a run covers or not: a ``require`` passing
and failing, an ``if`` taking each branch, an ``emit`` emitted, a reason
produced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from spec import ir
from spec.diagnostics import Span

ClauseKind = Literal["require", "branch", "emit", "reason"]

#: The sides of each kind of clause: what a run must see for the clause to be covered.
SIDES: dict[str, tuple[tuple[bool, str], ...]] = {
    "require": ((True, "seen passing"), (False, "seen failing")),
    "branch": ((True, "then-branch taken"), (False, "else-branch taken")),
    "emit": ((True, "emitted"),),
    "reason": ((True, "produced"),),
}


@dataclass(frozen=True)
class Clause:
    """One clause of an action: its id, kind, what it says, and where."""

    id: str
    action: str  # module.action
    kind: ClauseKind
    text: str
    span: Span | None
    reason: str | None = None  # of a require or a reason clause


def excerpt(spec: ir.Spec, span: Span | None, limit: int = 160) -> str:
    """The source text of ``span``, on one line (whitespace collapsed), cut at ``limit`` characters."""
    if span is None or span.file not in spec.sources:
        return ""
    lines = spec.sources[span.file].splitlines()
    if not 1 <= span.line <= len(lines):
        return ""
    if span.end_line == span.line:
        text = lines[span.line - 1][span.column - 1:span.end_column - 1]
    else:
        text = " ".join([lines[span.line - 1][span.column - 1:],
                         *lines[span.line:span.end_line - 1], lines[span.end_line - 1][:span.end_column - 1]]
                        if span.end_line <= len(lines) else [lines[span.line - 1][span.column - 1:]])
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def node_ids(module: str, action: ir.Action) -> dict[ir.Stmt, str]:
    """The id of each ``require``, ``if`` and ``emit`` node of ``action``'s body."""
    out: dict[ir.Stmt, str] = {}
    for i, s in enumerate(ir.walk(action.body)):
        if isinstance(s, ir.Require | ir.If | ir.Emit):
            out[s] = f"{module}.{action.name}#{i}"
    return out


def action_clauses(spec: ir.Spec, module: str, name: str) -> list[Clause]:
    """The clauses of action ``module.name``, in source order, then its revert reasons."""
    a = spec.modules[module].actions[name]
    aid = f"{module}.{name}"
    out: list[Clause] = []
    first_span: dict[str, Span | None] = {}
    for node, cid in node_ids(module, a).items():
        if isinstance(node, ir.Require):
            out.append(Clause(cid, aid, "require", excerpt(spec, node.span) or f"require ... \"{node.reason}\"",
                              node.span, node.reason))
            first_span.setdefault(node.reason, node.span)
        elif isinstance(node, ir.If):
            out.append(Clause(cid, aid, "branch", "if " + excerpt(spec, node.test.span), node.span))
        elif isinstance(node, ir.Emit):
            out.append(Clause(cid, aid, "emit", excerpt(spec, node.span) or f"emit {node.event}", node.span))
    for reason in a.reasons:
        out.append(Clause(f"{aid}!{reason}", aid, "reason", f"revert \"{reason}\"", first_span.get(reason, a.span),
                          reason))
    return out


def all_clauses(spec: ir.Spec) -> Iterable[Clause]:
    """Every clause of every action of ``spec``, module by module."""
    for m in spec.modules.values():
        for name in m.actions:
            yield from action_clauses(spec, m.name, name)


@dataclass(frozen=True)
class Uncovered:
    """A side of a clause that no run covered."""

    clause: Clause
    side: str  # e.g. "seen failing", "else-branch taken", "emitted", "produced"

    def describe(self) -> str:
        where = f"{self.clause.span}: " if self.clause.span else ""
        return f"{where}{self.clause.action}: {self.clause.text} never {self.side}"


@dataclass(frozen=True)
class ActionCoverage:
    """How many sides of an action's clauses the runs covered, and which they missed."""

    action: str
    covered: int
    total: int
    uncovered: tuple[Uncovered, ...]


def coverage(spec: ir.Spec, seen: set[tuple[str, bool]] | frozenset[tuple[str, bool]],
             produced: dict[str, set[str]] | None = None) -> list[ActionCoverage]:
    """The coverage of every action of ``spec`` by runs that saw the clause
    sides ``seen`` (``(id, value)`` pairs from the model's probes).

    An action's revert reason counts as produced when one of its ``require``
    clauses with that reason was seen failing, or when ``produced`` (reasons
    by ``module.action``, from its top-level runs) lists it.
    """
    produced = produced or {}
    out = []
    for m in spec.modules.values():
        for name in m.actions:
            clauses = action_clauses(spec, m.name, name)
            aid = f"{m.name}.{name}"
            failed = {c.reason for c in clauses if c.kind == "require" and (c.id, False) in seen}
            covered, missing = 0, []
            for c in clauses:
                for value, side in SIDES[c.kind]:
                    if c.kind == "reason":
                        hit = c.reason in failed or c.reason in produced.get(aid, set())
                    else:
                        hit = (c.id, value) in seen
                    if hit:
                        covered += 1
                    else:
                        missing.append(Uncovered(c, side))
            out.append(ActionCoverage(aid, covered, covered + len(missing), tuple(missing)))
    return out
