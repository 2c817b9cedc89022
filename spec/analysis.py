"""Facts derived from a checked spec that several consumers need: the one
read- and write-set analysis.

- :class:`Analysis`: what each action writes and reads (state named by
  ``(kind, module, name)``, kind ``s`` for a state variable, ``g`` for a
  governed parameter; parameters never change after deployment), which
  actions can affect a rule, which lemmas a query may assume. The prover's
  frame rule and bounded search use it.
- :func:`write_set`: which modules' state an action can change, through the
  actions it calls (the model snapshots only those before running it; the
  conformance harness compares them after a step).
- :func:`restrict`: the sub-spec of a set of modules closed under imports
  (an implementation may cover part of the protocol, e.g. sections 1-6).

Every walk goes through the one IR walker (:func:`spec.ir.walk`,
:func:`spec.ir.stmt_exprs`, :func:`spec.ir.walk_expr`).
"""

from __future__ import annotations

from collections.abc import Iterable

from spec import ir

Key = tuple[str, str, str]


class ModuleSelectionError(ValueError):
    """A selection of modules names an unknown module, or leaves out one a selected module imports."""



def restrict(spec: ir.Spec, names: Iterable[str]) -> ir.Spec:
    """The spec with only the named modules, in the original order.

    Raises:
        ModuleSelectionError: a module is unknown, or imports a module left out.
    """
    keep = set(names)
    unknown = keep - set(spec.modules)
    if unknown:
        raise ModuleSelectionError(f"unknown module(s): {', '.join(sorted(unknown))}")
    for name in keep:
        missing = [i for i in spec.modules[name].imports if i not in keep]
        if missing:
            raise ModuleSelectionError(f"module `{name}` imports {', '.join(missing)}, which the selection leaves out")
    return ir.Spec({n: m for n, m in spec.modules.items() if n in keep}, spec.sources)


def analysis_of(spec: ir.Spec) -> Analysis:
    """The (memoised) :class:`Analysis` of ``spec``."""
    cached = _CACHE.get(id(spec))
    if cached is None or cached[0] is not spec:
        cached = (spec, Analysis(spec))
        _CACHE[id(spec)] = cached
    return cached[1]


def write_set(spec: ir.Spec, module: str, action: str) -> frozenset[str]:
    """Modules whose state ``module.action`` may change (itself included).

    Raises:
        KeyError: no such action.
    """
    found = analysis_of(spec)
    if action not in spec.modules[module].actions:
        raise KeyError((module, action))
    return found.modules_written(module, action)


def fields_written(spec: ir.Spec, module: str, action: str) -> dict[str, frozenset[str]]:
    """The state variables and governed parameters ``module.action`` may
    assign, by module: one entry for each module of :func:`write_set`
    (empty when the action only calls into it).

    Raises:
        KeyError: no such action.
    """
    write_set(spec, module, action)  # (checks the action, fills the cache)
    return _CACHE[id(spec)][1].fields_written(module, action)


_CACHE: dict[int, tuple[ir.Spec, Analysis]] = {}


class Analysis:
    """Read and write sets of a spec's actions, functions and rules (memoised)."""

    def __init__(self, spec: ir.Spec) -> None:
        self.spec = spec
        self._writes: dict[tuple[str, str], frozenset[Key]] = {}
        self._reads: dict[tuple[str, str, str], frozenset[Key]] = {}
        self._modules: dict[tuple[str, str], frozenset[str]] = {}
        self._fields: dict[tuple[str, str], dict[str, frozenset[str]]] = {}
        self._closures: dict[tuple[str, int],
                             tuple[ir.Expr, frozenset[tuple[str, str, str]], frozenset[str], bool]] = {}

    # ------------------------------------------------------------ writes
    def action_writes(self, module: str, action: str) -> frozenset[Key]:
        """Every state entry the action (and the actions it calls) may assign."""
        k = (module, action)
        if k in self._writes:
            return self._writes[k]
        self._writes[k] = frozenset()  # recursion guard
        out: set[Key] = set()
        body = self.spec.modules[module].actions[action].body
        for s in ir.walk(body):
            if isinstance(s, ir.Assign):
                root = _root(s.target)
                if root is not None and root.kind in ("state", "governed"):
                    out.add(("s" if root.kind == "state" else "g", root.module, root.name))
            if isinstance(s, ir.Govern):
                out.update(("g", m, n) for m, n in s.candidates if m in self.spec.modules)
            for call in _calls(self.spec, s):
                out |= self.action_writes(call.module, call.name)
        self._writes[k] = frozenset(out)
        return self._writes[k]

    def action_callees(self, module: str, action: str) -> frozenset[tuple[str, str]]:
        """Every action ``module.action`` may call, directly or through other actions (itself excluded
        unless it is reached again)."""
        out: set[tuple[str, str]] = set()
        stack = [(module, action)]
        seen: set[tuple[str, str]] = set()
        while stack:
            k = stack.pop()
            if k in seen or k[0] not in self.spec.modules or k[1] not in self.spec.modules[k[0]].actions:
                continue
            seen.add(k)
            for s in ir.walk(self.spec.modules[k[0]].actions[k[1]].body):
                for call in _calls(self.spec, s):
                    out.add((call.module, call.name))
                    stack.append((call.module, call.name))
        return frozenset(out)

    def modules_written(self, module: str, action: str) -> frozenset[str]:
        """Modules whose state ``module.action`` may change: its own, those of
        the actions it calls, and those whose parameters it governs."""
        k = (module, action)
        if k not in self._modules:
            acc = {module}
            for m, a in {k, *self.action_callees(module, action)}:
                acc.add(m)
                for s in ir.walk(self.spec.modules[m].actions[a].body):
                    if isinstance(s, ir.Govern):
                        # (a restricted spec may leave a governed module out)
                        acc.update(c for c, _ in s.candidates if c in self.spec.modules)
            self._modules[k] = frozenset(acc)
        return self._modules[k]

    def fields_written(self, module: str, action: str) -> dict[str, frozenset[str]]:
        """:func:`fields_written`: the entries that the action, or any action
        it reaches, assigns itself (each one's own assignments, so a cycle of
        calls loses none), by module."""
        k = (module, action)
        if k not in self._fields:
            out: dict[str, set[str]] = {m: set() for m in self.modules_written(module, action)}
            for m, a in {k, *self.action_callees(module, action)}:
                for _kind, owner, name in self.action_writes(m, a):
                    out.setdefault(owner, set()).add(name)
            self._fields[k] = {m: frozenset(names) for m, names in out.items()}
        return self._fields[k]

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
            stack.extend(ir.expr_children(x))
        return frozenset(out)

    def body_reads(self, kind: str, module: str, name: str) -> frozenset[Key]:
        """State read by the body of a function (``kind="fn"``) or an action, through what it calls."""
        k = (kind, module, name)
        if k in self._reads:
            return self._reads[k]
        self._reads[k] = frozenset()
        m = self.spec.modules[module]
        body = m.fns[name].body if kind == "fn" else m.actions[name].body
        out: set[Key] = set()
        for s in ir.walk(body):
            for e in ir.stmt_exprs(s):
                out |= self.expr_reads(e)
            if isinstance(s, ir.Govern):
                out.update(("g", cm, cn) for cm, cn in s.candidates if cm in self.spec.modules)
                for call in _calls(self.spec, s):
                    out |= self.body_reads("action", call.module, call.name)
        self._reads[k] = frozenset(out)
        return self._reads[k]

    def action_reads(self, module: str, action: str) -> frozenset[Key]:
        """State an action may read."""
        return self.body_reads("action", module, action)

    def rule_reads(self, rule: ir.Rule) -> frozenset[Key]:
        """State a rule reads."""
        return self.expr_reads(rule.expr)

    def decls_read(self, e: ir.Expr) -> frozenset[tuple[str, str, str]]:
        """The declarations whose text an expression's value depends on, through
        the functions it calls, the constants they read (and the constants
        those read), phase thresholds and decays: ``("fn", module, name)``,
        ``("const", module, name)``, ``("phases", module, name)`` and
        ``("decay", module, name)``. State is not among them
        (:meth:`modules_named` says whose state it may read)."""
        return self._closure(e)[0]

    def modules_named(self, e: ir.Expr) -> frozenset[str]:
        """Every module an expression names (a reference, a call, a record, a
        phase list...), through what :meth:`decls_read` follows: a superset of
        the modules whose state or parameters its value depends on."""
        return self._closure(e)[1]

    def quantifies(self, e: ir.Expr) -> bool:
        """Whether an expression, through what :meth:`decls_read` follows, has a
        ``forall`` (whose runtime check ranges over every key the whole state
        mentions, in any module)."""
        return self._closure(e)[2]

    def _closure(self, e: ir.Expr) -> tuple[frozenset[tuple[str, str, str]], frozenset[str], bool]:
        key_e = ("closure", id(e))
        cached = self._closures.get(key_e)
        if cached is not None and cached[0] is e:
            return cached[1], cached[2], cached[3]
        out: set[tuple[str, str, str]] = set()
        named: set[str] = set()
        quantifies = False
        stack = [e]
        while stack:
            x = stack.pop()
            quantifies = quantifies or isinstance(x, ir.Forall)
            module = getattr(x, "module", None)
            if isinstance(module, str) and module:
                named.add(module)
            key: tuple[str, str, str] | None = None
            follow: list[ir.Expr] = []
            if isinstance(x, ir.Ref) and x.kind == "const" and x.module in self.spec.modules:
                key = ("const", x.module, x.name)
                c = self.spec.modules[x.module].consts.get(x.name)
                follow = [c.value] if c is not None else []
            elif isinstance(x, ir.FnCall):
                key = ("fn", x.module, x.name)
                fn = self.spec.modules[x.module].fns[x.name]
                follow = [y for s in ir.walk(fn.body) for y in ir.stmt_exprs(s)]
            elif isinstance(x, ir.PhaseOf):
                key = ("phases", x.module, x.phases)
                follow = list(self.spec.modules[x.module].phases[x.phases].thresholds)
            elif isinstance(x, ir.DecayLevelOf | ir.DecayAt):
                key = ("decay", x.module, x.decay)
                d = self.spec.modules[x.module].decays[x.decay]
                follow = [d.levels, d.periods]
            if key is not None and key not in out:
                out.add(key)
                stack.extend(follow)
            stack.extend(ir.expr_children(x))
        self._closures[key_e] = (e, frozenset(out), frozenset(named), quantifies)
        return frozenset(out), frozenset(named), quantifies

    def reads_clock(self, module: str, action: str, kind: str = "action") -> bool:
        """Whether the action (``kind="fn"``: the function), through what it
        calls, its functions and phase thresholds, may read ``now`` or
        ``block_number``."""
        return self.reads_env(module, action, kind, ("now", "block_number"))

    def reads_env(self, module: str, action: str, kind: str = "action",
                  names: tuple[str, ...] = ir.ENV_NAMES) -> bool:
        """Whether the action (``kind="fn"``: the function), through what it
        calls, its functions and phase thresholds, may read one of the
        ``env`` inputs ``names`` (of :data:`spec.ir.ENV_NAMES`)."""
        seen: set[tuple[str, str, str]] = set()
        stack = [(kind, module, action)]
        while stack:
            k = stack.pop()
            if k in seen:
                continue
            seen.add(k)
            kind, m, n = k
            mod = self.spec.modules[m]
            body = mod.fns[n].body if kind == "fn" else mod.actions[n].body
            for s in ir.walk(body):
                exprs = list(ir.stmt_exprs(s))
                stack.extend(("action", c.module, c.name) for c in _calls(self.spec, s))
                while exprs:
                    x = exprs.pop()
                    if isinstance(x, ir.Ref) and x.kind == "env" and x.name in names:
                        return True
                    if isinstance(x, ir.FnCall):
                        stack.append(("fn", x.module, x.name))
                    elif isinstance(x, ir.ActionCall):
                        stack.append(("action", x.module, x.name))
                    elif isinstance(x, ir.PhaseOf):
                        exprs.extend(self.spec.modules[x.module].phases[x.phases].thresholds)
                    exprs.extend(ir.expr_children(x))
        return False

    # --------------------------------------------------------- relevance
    def public_actions(self) -> list[tuple[str, str]]:
        """Every action a transaction may call, in spec order."""
        return [(m.name, a.name) for m in self.spec.modules.values() for a in m.actions.values()
                if not a.internal]

    def affects(self, module: str, action: str, reads: frozenset[Key]) -> bool:
        """Whether the action may write anything in ``reads`` (if not, the frame rule proves it preserves them)."""
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
        """The module and every module it imports, directly or not, in spec order."""
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


def _calls(spec: ir.Spec, s: ir.Stmt) -> list[ir.ActionCall]:
    """The action calls statement ``s`` makes itself: those in its
    expressions, and for a ``govern`` the hooks of the parameters it may set
    (of the modules ``spec`` deploys)."""
    calls = [call for e in ir.stmt_exprs(s) for call in ir.action_calls(e)]
    if isinstance(s, ir.Govern):
        calls.extend(call for _, call in s.hooks if call.module in spec.modules)
    return calls
