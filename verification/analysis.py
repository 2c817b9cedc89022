"""Static facts about the IR: what each action writes and reads, which actions
can affect a rule, and which lemmas a query may assume.

State is named by ``(kind, module, name)`` with kind ``s`` (state variable) or
``g`` (governed parameter); parameters never change after deployment.
"""

from __future__ import annotations

from collections.abc import Iterator

from spec import ir
from verification.encode import expr_children

Key = tuple[str, str, str]


def walk_stmts(stmts: tuple[ir.Stmt, ...]) -> Iterator[ir.Stmt]:
    """Every statement, nested ones included (see :func:`spec.ir.walk`)."""
    return iter(ir.walk(stmts))


def stmt_exprs(s: ir.Stmt) -> list[ir.Expr]:
    if isinstance(s, ir.Let):
        return [s.value]
    if isinstance(s, ir.Assign):
        return [s.target, s.value]
    if isinstance(s, ir.Require):
        return [s.cond]
    if isinstance(s, ir.If):
        return [s.test]
    if isinstance(s, ir.Emit):
        return list(s.args)
    if isinstance(s, ir.Return):
        return [s.value]
    if isinstance(s, ir.CallStmt):
        return [s.call]
    if isinstance(s, ir.Govern):
        return [s.target, s.key, s.value]
    return []


class Analysis:
    """Read and write sets of a spec's actions, functions and rules (memoised)."""

    def __init__(self, spec: ir.Spec) -> None:
        self.spec = spec
        self._writes: dict[tuple[str, str], frozenset[Key]] = {}
        self._reads: dict[tuple[str, str, str], frozenset[Key]] = {}

    # ------------------------------------------------------------ writes
    def action_writes(self, module: str, action: str) -> frozenset[Key]:
        """Every state entry the action (and the actions it calls) may assign."""
        k = (module, action)
        if k in self._writes:
            return self._writes[k]
        self._writes[k] = frozenset()  # recursion guard
        out: set[Key] = set()
        body = self.spec.modules[module].actions[action].body
        for s in walk_stmts(body):
            if isinstance(s, ir.Assign):
                root = _root(s.target)
                if root is not None and root.kind in ("state", "governed"):
                    out.add(("s" if root.kind == "state" else "g", root.module, root.name))
            if isinstance(s, ir.Govern):
                out.update(("g", m, n) for m, n in s.candidates)
            for e in stmt_exprs(s):
                for call in _calls(e):
                    out |= self.action_writes(call.module, call.name)
        self._writes[k] = frozenset(out)
        return self._writes[k]

    # ------------------------------------------------------------- reads
    def expr_reads(self, e: ir.Expr) -> frozenset[Key]:
        """State read by an expression, through functions and phase thresholds."""
        out: set[Key] = set()
        stack = [e]
        while stack:
            x = stack.pop()
            if isinstance(x, ir.Ref) and x.kind in ("state", "governed"):
                out.add(("s" if x.kind == "state" else "g", x.module, x.name))
            elif isinstance(x, ir.FnCall):
                out |= self.body_reads("fn", x.module, x.name)
            elif isinstance(x, ir.ActionCall):
                out |= self.body_reads("action", x.module, x.name)
            elif isinstance(x, ir.PhaseOf):
                for t in self.spec.modules[x.module].phases[x.phases].thresholds:
                    stack.append(t)
            stack.extend(expr_children(x))
        return frozenset(out)

    def body_reads(self, kind: str, module: str, name: str) -> frozenset[Key]:
        k = (kind, module, name)
        if k in self._reads:
            return self._reads[k]
        self._reads[k] = frozenset()
        m = self.spec.modules[module]
        body = m.fns[name].body if kind == "fn" else m.actions[name].body
        out: set[Key] = set()
        for s in walk_stmts(body):
            for e in stmt_exprs(s):
                out |= self.expr_reads(e)
            if isinstance(s, ir.Govern):
                out.update(("g", cm, cn) for cm, cn in s.candidates)
        self._reads[k] = frozenset(out)
        return self._reads[k]

    def action_reads(self, module: str, action: str) -> frozenset[Key]:
        return self.body_reads("action", module, action)

    def rule_reads(self, rule: ir.Rule) -> frozenset[Key]:
        return self.expr_reads(rule.expr)

    # --------------------------------------------------------- relevance
    def public_actions(self) -> list[tuple[str, str]]:
        """Every action a transaction may call, in spec order."""
        return [(m.name, a.name) for m in self.spec.modules.values() for a in m.actions.values()
                if not a.internal]

    def affects(self, module: str, action: str, reads: frozenset[Key]) -> bool:
        return bool(self.action_writes(module, action) & reads)

    def cone_of_influence(self, reads: frozenset[Key]) -> list[tuple[str, str]]:
        """Public actions that can change, directly or through the state that
        guards them, anything in ``reads``: the only ones a bounded search
        needs to try."""
        relevant = set(reads)
        chosen: list[tuple[str, str]] = []
        changed = True
        while changed:
            changed = False
            for m, a in self.public_actions():
                if (m, a) in chosen:
                    continue
                if self.action_writes(m, a) & relevant:
                    chosen.append((m, a))
                    relevant |= self.action_reads(m, a)
                    changed = True
        order = self.public_actions()
        return [x for x in order if x in chosen]

    def import_closure(self, module: str) -> list[str]:
        out: list[str] = []
        stack = [module]
        while stack:
            m = stack.pop()
            if m in out or m not in self.spec.modules:
                continue
            out.append(m)
            stack.extend(self.spec.modules[m].imports)
        return [m for m in self.spec.modules if m in out]

    def lemmas_for(self, *modules: str) -> list[tuple[str, ir.Rule]]:
        """The lemmas of the given modules and of everything they import."""
        mods: list[str] = []
        for m in modules:
            for x in self.import_closure(m):
                if x not in mods:
                    mods.append(x)
        return [(m, r) for m in self.spec.modules if m in mods
                for r in self.spec.modules[m].rules if r.kind == "lemma"]


def _root(e: ir.Expr) -> ir.Ref | None:
    while isinstance(e, ir.Index | ir.Field):
        e = e.base
    return e if isinstance(e, ir.Ref) else None


def _calls(e: ir.Expr) -> Iterator[ir.ActionCall]:
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, ir.ActionCall):
            yield x
        stack.extend(expr_children(x))
