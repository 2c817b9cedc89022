"""Declarations and the protocol-level checks: modules, parameters, governed values,
phases, decays, rules, functions, actions with their `when` and `signed` clauses."""

from __future__ import annotations

import contextlib
import itertools

from spec import ast, ir
from spec.check.base import (
    ORDER_OPS,
    _Abort,
    _always_returns,
    _ast_key,
    _conjuncts,
    _ir_conjuncts,
    _ModuleDecls,
    _proves_less,
    _Scope,
    _term_key,
    _var_const,
)
from spec.check.statements import StatementChecker
from spec.consts import ConstantFault, NotConstant
from spec.diagnostics import Diagnostic, Span, did_you_mean


class Checker(StatementChecker):
    """The checker: declarations and protocol-level checks on top of the other layers."""

    # ------------------------------------------------------------- decls
    def check(self) -> ir.Spec:
        """Run every check and build the IR.

        Raises nothing: diagnostics are collected in ``self.diags``.
        """
        self.expand()
        self.fold_consts()
        for md in self.mods.values():
            for d in md.order:
                if isinstance(d, ast.Action | ast.Fn | ast.Init):
                    for g in ast.walk(d.body):
                        if isinstance(g, ast.Govern):
                            self.govern_users.add(md.source.name)
        modules: dict[str, ir.Module] = {}
        for name in self.module_order():
            md = self.mods[name]
            if md.source.abstract:
                continue
            modules[name] = self.module(md)
        for mod, imp in [(m, i) for m, md in self.mods.items() if not md.source.abstract for i in md.imports]:
            if (mod, imp) not in self.used_imports and imp in self.mods and not self.asts[imp].abstract:
                self.error(
                    "W001",
                    f"module `{mod}` imports `{imp}` but never uses it",
                    self.mods[mod].imports[imp].span,
                    "remove the import",
                )
        return ir.Spec(modules, self.sources)

    def module_order(self) -> list[str]:
        """The modules in deployment order: those imported first, where there are no cycles."""
        order: list[str] = []
        visiting: set[str] = set()

        def visit(n: str) -> None:
            if n in order or n in visiting or n not in self.mods:
                return
            visiting.add(n)
            for dep in sorted(self.mods[n].imports):
                visit(dep)
            visiting.discard(n)
            order.append(n)

        for n in sorted(self.mods):
            visit(n)
        return order

    def fold_consts(self) -> None:
        """Fold every module's constants, reporting those that are not constant."""
        for name in self.module_order():
            md = self.mods[name]
            for d in md.order:
                if not isinstance(d, ast.Const):
                    continue
                sc = _Scope(name, "const")
                try:
                    typ = self.resolve_type(d.type, name)
                    value = self.expr(d.value, sc, typ)
                    self.const_values[(name, d.name)] = self.fold(value)
                    self.const_types[(name, d.name)] = typ
                except _Abort:
                    continue
                except NotConstant as exc:
                    self.error("E047", f"`{d.name}` is not a constant expression ({exc})", d.value.span)
                except ConstantFault as exc:
                    self.error("E047", f"evaluating `{d.name}` fails: {exc}", d.value.span)

    def module(self, md: _ModuleDecls) -> ir.Module:
        """Check one module's declarations; return its IR."""
        name = md.source.name
        consts: dict[str, ir.Const] = {}
        params: dict[str, ir.Param] = {}
        governed: dict[str, ir.Governed] = {}
        state: dict[str, ir.StateVar] = {}
        records: dict[str, ir.RecordDecl] = {}
        events: dict[str, ir.EventDecl] = {}
        phases: dict[str, ir.PhasesDecl] = {}
        decays: dict[str, ir.DecayDecl] = {}
        rules: list[ir.Rule] = []
        fns: dict[str, ir.Fn] = {}
        actions: dict[str, ir.Action] = {}
        init: tuple[ir.Stmt, ...] = ()
        cover_decls: list[ast.Cover] = []
        for d in md.order:
            try:
                if isinstance(d, ast.Const) and (name, d.name) in self.const_values:
                    sc = _Scope(name, "const")
                    typ = self.const_types[(name, d.name)]
                    consts[d.name] = ir.Const(
                        d.name, typ, self.expr(d.value, sc, typ), self.const_values[(name, d.name)], d.span, d.doc
                    )
                elif isinstance(d, ast.Param):
                    typ = self.resolve_type(d.type, name)
                    self._storable(typ, d.type.span)
                    default = self.expr(d.default, _Scope(name, "const"), typ) if d.default else None
                    params[d.name] = ir.Param(d.name, typ, default, d.span, d.doc)
                elif isinstance(d, ast.Governed):
                    governed[d.name] = self.governed(name, d)
                elif isinstance(d, ast.State):
                    typ = self.resolve_type(d.type, name)
                    if isinstance(typ, ir.ListT) or typ == ir.SIGNATURE:
                        raise self.fail(
                            "E020",
                            f"state cannot have type {typ}",
                            d.type.span,
                            "lists are constants; use a map for a growing collection",
                        )
                    init_e = self.expr(d.init, _Scope(name, "const"), typ) if d.init else None
                    state[d.name] = ir.StateVar(d.name, typ, init_e, d.span, d.doc)
                elif isinstance(d, ast.Record | ast.Request):
                    rt = ir.RecordT(name, d.name)
                    fields = self.record_fields(rt)
                    nonce_map = None
                    if isinstance(d, ast.Request):
                        nonce_map = d.nonce_map
                        self.request_shape(md, d, dict(fields))
                    records[d.name] = ir.RecordDecl(d.name, fields, d.span, d.doc, nonce_map)
                elif isinstance(d, ast.Event):
                    fields = tuple((f.name, self.safe_type(f.type, name)) for f in d.fields)
                    events[d.name] = ir.EventDecl(d.name, fields, d.span, d.doc)
                elif isinstance(d, ast.Phases):
                    phases[d.name] = self.phases(md, d)
                elif isinstance(d, ast.Decay):
                    decays[d.name] = self.decay(name, d)
                elif isinstance(d, ast.Init):
                    sc = _Scope(name, "init")
                    init = self.block(d.body, sc)
                elif isinstance(d, ast.Rule):
                    rules.append(self.rule(name, d))
                elif isinstance(d, ast.Cover):
                    cover_decls.append(d)
                elif isinstance(d, ast.Fn):
                    fns[d.name] = self.fn(name, d)
                elif isinstance(d, ast.Action):
                    actions[d.name] = self.action(md, d)
                elif isinstance(d, ast.GovernHook):
                    self.govern_hook(md, d)
            except _Abort:
                continue
        covers = []
        for cd in cover_decls:
            with contextlib.suppress(_Abort):
                covers.append(self.cover(name, cd, actions))
        self.check_field_names(md)
        imports = tuple(sorted(md.imports))
        return ir.Module(
            name,
            md.source.file,
            md.source.doc,
            imports,
            consts,
            params,
            governed,
            state,
            records,
            events,
            phases,
            decays,
            init,
            tuple(rules),
            fns,
            actions,
            md.source.span,
            md.chain,
            tuple(covers),
        )

    def check_field_names(self, md: _ModuleDecls) -> None:
        """Report field names used twice in a module's records, events and requests."""
        for d in md.order:
            fields: list[ast.FieldDecl] = []
            if isinstance(d, ast.Record | ast.Event | ast.Request | ast.Fn | ast.Action):
                fields = d.fields if isinstance(d, ast.Record | ast.Event | ast.Request) else d.params
            seen: set[str] = set()
            for f in fields:
                if f.name in seen:
                    self.error("E011", f"`{f.name}` appears twice in `{d.name}`", f.span)
                seen.add(f.name)

    def _storable(self, typ: ir.Type, span: Span) -> None:
        if isinstance(typ, ir.MapT | ir.ListT) or typ == ir.SIGNATURE:
            raise self.fail("E020", f"a parameter cannot have type {typ}", span)

    def governed(self, module: str, d: ast.Governed) -> ir.Governed:
        """Check a governed parameter (its timelock, its governor)."""
        typ = self.resolve_type(d.type, module)
        if typ not in (ir.UINT, ir.ADDRESS):
            raise self.fail("E020", "governed parameters are uint256 or address", d.type.span)
        if typ == ir.ADDRESS:
            if d.default is not None:
                raise self.fail("E045", f"`{d.name}` is an address: it takes no default and no bounds", d.default.span,
                                f"write `governed {d.name}: address via {d.via}` (any address but zero; "
                                "its first value is a deployment argument)")
            low: ir.Expr = ir.Lit(ir.UINT, d.span, 1)
            high: ir.Expr = ir.Lit(ir.UINT, d.span, 2**160 - 1)
            self.check_via(d)
            return ir.Governed(d.name, typ, None, low, high, d.via, f"{module}.{d.name}", d.span, d.doc)
        if d.default is None or d.low is None or d.high is None:
            raise self.fail("E045", f"`{d.name}` is a uint256: it needs a default and bounds", d.span,
                            f"write `governed {d.name}: uint256 = default in [low, high] via {d.via}`")
        sc = _Scope(module, "const")
        default = self.expr(d.default, sc, ir.UINT)
        low = self.expr(d.low, sc, ir.UINT)
        high = self.expr(d.high, sc, ir.UINT)
        vals = [self.try_fold(x) for x in (default, low, high)]
        if any(v is None for v in vals):
            self.error("E045", f"the default and bounds of `{d.name}` must be constants", d.span)
        else:
            dv, lo, hi = (int(v) for v in vals)  # type: ignore[arg-type]
            if lo > hi:
                self.error("E045", f"the bounds of `{d.name}` are empty: {lo} > {hi}", d.low.span)
            elif not lo <= dv <= hi:
                self.error("E045", f"the default of `{d.name}` ({dv}) lies outside [{lo}, {hi}]", d.default.span)
        self.check_via(d)
        return ir.Governed(d.name, typ, default, low, high, d.via, f"{module}.{d.name}", d.span, d.doc)

    def check_via(self, d: ast.Governed) -> None:
        """Check that a governed parameter's `via` names a deployable timelock that governs."""
        if d.via not in self.mods:
            self.error(
                "E048", f"`via` names no deployable module `{d.via}`", d.via_span, did_you_mean(d.via, self.mods)
            )
        elif self.asts[d.via].abstract:
            self.error("E048", f"`via` names `{d.via}`, which is abstract: a timelock must be deployed", d.via_span,
                       f"extend it: `module {d.via}_impl extends {d.via}`, and name that")
        elif d.via not in self.govern_users:
            self.error(
                "E048",
                f"module `{d.via}` never uses `govern`, so `{d.name}` could never change",
                d.via_span,
                "the timelock's execute action must `govern target, key, value`",
            )

    def govern_hook(self, md: _ModuleDecls, d: ast.GovernHook) -> None:
        """Check ``after govern m.p: a()``: ``m`` is this module or one it
        imports, ``p`` a governed parameter of ``m``, and ``a`` an internal
        action of this module without arguments."""
        name = md.source.name
        if d.module != name:
            if d.module not in md.imports:
                raise self.fail("E052", f"`after govern` names `{d.module}`, which `{name}` does not import",
                                d.target_span, f"add `import {d.module}`")
            self.used_imports.add((name, d.module))
        target = self.mods.get(d.module)
        gd = target.decls.get(d.param) if target is not None else None
        if not isinstance(gd, ast.Governed):
            governed = [k for k, v in target.decls.items() if isinstance(v, ast.Governed)] if target else []
            raise self.fail("E052", f"`{d.module}.{d.param}` is no governed parameter", d.target_span,
                            did_you_mean(d.param, governed))
        act = md.decls.get(d.action)
        if not (isinstance(act, ast.Action) and act.internal and not act.params):
            internal = [k for k, v in md.decls.items() if isinstance(v, ast.Action) and v.internal]
            raise self.fail("E052", f"`{d.action}` is no internal action of `{name}` without arguments",
                            d.action_span, did_you_mean(d.action, internal))

    def request_shape(self, md: _ModuleDecls, d: ast.Request, fields: dict[str, ir.Type]) -> None:
        """Check that a signed request type has the fields a signature needs (nonce, deadline...)."""
        for need in ("nonce", "expiry"):
            if fields.get(need) != ir.UINT:
                self.error("E043", f"request `{d.name}` needs a field `{need}: uint256`", d.span)
        nm = md.decls.get(d.nonce_map)
        ok = isinstance(nm, ast.State) and self.safe_type(nm.type, md.source.name) == ir.MapT(ir.ADDRESS, ir.UINT)
        if not ok:
            self.error(
                "E043",
                f"the nonce map `{d.nonce_map}` must be a state `map[address, uint256]` of this module",
                d.nonce_map_span,
                did_you_mean(d.nonce_map, [k for k, v in md.decls.items() if isinstance(v, ast.State)]),
            )

    def phases(self, md: _ModuleDecls, d: ast.Phases) -> ir.PhasesDecl:
        """Check a phase declaration: its thresholds and their order."""
        name = md.source.name
        sc = _Scope(name, "const")
        seen: set[str] = set()
        for b in d.bands:
            if b.name in seen or b.name in md.decls:
                self.error("E011", f"phase band `{b.name}` is declared twice", b.span)
            seen.add(b.name)
        thresholds = []
        for b in d.bands:
            if b.below is not None:
                thresholds.append(self.expr(b.below, sc, ir.UINT))
        self.phase_order(md, d, thresholds)
        return ir.PhasesDecl(d.name, tuple(b.name for b in d.bands), tuple(thresholds), d.span, d.doc)

    def phase_order(self, md: _ModuleDecls, d: ast.Phases, thresholds: list[ir.Expr]) -> None:
        """Report phase thresholds that are not increasing under the parameters' defaults and init facts."""
        facts = self.init_order_facts(md)
        defaults = self.param_defaults(md)
        for i in range(len(thresholds) - 1):
            lo, hi = thresholds[i], thresholds[i + 1]
            lo_key, hi_key = _term_key(lo), _term_key(hi)
            lo_v, hi_v = self._value_or_default(lo, defaults), self._value_or_default(hi, defaults)
            band_lo, band_hi = d.bands[i], d.bands[i + 1]
            if lo_v is not None and hi_v is not None and not lo_v < hi_v:
                self.error(
                    "E040",
                    f"`{band_lo.name}` ends at {lo_v} but `{band_hi.name}` ends at {hi_v}: "
                    "thresholds must strictly ascend",
                    band_hi.span,
                )
                continue
            if self.try_fold(lo) is not None and self.try_fold(hi) is not None:
                continue
            if lo_key is None or hi_key is None or not _proves_less(facts, lo_key, hi_key):
                shown_lo = lo_key or "the lower threshold"
                shown_hi = hi_key or "the upper threshold"
                self.error(
                    "E040",
                    f"nothing guarantees `{shown_lo}` < `{shown_hi}` "
                    f"for the bands `{band_lo.name}` and `{band_hi.name}`",
                    band_hi.span,
                    f'add `require {shown_lo} < {shown_hi}, "BAD_PHASE_ORDER"` to init, or reorder the bands',
                )

    def param_defaults(self, md: _ModuleDecls) -> dict[str, int]:
        """The default value of each parameter that has one."""
        out: dict[str, int] = {}
        for d in md.order:
            if isinstance(d, ast.Param) and d.default is not None:
                try:
                    v = self.try_fold(self.expr(d.default, _Scope(md.source.name, "const")))
                except _Abort:
                    v = None
                if isinstance(v, int) and not isinstance(v, bool):
                    out[d.name] = v
        return out

    def _value_or_default(self, e: ir.Expr, defaults: dict[str, int]) -> int | None:
        v = self.try_fold(e)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
        if isinstance(e, ir.Ref) and e.kind == "param":
            return defaults.get(e.name)
        return None

    def init_order_facts(self, md: _ModuleDecls) -> set[tuple[str, str, bool]]:
        """(a, b, strict) facts `a < b` / `a <= b` stated by init's requires."""
        facts: set[tuple[str, str, bool]] = set()
        init = md.decls.get("init")
        if not isinstance(init, ast.Init):
            return facts
        for s in init.body:
            if isinstance(s, ast.Require):
                for c in _conjuncts(s.cond):
                    if isinstance(c, ast.BinOp) and c.op in ORDER_OPS:
                        a, b = _ast_key(c.left), _ast_key(c.right)
                        if a is None or b is None:
                            continue
                        if c.op in (">", ">="):
                            a, b = b, a
                        facts.add((a, b, c.op in ("<", ">")))
        return facts

    def decay(self, module: str, d: ast.Decay) -> ir.DecayDecl:
        """Check a decay schedule."""
        sc = _Scope(module, "const")
        levels = self.expr(d.levels, sc, ir.ListT(ir.UINT))
        periods = self.expr(d.periods, sc, ir.ListT(ir.UINT))
        lv, pv = self.try_fold(levels), self.try_fold(periods)
        if not isinstance(lv, tuple) or not isinstance(pv, tuple):
            raise self.fail("E044", f"the levels and periods of `{d.name}` must be constant lists", d.span)
        if len(lv) != len(pv) or not lv:
            raise self.fail(
                "E044",
                f"`{d.name}` has {len(lv)} level(s) but {len(pv)} period(s)",
                d.span,
                "give one decay period per level",
            )
        if any(b <= a for a, b in itertools.pairwise(lv)):
            raise self.fail("E044", f"the levels of `{d.name}` must strictly ascend", d.levels.span)
        return ir.DecayDecl(d.name, levels, periods, lv, pv, d.span, d.doc)

    def rule(self, module: str, d: ast.Rule) -> ir.Rule:
        """Check an invariant, lemma or theorem; return its IR."""
        sc = _Scope(module, "theorem" if d.kind == "theorem" else "rule")
        expr = self.expr(d.expr, sc, ir.BOOL)
        reads_state = any(isinstance(self.mods[m].decls.get(n), ast.State | ast.Governed) for m, n in sc.reads)
        if d.kind != "theorem" and not reads_state:
            raise self.fail(
                "E041",
                f"{d.kind} `{d.name}` names no state",
                d.span,
                "a property of constants and functions is a `theorem`",
            )
        if d.kind == "theorem" and sc.uses_old:
            raise self.fail("E046", "a theorem cannot use `old`", d.span)
        return ir.Rule(d.name, d.kind, expr, sc.uses_old, frozenset(sc.reads), d.span, d.doc)  # type: ignore[arg-type]

    def cover(self, module: str, d: ast.Cover, actions: dict[str, ir.Action]) -> ir.Cover:
        """Check a cover: a state predicate, or ``succeeds`` a public action of
        this module ``where`` a predicate over its arguments and the state."""
        params: dict[str, ir.Type] = {}
        if d.action is not None:
            act = actions.get(d.action)
            if act is None or act.internal:
                from spec.diagnostics import did_you_mean

                public = [a.name for a in actions.values() if not a.internal]
                hint = did_you_mean(d.action, public) or "a cover names a public action of its own module"
                what = "an internal action" if act is not None else "no action"
                raise self.fail("E049", f"`succeeds {d.action}`: `{d.action}` is {what} of `{module}`",
                                d.action_span or d.span, hint)
            params = dict(act.params)
        expr = None
        sc = _Scope(module, "ensures", locals=[params])
        if d.expr is not None:
            expr = self.expr(d.expr, sc, ir.BOOL)
            if sc.uses_old:
                raise self.fail("E049", f"cover `{d.name}` uses `old`", d.expr.span,
                                "a cover speaks of one state (before the call, for `succeeds`)")
        return ir.Cover(d.name, d.action, expr, frozenset(sc.reads), d.span, d.doc)

    def fn(self, module: str, d: ast.Fn) -> ir.Fn:
        """Check a function; return its IR."""
        sc = _Scope(module, "fn")
        params = self.params(d.params, module, sc)
        sc.returns = self.resolve_type(d.returns, module)
        body = self.block(d.body, sc)
        if not _always_returns(d.body):
            self.error("E025", f"function `{d.name}` can end without returning a value", d.span)
        return ir.Fn(d.name, tuple(params), sc.returns, body, d.span, d.doc)

    def params(self, fields: list[ast.FieldDecl], module: str, sc: _Scope) -> list[tuple[str, ir.Type]]:
        """Check a parameter list; declare each as a local."""
        out = []
        for f in fields:
            t = self.safe_type(f.type, module)
            if isinstance(t, ir.MapT | ir.ListT):
                self.error("E020", f"an argument cannot have type {t}", f.type.span)
            if f.name not in sc.locals[0]:
                with contextlib.suppress(_Abort):
                    self.declare_local(f.name, t, f.span, sc)
            out.append((f.name, t))
        return out

    def action(self, md: _ModuleDecls, d: ast.Action) -> ir.Action:
        """Check an action: its clauses (``when``, ``signed``, ``ensures``), its body, and whether it can ever
        succeed.
        """
        module = md.source.name
        sc = _Scope(module, "action")
        params = self.params(d.params, module, sc)
        sc.returns = self.resolve_type(d.returns, module) if d.returns else ir.NONE
        prelude: list[ir.Stmt] = []
        caller = ir.Ref(ir.ADDRESS, d.span, "env", module, "caller")
        for by in d.by:
            try:
                who = self.expr(by.who, sc, ir.ADDRESS)
                prelude.append(ir.Require(by.span, ir.Bin(ir.BOOL, by.span, "==", caller, who), "UNAUTHORIZED", "by"))
            except _Abort:
                pass
        gate: tuple[str, tuple[str, ...]] | None = None
        for w in d.when:
            try:
                req, gate = self.when(md, w, sc)
                prelude.append(req)
            except _Abort:
                pass
        signed_request = None
        for sg in d.signed:
            try:
                stmts, signed_request = self.signed(md, sg, sc)
                prelude.extend(stmts)
            except _Abort:
                pass
        body = self.block(d.body, sc)
        if sc.returns != ir.NONE and not _always_returns(d.body):
            self.error("E025", f"action `{d.name}` declares a result but can end without `return`", d.span)
        ens_sc = _Scope(module, "ensures", locals=[dict(sc.locals[0])])
        ensures = []
        for en in d.ensures:
            with contextlib.suppress(_Abort):
                ensures.append(self.expr(en, ens_sc, ir.BOOL))
        full = (*prelude, *body)
        reasons = tuple(sorted({s.reason for s in ir.walk(full) if isinstance(s, ir.Require)}))
        self.never_succeeds(d, full)
        return ir.Action(
            d.name,
            tuple(params),
            sc.returns,
            d.internal,
            full,
            tuple(ensures),
            reasons,
            gate,
            signed_request,
            d.span,
            d.doc,
        )

    def when(self, md: _ModuleDecls, w: ast.WhenClause, sc: _Scope) -> tuple[ir.Require, tuple[str, tuple[str, ...]]]:
        """Check a ``when`` clause (a phase gate); return the requirement it lowers to and the gate."""
        owner = md.source.name
        pd = md.decls.get(w.phases)
        if not isinstance(pd, ast.Phases):
            found = [
                m for m in md.imports if isinstance(self.mods.get(m) and self.mods[m].decls.get(w.phases), ast.Phases)
            ]
            if not found:
                raise self.fail("E010", f"unknown phase set `{w.phases}`", w.span)
            owner = found[0]
            self.used_imports.add((md.source.name, owner))
            pd = self.mods[owner].decls[w.phases]
            assert isinstance(pd, ast.Phases)
        price = self.expr(w.price, sc, ir.UINT)
        phase = ir.PhaseOf(ir.EnumT(owner, pd.name), w.span, owner, pd.name, price)
        bands = [b.name for b in pd.bands]
        cond: ir.Expr | None = None
        for band, bspan in w.allowed:
            if band not in bands:
                raise self.fail("E013", f"phase set `{pd.name}` has no band `{band}`", bspan, did_you_mean(band, bands))
            test = ir.Bin(
                ir.BOOL,
                bspan,
                "==",
                phase,
                ir.Ref(ir.EnumT(owner, pd.name), bspan, "enum", owner, band, bands.index(band)),
            )
            cond = test if cond is None else ir.Bin(ir.BOOL, w.span, "or", cond, test)
        assert cond is not None
        return ir.Require(w.span, cond, "WRONG_PHASE", "when"), (pd.name, tuple(b for b, _ in w.allowed))

    def signed(self, md: _ModuleDecls, sg: ast.SignedClause, sc: _Scope) -> tuple[list[ir.Stmt], str]:
        """Check a ``signed`` clause; return the statements it lowers to (signature and nonce checks) and the signer."""
        module = md.source.name
        rt = sc.lookup_local(sg.request_arg)
        if not isinstance(rt, ir.RecordT) or not isinstance(self.mods[rt.module].decls.get(rt.name), ast.Request):
            raise self.fail("E043", f"`{sg.request_arg}` must be an argument whose type is a `request`", sg.span)
        if sc.lookup_local(sg.signature_arg) != ir.SIGNATURE:
            raise self.fail("E043", f"`{sg.signature_arg}` must be an argument of type signature", sg.span)
        rd = self.mods[rt.module].decls[rt.name]
        assert isinstance(rd, ast.Request)
        if rt.module != module:
            raise self.fail("E043", "a signed request must be declared in the module that accepts it", sg.span)
        owner = self.expr(sg.owner, sc, ir.ADDRESS)
        req = ir.Ref(rt, sg.span, "local", module, sg.request_arg)
        sig = ir.Ref(ir.SIGNATURE, sg.span, "local", module, sg.signature_arg)
        now = ir.Ref(ir.UINT, sg.span, "env", module, "now")
        nonce_map = ir.Ref(ir.MapT(ir.ADDRESS, ir.UINT), sg.span, "state", module, rd.nonce_map)
        slot = ir.Index(ir.UINT, sg.span, nonce_map, owner)
        sp = sg.span
        stmts: list[ir.Stmt] = [
            ir.Require(
                sp,
                ir.Bin(ir.BOOL, sp, "<=", now, ir.Field(ir.UINT, sp, req, "expiry")),
                "REQUEST_EXPIRED",
                "signed-expiry",
            ),
            ir.Require(
                sp,
                ir.Bin(ir.BOOL, sp, "==", ir.Field(ir.UINT, sp, req, "nonce"), slot),
                "INVALID_NONCE",
                "signed-nonce",
            ),
            ir.Require(
                sp, ir.SignedBy(ir.BOOL, sp, sig, owner, req, rt.name, module), "INVALID_SIGNATURE", "signed-sig"
            ),
            ir.Assign(sp, slot, ir.Bin(ir.UINT, sp, "+", slot, ir.Lit(ir.UINT, sp, 1))),
        ]
        return stmts, rt.name

    def never_succeeds(self, d: ast.Action, body: tuple[ir.Stmt, ...]) -> None:
        """E042: top-level requires that contradict each other on constants."""
        lows: dict[str, int] = {}
        highs: dict[str, int] = {}
        for s in body:
            if not isinstance(s, ir.Require):
                if isinstance(s, ir.If | ir.For | ir.Assign | ir.CallStmt | ir.Govern):
                    break
                continue
            for c in _ir_conjuncts(s.cond):
                v = self.try_fold(c)
                if v is False:
                    self.error(
                        "E042",
                        f"action `{d.name}` can never succeed: this requirement is always false",
                        s.span,
                        "remove it or fix the constant",
                    )
                    return
                if not (isinstance(c, ir.Bin) and c.op in ORDER_OPS | {"=="}):
                    continue
                for var, const, op in _var_const(c, self.try_fold):
                    if op in (">", ">=", "=="):
                        lo = const + (1 if op == ">" else 0)
                        lows[var] = max(lows.get(var, 0), lo)
                    if op in ("<", "<=", "=="):
                        hi = -1 if op == "<" and const == 0 else const - (1 if op == "<" else 0)
                        highs[var] = min(highs.get(var, 2**256 - 1), hi)
                    if lows.get(var, 0) > highs.get(var, 2**256 - 1):
                        self.error(
                            "E042",
                            f"action `{d.name}` can never succeed: its requires leave no value for `{var}`",
                            s.span,
                            "one of the bounds on it is wrong",
                        )
                        return

    def cross_module_checks(self, modules: dict[str, ir.Module]) -> None:
        """Checks that need every module's IR (none yet: a hook for them)."""
        for _m in modules.values():
            pass



def check_modules(modules: list[ast.Module], sources: dict[str, str]) -> tuple[ir.Spec, list[Diagnostic]]:
    """Check parsed modules together; return the IR and every diagnostic.

    The IR is only meaningful when no diagnostic is an error.
    """
    checker = Checker(modules, sources)
    spec = checker.check()
    return spec, checker.diags
