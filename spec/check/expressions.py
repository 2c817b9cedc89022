"""Types, constants, expressions and calls: AST expressions to typed IR."""

from __future__ import annotations

from collections.abc import Sequence

from spec import ast, ir
from spec.check.base import (
    ARITH_OPS,
    EQ_OPS,
    LOGIC_OPS,
    ORDER_OPS,
    PRIMS,
    _Abort,
    _kind_of,
    _Scope,
    _value_hint,
)
from spec.check.templates import TemplateChecker
from spec.consts import BUILTIN_CONSTANTS, ConstantFault, NotConstant, Value, fold
from spec.diagnostics import Span, did_you_mean


class ExpressionChecker(TemplateChecker):
    """Types, constants, expressions and calls: AST expressions to typed IR."""

    # ------------------------------------------------------------- types
    def resolve_type(self, t: ast.TypeExpr, module: str) -> ir.Type:
        """The IR type of a type expression, in ``module``.

        Raises:
            _Abort: after reporting an unknown or misused type.
        """
        if isinstance(t, ast.PrimType):
            return PRIMS[t.name]
        if isinstance(t, ast.MapType):
            key = self.resolve_type(t.key, module)
            if not isinstance(key, ir.Prim) or key in (ir.SIGNATURE,):
                raise self.fail("E020", f"map keys must be uint256, address, bytes32 or bool, not {key}", t.key.span)
            return ir.MapT(key, self.resolve_type(t.value, module))
        if isinstance(t, ast.ListType):
            return ir.ListT(self.resolve_type(t.element, module))
        assert isinstance(t, ast.NamedType)
        md = self.mods[module]
        d = md.decls.get(t.name)
        if isinstance(d, ast.Record | ast.Request):
            return ir.RecordT(module, t.name)
        if isinstance(d, ast.Phases):
            return ir.EnumT(module, t.name)
        for other in md.imports:
            od = self.mods.get(other)
            if od and isinstance(od.decls.get(t.name), ast.Record | ast.Request):
                self.used_imports.add((module, other))
                return ir.RecordT(other, t.name)
        names = list(PRIMS) + [n for n, x in md.decls.items() if isinstance(x, ast.Record | ast.Request | ast.Phases)]
        raise self.fail("E010", f"unknown type `{t.name}`", t.span, did_you_mean(t.name, names))

    def safe_type(self, t: ast.TypeExpr, module: str) -> ir.Type:
        """Resolve a type, reporting a problem once; ERROR stands in after that."""
        key = (id(t), module)
        if key in self._type_cache:
            return self._type_cache[key]
        try:
            typ = self.resolve_type(t, module)
        except _Abort:
            typ = ir.ERROR
        self._type_cache[key] = typ
        return typ

    def record_fields(self, rt: ir.RecordT) -> tuple[tuple[str, ir.Type], ...]:
        """The fields of a record type, in order."""
        d = self.mods[rt.module].decls[rt.name]
        assert isinstance(d, ast.Record | ast.Request)
        return tuple((f.name, self.safe_type(f.type, rt.module)) for f in d.fields)

    # ------------------------------------------------------- constants
    def const_lookup(self, ref: ir.Ref) -> Value:
        """The value of a constant a reference names (for folding).

        Raises:
            NotConstant: the reference is not to a constant.
        """
        if ref.kind == "const":
            key = (ref.module, ref.name)
            if key in self.const_values:
                return self.const_values[key]
            if ref.module == "" and ref.name in BUILTIN_CONSTANTS:
                return BUILTIN_CONSTANTS[ref.name][1]
        if ref.kind == "enum":
            return ref.index
        raise NotConstant(ref.name)

    def fold(self, e: ir.Expr) -> Value:
        """The constant value of an expression.

        Raises:
            NotConstant, ConstantFault: it is not constant, or folding it fails.
        """
        return fold(e, self.const_lookup)

    def try_fold(self, e: ir.Expr) -> Value | None:
        """The constant value of an expression, or None when it is not constant."""
        try:
            return self.fold(e)
        except (NotConstant, ConstantFault):
            return None

    # ------------------------------------------------------ expressions
    def expr(self, e: ast.Expr, sc: _Scope, want: ir.Type | None = None, allow_action: bool = False) -> ir.Expr:
        """Check an expression; return its typed IR (coerced to ``want`` when given).

        Raises:
            _Abort: after reporting the problem.
        """
        out = self._expr(e, sc, allow_action)
        if out.type == ir.ERROR or want == ir.ERROR:
            raise _Abort()  # already reported where the type or the local was defined
        if (
            want in (ir.ADDRESS, ir.BYTES32)
            and isinstance(out, ir.Lit)
            and out.type == ir.UINT
            and isinstance(e, ast.IntLit)
        ):
            # a number literal may stand for an address or a bytes32 where one is expected
            if want == ir.ADDRESS and out.value >= 2**160:  # type: ignore[operator]
                raise self.fail("E020", "the literal is too large for an address (160 bits)", e.span)
            return ir.Lit(want, out.span, out.value)
        if want is not None and want != out.type:
            raise self.fail("E020", f"expected {want}, found {out.type}", e.span)
        return out

    def _expr(self, e: ast.Expr, sc: _Scope, allow_action: bool) -> ir.Expr:
        if isinstance(e, ast.IntLit):
            if e.value > 2**256 - 1:
                raise self.fail("E047", "the literal does not fit in uint256", e.span)
            return ir.Lit(ir.UINT, e.span, e.value)
        if isinstance(e, ast.BoolLit):
            return ir.Lit(ir.BOOL, e.span, e.value)
        if isinstance(e, ast.StrLit):
            raise self.fail("E020", "a string may only be a revert reason", e.span)
        if isinstance(e, ast.Name):
            return self.name(e, sc)
        if isinstance(e, ast.Member):
            return self.member(e, sc)
        if isinstance(e, ast.Index):
            base = self.expr(e.base, sc)
            if isinstance(base.type, ir.MapT):
                key = self.expr(e.key, sc, base.type.key)
                return ir.Index(base.type.value, e.span, base, key)
            if isinstance(base.type, ir.ListT):
                key = self.expr(e.key, sc, ir.UINT)
                return ir.Index(base.type.element, e.span, base, key)
            raise self.fail("E029", f"a value of type {base.type} cannot be indexed", e.base.span)
        if isinstance(e, ast.Call):
            return self.call(e, sc, allow_action)
        if isinstance(e, ast.BinOp):
            return self.binop(e, sc)
        if isinstance(e, ast.Not):
            return ir.Not(ir.BOOL, e.span, self.expr(e.operand, sc, ir.BOOL))
        if isinstance(e, ast.Cond):
            test = self.expr(e.test, sc, ir.BOOL)
            then = self.expr(e.then, sc)
            orelse = self.expr(e.orelse, sc, then.type)
            return ir.Cond(then.type, e.span, test, then, orelse)
        if isinstance(e, ast.Forall):
            if sc.context not in ("rule", "theorem", "ensures"):
                raise self.fail("E027", "`forall` is allowed only in rules and `ensures`", e.span)
            frame: dict[str, ir.Type] = {}
            vars_: list[tuple[str, ir.Type]] = []
            for b in e.binders:
                t = self.resolve_type(b.type, sc.module)
                if not isinstance(t, ir.Prim) or t in (ir.SIGNATURE, ir.NONE):
                    raise self.fail("E020", f"`forall` ranges over uint256, address, bytes32 or bool, not {t}", b.span)
                if b.name in frame or sc.lookup_local(b.name) is not None:
                    raise self.fail("E011", f"`{b.name}` is already bound", b.span)
                frame[b.name] = t
                vars_.append((b.name, t))
            sc.locals.append(frame)
            try:
                body = self.expr(e.body, sc, ir.BOOL)
            finally:
                sc.locals.pop()
            return ir.Forall(ir.BOOL, e.span, tuple(vars_), body)
        if isinstance(e, ast.ListLit):
            items = tuple(self.expr(i, sc, ir.UINT) for i in e.items)
            return ir.ListLit(ir.ListT(ir.UINT), e.span, items)
        raise AssertionError(type(e))  # pragma: no cover

    def _visible_names(self, sc: _Scope) -> list[str]:
        md = self.mods[sc.module]
        names = list(sc.all_locals()) + list(md.decls) + list(md.imports) + list(BUILTIN_CONSTANTS)
        if sc.context not in ("rule", "theorem", "const"):
            names += list(ir.ENV_NAMES)
        for d in md.decls.values():
            if isinstance(d, ast.Phases):
                names += [b.name for b in d.bands]
        return names

    def name(self, e: ast.Name, sc: _Scope) -> ir.Expr:
        """Check a bare name: a local, a state variable, a parameter, a constant or a module.

        Raises:
            _Abort: after reporting an unknown name (with a suggestion).
        """
        n = e.id
        t = sc.lookup_local(n)
        if t is not None:
            kind: ir.RefKind = "local"
            if sc.context in ("rule", "theorem", "ensures") and self._is_bound(n, sc):
                kind = "bound"
            return ir.Ref(t, e.span, kind, sc.module, n)
        if n == "self" and sc.context in ("rule", "theorem"):
            # a module's own address is fixed at deployment: rules may name it
            return ir.Ref(ir.ADDRESS, e.span, "module", sc.module, sc.module)
        if n in ir.ENV_NAMES:
            if sc.context in ("rule", "theorem", "const"):
                raise self.fail(
                    "E010",
                    f"`{n}` is not available in a {sc.context}",
                    e.span,
                    "rules relate states; the environment belongs to actions",
                )
            return ir.Ref(ir.ADDRESS if n in ("caller", "self") else ir.UINT, e.span, "env", sc.module, n)
        ref = self.module_member(sc.module, n, e.span, sc)
        if ref is not None:
            return ref
        if n in self.mods and (n == sc.module or n in self.mods[sc.module].imports):
            if n != sc.module:
                self.used_imports.add((sc.module, n))
            return ir.Ref(ir.ADDRESS, e.span, "module", n, n)
        if n in BUILTIN_CONSTANTS:
            typ, _ = BUILTIN_CONSTANTS[n]
            return ir.Ref(typ, e.span, "const", "", n)
        if n in self.mods[sc.module].imports and n not in self.mods:
            raise self.fail("E012", f"module `{n}` is imported but no file defines it", e.span)
        decl = self.mods[sc.module].decls.get(n)
        if decl is not None:
            raise self.fail("E020", f"`{n}` is {_kind_of(decl)}, not a value", e.span, _value_hint(decl, n))
        hint = did_you_mean(n, [x for x in self._visible_names(sc) if x != n])
        if n in self.mods and n not in self.mods[sc.module].imports:
            raise self.fail("E015", f"module `{n}` is used but not imported", e.span, f"add `import {n}`")
        raise self.instance_gap(n, sc.module, e.span) or self.fail("E010", f"unknown name `{n}`", e.span, hint)

    def _is_bound(self, n: str, sc: _Scope) -> bool:
        # forall binders live in frames pushed after the first one
        return any(n in f for f in sc.locals[1:])

    def module_member(self, module: str, n: str, span: Span, sc: _Scope) -> ir.Expr | None:
        """A value member of ``module`` named ``n``, or None if there is none."""
        md = self.mods[module]
        d = md.decls.get(n)
        if isinstance(d, ast.Const):
            key = (module, n)
            typ = self.const_types.get(key)
            if typ is None:
                raise self.fail(
                    "E047",
                    f"constant `{n}` is used before it has a value",
                    span,
                    "declare constants before the constants that use them",
                )
            return ir.Ref(typ, span, "const", module, n)
        if isinstance(d, ast.Param):
            if sc.context in ("theorem",):
                raise self.fail("E046", "a theorem cannot read parameters", span)
            sc.reads.add((module, n))
            return ir.Ref(self.safe_type(d.type, module), span, "param", module, n)
        if isinstance(d, ast.Governed):
            if sc.context in ("theorem",):
                raise self.fail("E046", "a theorem cannot read parameters", span)
            sc.reads.add((module, n))
            return ir.Ref(self.safe_type(d.type, module), span, "governed", module, n)
        if isinstance(d, ast.State):
            if sc.context == "theorem":
                raise self.fail("E046", f"a theorem cannot read state (`{n}`)", span, "state properties are invariants")
            if sc.context == "const":
                raise self.fail("E047", f"a constant cannot read state (`{n}`)", span)
            sc.reads.add((module, n))
            return ir.Ref(self.safe_type(d.type, module), span, "state", module, n)
        for pd in md.decls.values():
            if isinstance(pd, ast.Phases):
                for i, b in enumerate(pd.bands):
                    if b.name == n:
                        return ir.Ref(ir.EnumT(module, pd.name), span, "enum", module, n, i)
        return None

    def member(self, e: ast.Member, sc: _Scope) -> ir.Expr:
        """Check ``base.name``: a record field or a module's member.

        Raises:
            _Abort: after reporting the problem.
        """
        if (
            isinstance(e.base, ast.Name)
            and sc.lookup_local(e.base.id) is None
            and self._module_name(e.base.id, sc, e.base.span)
        ):
            mod = e.base.id
            if mod != sc.module:
                self.used_imports.add((sc.module, mod))
            ref = self.module_member(mod, e.name, e.span, sc)
            if ref is not None:
                return ref
            decl = self.mods[mod].decls.get(e.name)
            if decl is not None:
                raise self.fail("E020", f"`{mod}.{e.name}` is {_kind_of(decl)}, not a value", e.span,
                                _value_hint(decl, f"{mod}.{e.name}"))
            raise self.fail(
                "E013", f"module `{mod}` has no value `{e.name}`", e.span, did_you_mean(e.name, self.mods[mod].decls)
            )
        base = self.expr(e.base, sc)
        if isinstance(base.type, ir.RecordT):
            fields = dict(self.record_fields(base.type))
            if e.name not in fields:
                raise self.fail(
                    "E013", f"record `{base.type.name}` has no field `{e.name}`", e.span, did_you_mean(e.name, fields)
                )
            return ir.Field(fields[e.name], e.span, base, e.name)
        raise self.fail("E013", f"a value of type {base.type} has no member `{e.name}`", e.span)

    def _module_name(self, n: str, sc: _Scope, span: Span) -> bool:
        """Whether ``n`` names a module usable here (own or imported).

        Raises _Abort (E015) when it names a module that is not imported.
        """
        if n not in self.mods:
            return False
        md = self.mods[sc.module]
        if n in md.decls:
            return False
        if n != sc.module and n not in md.imports:
            raise self.fail("E015", f"module `{n}` is used but not imported", span, f"add `import {n}`")
        return True

    def binop(self, e: ast.BinOp, sc: _Scope) -> ir.Expr:
        """Check a binary operation: arithmetic, comparison, equality or logic.

        Raises:
            _Abort: after reporting mismatched operand types.
        """
        op = e.op
        if op in LOGIC_OPS:
            left = self.expr(e.left, sc, ir.BOOL)
            right = self.expr(e.right, sc, ir.BOOL)
            return ir.Bin(ir.BOOL, e.span, op, left, right)
        left = self.expr(e.left, sc)
        right = self.expr(e.right, sc)
        if op in ARITH_OPS:
            for side, val in ((e.left, left), (e.right, right)):
                if val.type != ir.UINT:
                    raise self.fail("E020", f"`{op}` needs uint256 operands, found {val.type}", side.span)
            return ir.Bin(ir.UINT, e.span, op, left, right)
        if op in ORDER_OPS:
            ok = left.type == right.type and (left.type == ir.UINT or isinstance(left.type, ir.EnumT))
            if not ok:
                raise self.fail(
                    "E020", f"`{op}` compares two uint256 or two phases, found {left.type} and {right.type}", e.span
                )
            return ir.Bin(ir.BOOL, e.span, op, left, right)
        if op in EQ_OPS:
            if left.type != right.type:
                raise self.fail(
                    "E020", f"`{op}` compares values of one type, found {left.type} and {right.type}", e.span
                )
            if isinstance(left.type, ir.MapT | ir.ListT | ir.RecordT) or left.type == ir.SIGNATURE:
                raise self.fail("E020", f"values of type {left.type} cannot be compared", e.span)
            return ir.Bin(ir.BOOL, e.span, op, left, right)
        raise AssertionError(op)  # pragma: no cover

    # ------------------------------------------------------------ calls
    def call(self, e: ast.Call, sc: _Scope, allow_action: bool) -> ir.Expr:
        """Check a call: a builtin, ``old``, ``sum``, a function, an action, a record or a decay schedule.

        Raises:
            _Abort: after reporting the problem.
        """
        f = e.func
        if isinstance(f, ast.Name):
            n = f.id
            if sc.lookup_local(n) is None:
                if n == "old":
                    return self.old(e, sc)
                if n == "sum":
                    return self.sum_(e, sc)
                if n in ir.BUILTINS:
                    return self.builtin(e, n, sc)
                return self.callee(sc.module, n, e, sc, allow_action, f.span)
        if isinstance(f, ast.Member) and isinstance(f.base, ast.Name) and sc.lookup_local(f.base.id) is None:
            owner = f.base.id
            md = self.mods[sc.module]
            own = md.decls.get(owner)
            if isinstance(own, ast.Decay):
                return self.decay_call(sc.module, own, f.name, e, sc)
            if self._module_name(owner, sc, f.base.span):
                if owner != sc.module:
                    self.used_imports.add((sc.module, owner))
                return self.callee(owner, f.name, e, sc, allow_action, f.span)
        if isinstance(f, ast.Member) and isinstance(f.base, ast.Member) and isinstance(f.base.base, ast.Name):
            owner = f.base.base.id
            if self._module_name(owner, sc, f.base.span):
                od = self.mods[owner].decls.get(f.base.name)
                if isinstance(od, ast.Decay):
                    self.used_imports.add((sc.module, owner))
                    return self.decay_call(owner, od, f.name, e, sc)
        if (
            isinstance(f, ast.Member)
            and isinstance(f.base, ast.Name)
            and f.base.id in self.mods[sc.module].imports
            and f.base.id not in self.mods
        ):
            raise self.fail("E012", f"module `{f.base.id}` is imported but no file defines it", f.base.span)
        raise self.fail("E022", "this is not something that can be called", f.span)

    def args(self, e: ast.Call, sc: _Scope, params: Sequence[tuple[str, ir.Type]], what: str) -> tuple[ir.Expr, ...]:
        """Check a call's arguments against the parameters.

        Raises:
            _Abort: after reporting a wrong count or type.
        """
        if len(e.args) != len(params):
            raise self.fail("E021", f"{what} takes {len(params)} argument(s), {len(e.args)} given", e.span)
        return tuple(self.expr(a, sc, t) for a, (_, t) in zip(e.args, params, strict=True))

    def callee(self, module: str, n: str, e: ast.Call, sc: _Scope, allow_action: bool, span: Span) -> ir.Expr:
        """Check a call to a function or action of ``module``.

        Raises:
            _Abort: after reporting an unknown callee or one not allowed here.
        """
        md = self.mods[module]
        d = md.decls.get(n)
        if isinstance(d, ast.Fn):
            params = [(p.name, self.safe_type(p.type, module)) for p in d.params]
            args = self.args(e, sc, params, f"function `{n}`")
            return ir.FnCall(self.safe_type(d.returns, module), e.span, module, n, args)
        if isinstance(d, ast.Action):
            if sc.context in ("fn", "rule", "theorem", "ensures", "const"):
                raise self.fail(
                    "E033", f"a {sc.context} cannot call the action `{n}`", e.span, "only actions and init have effects"
                )
            if not allow_action:
                raise self.fail("E035", f"the call to action `{n}` must be a statement or a whole `let` value", e.span)
            if d.internal and module != sc.module:
                raise self.fail("E034", f"`{module}.{n}` is internal to module `{module}`", e.span)
            params = [(p.name, self.safe_type(p.type, module)) for p in d.params]
            args = self.args(e, sc, params, f"action `{n}`")
            ret = self.safe_type(d.returns, module) if d.returns else ir.NONE
            return ir.ActionCall(ret, e.span, module, n, args)
        if isinstance(d, ast.Record | ast.Request):
            rt = ir.RecordT(module, n)
            args = self.args(e, sc, list(self.record_fields(rt)), f"record `{n}`")
            return ir.RecordNew(rt, e.span, module, n, args)
        if isinstance(d, ast.Phases):
            args = self.args(e, sc, [("price", ir.UINT)], f"phases `{n}`")
            return ir.PhaseOf(ir.EnumT(module, n), e.span, module, n, args[0])
        candidates = [
            k for k, v in md.decls.items() if isinstance(v, ast.Fn | ast.Action | ast.Record | ast.Request | ast.Phases)
        ]
        if d is None:
            if module == sc.module:
                gap = self.instance_gap(n, module, span)
                if gap is not None:
                    raise gap
            raise self.fail(
                "E010",
                f"unknown function or action `{n}`" + (f" in module `{module}`" if module != sc.module else ""),
                span,
                did_you_mean(n, candidates + list(ir.BUILTINS)),
            )
        raise self.fail("E022", f"`{n}` is not a function, action, record or phase set", span)

    def builtin(self, e: ast.Call, n: str, sc: _Scope) -> ir.Expr:
        """Check a call to a builtin (``min``, ``mul_div_down``...).

        Raises:
            _Abort: after reporting the problem.
        """
        arity = {"min": 2, "max": 2, "mul_div_down": 3, "mul_div_up": 3, "div_up": 2, "isqrt": 1, "len": 1}
        if n == "hash":
            if not e.args:
                raise self.fail("E021", "`hash` takes at least one argument", e.span)
            args = tuple(self.expr(a, sc) for a in e.args)
            for a, src in zip(args, e.args, strict=True):
                if not isinstance(a.type, ir.Prim) or a.type == ir.SIGNATURE:
                    raise self.fail("E020", f"`hash` takes uint256, address, bytes32 or bool, not {a.type}", src.span)
            return ir.Builtin(ir.BYTES32, e.span, n, args)
        if len(e.args) != arity[n]:
            raise self.fail("E021", f"`{n}` takes {arity[n]} argument(s), {len(e.args)} given", e.span)
        if n == "len":
            arg = self.expr(e.args[0], sc)
            if not isinstance(arg.type, ir.ListT):
                raise self.fail("E020", f"`len` takes a list, not {arg.type}", e.args[0].span)
            return ir.Builtin(ir.UINT, e.span, n, (arg,))
        args = tuple(self.expr(a, sc, ir.UINT) for a in e.args)
        return ir.Builtin(ir.UINT, e.span, n, args)

    def old(self, e: ast.Call, sc: _Scope) -> ir.Expr:
        """Check ``old(e)`` (only in transition rules and ``ensures``).

        Raises:
            _Abort: after reporting a misplaced ``old``.
        """
        if sc.context == "theorem":
            raise self.fail("E046", "a theorem cannot use `old`: it relates no states", e.span,
                            "a property of two states is an invariant")
        if sc.context not in ("rule", "ensures"):
            raise self.fail("E027", "`old` is allowed only in invariants and `ensures`", e.span)
        if len(e.args) != 1:
            raise self.fail("E021", "`old` takes 1 argument", e.span)
        sc.uses_old = True
        inner = self.expr(e.args[0], sc)
        return ir.Old(inner.type, e.span, inner)

    def sum_(self, e: ast.Call, sc: _Scope) -> ir.Expr:
        """Check ``sum(map)``.

        Raises:
            _Abort: after reporting the problem.
        """
        if sc.context not in ("rule", "ensures"):
            raise self.fail("E027", "`sum` is allowed only in rules and `ensures`", e.span)
        if len(e.args) != 1:
            raise self.fail("E021", "`sum` takes 1 argument", e.span)
        m = self.expr(e.args[0], sc)
        if not (
            isinstance(m, ir.Ref)
            and m.kind == "state"
            and isinstance(m.type, ir.MapT)
            and m.type.value == ir.UINT
            and m.type.key == ir.ADDRESS
        ):
            raise self.fail("E020", "`sum` takes a state map from address to uint256", e.args[0].span)
        return ir.Sum(ir.UINT, e.span, m)

    def decay_call(self, module: str, d: ast.Decay, member: str, e: ast.Call, sc: _Scope) -> ir.Expr:
        """Check a call to a decay schedule's member (``level``, ``at``).

        Raises:
            _Abort: after reporting the problem.
        """
        if member == "level_of":
            args = self.args(e, sc, [("amount", ir.UINT)], f"`{d.name}.level_of`")
            return ir.DecayLevelOf(ir.UINT, e.span, module, d.name, args[0])
        if member == "at":
            params = [("level", ir.UINT), ("backed", ir.UINT), ("since", ir.UINT), ("now", ir.UINT)]
            a = self.args(e, sc, params, f"`{d.name}.at`")
            return ir.DecayAt(ir.UINT, e.span, module, d.name, a[0], a[1], a[2], a[3])
        raise self.fail(
            "E013",
            f"decay schedule `{d.name}` has no member `{member}`",
            e.span,
            did_you_mean(member, ["level_of", "at"]),
        )

