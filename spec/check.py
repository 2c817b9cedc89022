"""Stage 2: surface ASTs -> checked IR, collecting every diagnostic.

The checker resolves names, infers and checks types, expands templates, lowers
action clauses, folds constants, and applies the protocol-level checks
(immutability, phase ordering, decay schedules, signed requests, rules that
name no state, actions that can never succeed). It never stops at the first
problem: each declaration is checked on its own and errors are collected.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from spec import ast, ir
from spec.consts import BUILTIN_CONSTANTS, ConstantFault, NotConstant, Value, fold
from spec.diagnostics import Diagnostic, Span, did_you_mean

Context = Literal["action", "init", "fn", "rule", "theorem", "ensures", "const"]

REASON_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
ARITH_OPS = {"+", "-", "*", "/", "%", "**"}
ORDER_OPS = {"<", "<=", ">", ">="}
EQ_OPS = {
    "==",
    "!=",
}
LOGIC_OPS = {"and", "or", "==>"}
PRIMS: dict[str, ir.Type] = {
    "uint256": ir.UINT, "bool": ir.BOOL, "address": ir.ADDRESS,
    "bytes32": ir.BYTES32, "signature": ir.SIGNATURE,
}  # fmt: skip


class _Abort(Exception):
    """Stops checking one expression or statement after a diagnostic."""


@dataclass
class _Scope:
    """What an expression may see and do where it is being checked."""

    module: str
    context: Context
    locals: list[dict[str, ir.Type]] = field(default_factory=lambda: [{}])
    reads: set[tuple[str, str]] = field(default_factory=set)
    uses_old: bool = False
    returns: ir.Type = ir.NONE
    in_old: bool = False

    def lookup_local(self, name: str) -> ir.Type | None:
        for frame in reversed(self.locals):
            if name in frame:
                return frame[name]
        return None

    def all_locals(self) -> set[str]:
        return {n for f in self.locals for n in f}


@dataclass
class _ModuleDecls:
    """Declarations of one module after template expansion, by name."""

    source: ast.Module
    decls: dict[str, ast.Decl]
    order: list[ast.Decl]
    imports: dict[str, ast.Import]
    chain: tuple[str, ...]


class Checker:
    """Checks a set of parsed modules. Use :func:`check_modules`."""

    def __init__(self, modules: list[ast.Module], sources: dict[str, str]) -> None:
        self.asts = {m.name: m for m in modules}
        self.sources = sources
        self.diags: list[Diagnostic] = []
        self.mods: dict[str, _ModuleDecls] = {}
        self.const_values: dict[tuple[str, str], Value] = {}
        self.const_types: dict[tuple[str, str], ir.Type] = {}
        self.used_imports: set[tuple[str, str]] = set()
        self.governors: set[str] = set()  # modules named by some `via`
        self._type_cache: dict[tuple[int, str], ir.Type] = {}
        self.govern_users: set[str] = set()  # modules containing `govern`

    # ------------------------------------------------------------ helpers
    def error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, hint))

    def fail(self, code: str, message: str, span: Span | None, hint: str | None = None) -> _Abort:
        self.error(code, message, span, hint)
        return _Abort()

    # ------------------------------------------------------------ phase 1
    def expand(self) -> None:
        """Expand templates and index declarations per module."""
        for name, mod in self.asts.items():
            chain: list[str] = []
            decls: dict[str, ast.Decl] = {}
            order: list[ast.Decl] = []
            imports: dict[str, ast.Import] = {}
            layers = self._template_chain(mod, chain)
            for layer in reversed(layers):
                for d in layer.decls:
                    if isinstance(d, ast.Import):
                        if d.name in imports and layer is mod and imports[d.name] in mod.decls:
                            self.error("E011", f"`{d.name}` is imported twice", d.span)
                        imports[d.name] = d
                        continue
                    key = "init" if isinstance(d, ast.Init) else d.name
                    if key in decls:
                        prev = decls[key]
                        overriding = (
                            layer is not self._owner(prev, layers)
                            and isinstance(d, ast.Action | ast.Fn)
                            and type(prev) is type(d)
                        )
                        if overriding:
                            order[order.index(prev)] = d
                            decls[key] = d
                            continue
                        if isinstance(d, ast.Init) and layer is not self._owner(prev, layers):
                            # a module's own init runs after its template's
                            merged = ast.Init("init", d.span, [*prev.body, *d.body])  # type: ignore[attr-defined]
                            order[order.index(prev)] = merged
                            decls[key] = merged
                            continue
                        self.error(
                            "E011",
                            f"`{d.name}` is declared twice in module `{name}`",
                            d.span,
                            f"the first declaration is at {prev.span}",
                        )
                        continue
                    decls[key] = d
                    order.append(d)
            self.mods[name] = _ModuleDecls(mod, decls, order, imports, tuple(chain))
        for md in self.mods.values():
            for imp in md.imports.values():
                if imp.name not in self.asts:
                    self.error("E012", f"no module `{imp.name}` to import", imp.span, did_you_mean(imp.name, self.asts))
                elif self.asts[imp.name].abstract:
                    self.error(
                        "E014",
                        f"`{imp.name}` is abstract; it cannot be imported",
                        imp.span,
                        "extend it instead: `module x extends " + imp.name + "`",
                    )
            for d in md.order:
                if isinstance(d, ast.Governed):
                    self.governors.add(d.via)

    def _owner(self, decl: ast.Decl, layers: list[ast.Module]) -> ast.Module | None:
        for layer in layers:
            if any(d is decl for d in layer.decls):
                return layer
        return None

    def _template_chain(self, mod: ast.Module, chain: list[str]) -> list[ast.Module]:
        layers = [mod]
        seen = {mod.name}
        cur = mod
        while cur.extends is not None:
            parent = self.asts.get(cur.extends)
            if parent is None:
                self.error(
                    "E012",
                    f"no module `{cur.extends}` to extend",
                    cur.extends_span,
                    did_you_mean(cur.extends, self.asts),
                )
                break
            if not parent.abstract:
                self.error(
                    "E014",
                    f"`{parent.name}` is not abstract, so it cannot be extended",
                    cur.extends_span,
                    f"declare it `abstract module {parent.name}`",
                )
                break
            if parent.name in seen:
                self.error("E014", f"templates extend each other in a cycle through `{parent.name}`", cur.extends_span)
                break
            seen.add(parent.name)
            chain.append(parent.name)
            layers.append(parent)
            cur = parent
        return layers

    # ------------------------------------------------------------- types
    def resolve_type(self, t: ast.TypeExpr, module: str) -> ir.Type:
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
        d = self.mods[rt.module].decls[rt.name]
        assert isinstance(d, ast.Record | ast.Request)
        return tuple((f.name, self.safe_type(f.type, rt.module)) for f in d.fields)

    # ------------------------------------------------------- constants
    def const_lookup(self, ref: ir.Ref) -> Value:
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
        return fold(e, self.const_lookup)

    def try_fold(self, e: ir.Expr) -> Value | None:
        try:
            return self.fold(e)
        except (NotConstant, ConstantFault):
            return None

    # ------------------------------------------------------ expressions
    def expr(self, e: ast.Expr, sc: _Scope, want: ir.Type | None = None, allow_action: bool = False) -> ir.Expr:
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
        raise self.fail("E010", f"unknown name `{n}`", e.span, hint)

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
        if len(e.args) != len(params):
            raise self.fail("E021", f"{what} takes {len(params)} argument(s), {len(e.args)} given", e.span)
        return tuple(self.expr(a, sc, t) for a, (_, t) in zip(e.args, params, strict=True))

    def callee(self, module: str, n: str, e: ast.Call, sc: _Scope, allow_action: bool, span: Span) -> ir.Expr:
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
            raise self.fail(
                "E010",
                f"unknown function or action `{n}`" + (f" in module `{module}`" if module != sc.module else ""),
                span,
                did_you_mean(n, candidates + list(ir.BUILTINS)),
            )
        raise self.fail("E022", f"`{n}` is not a function, action, record or phase set", span)

    def builtin(self, e: ast.Call, n: str, sc: _Scope) -> ir.Expr:
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

    # ------------------------------------------------------- statements
    def block(self, stmts: list[ast.Stmt], sc: _Scope) -> tuple[ir.Stmt, ...]:
        sc.locals.append({})
        out: list[ir.Stmt] = []
        try:
            for s in stmts:
                try:
                    out.extend(self.stmt(s, sc))
                except _Abort:
                    continue
        finally:
            sc.locals.pop()
        return tuple(out)

    def declare_local(self, name: str, typ: ir.Type, span: Span, sc: _Scope) -> None:
        if sc.lookup_local(name) is not None:
            raise self.fail("E011", f"`{name}` is already defined here", span, "choose another name")
        md = self.mods[sc.module]
        if name in md.decls and not isinstance(md.decls[name], ast.Action | ast.Fn | ast.Event):
            raise self.fail(
                "E011", f"`{name}` shadows the module's declaration of the same name", span, "choose another name"
            )
        if name in ir.ENV_NAMES:
            raise self.fail("E011", f"`{name}` is a built-in name", span)
        sc.locals[-1][name] = typ

    def stmt(self, s: ast.Stmt, sc: _Scope) -> list[ir.Stmt]:
        effects_ok = sc.context in ("action", "init")
        if isinstance(s, ast.Let):
            try:
                value = self.expr(s.value, sc, allow_action=effects_ok)
            except _Abort:
                if sc.lookup_local(s.name) is None:
                    sc.locals[-1][s.name] = ir.ERROR  # silence follow-on errors about it
                raise
            typ = value.type
            if s.type is not None:
                want = self.resolve_type(s.type, sc.module)
                if want != typ:
                    raise self.fail("E020", f"`{s.name}` is declared {want} but its value is {typ}", s.value.span)
            if typ == ir.NONE:
                raise self.fail("E020", "this call returns nothing to bind", s.value.span)
            self.declare_local(s.name, typ, s.span, sc)
            return [ir.Let(s.span, s.name, typ, value)]
        if isinstance(s, ast.Assign):
            target = self.place(s.target, sc)
            value = self.expr(s.value, sc, allow_action=effects_ok and s.op == "=")
            if value.type != target.type:
                raise self.fail("E020", f"cannot assign {value.type} to a place of type {target.type}", s.value.span)
            if s.op != "=":
                if target.type != ir.UINT:
                    raise self.fail("E020", f"`{s.op}` needs uint256, found {target.type}", s.target.span)
                value = ir.Bin(ir.UINT, s.span, s.op[0], target, value)
            return [ir.Assign(s.span, target, value)]
        if isinstance(s, ast.ExprStmt):
            if not isinstance(s.expr, ast.Call):
                raise self.fail(
                    "E023",
                    "this expression does nothing",
                    s.span,
                    "a statement is a call, an assignment, `let`, `require`, `if`, `emit` or `return`",
                )
            value = self.expr(s.expr, sc, allow_action=True)
            if not isinstance(value, ir.ActionCall):
                if effects_ok:
                    raise self.fail(
                        "E023", "calling a function as a statement does nothing", s.span, "bind its result with `let`"
                    )
                raise self.fail("E033", "a function cannot call actions", s.span)
            return [ir.CallStmt(s.span, value)]
        if isinstance(s, ast.Require):
            cond = self.expr(s.cond, sc, ir.BOOL)
            if not REASON_RE.match(s.reason):
                raise self.fail(
                    "E024",
                    f"`{s.reason}` is not an UPPER_SNAKE_CASE reason of at most 32 characters",
                    s.reason_span,
                    f'try "{_snake(s.reason)}"',
                )
            return [ir.Require(s.span, cond, s.reason)]
        if isinstance(s, ast.If):
            test = self.expr(s.test, sc, ir.BOOL)
            return [ir.If(s.span, test, self.block(s.then, sc), self.block(s.orelse, sc))]
        if isinstance(s, ast.Emit):
            if not effects_ok:
                raise self.fail("E033", f"a {sc.context} cannot emit events", s.span)
            d = self.mods[sc.module].decls.get(s.event)
            if not isinstance(d, ast.Event):
                events = [k for k, v in self.mods[sc.module].decls.items() if isinstance(v, ast.Event)]
                raise self.fail("E010", f"unknown event `{s.event}`", s.span, did_you_mean(s.event, events))
            fields = [(f.name, self.safe_type(f.type, sc.module)) for f in d.fields]
            if len(s.args) != len(fields):
                raise self.fail("E021", f"event `{s.event}` has {len(fields)} field(s), {len(s.args)} given", s.span)
            args = tuple(self.expr(a, sc, t) for a, (_, t) in zip(s.args, fields, strict=True))
            return [ir.Emit(s.span, sc.module, s.event, args)]
        if isinstance(s, ast.Return):
            if sc.returns == ir.NONE:
                raise self.fail(
                    "E020",
                    "this action returns nothing, so `return` takes no value here",
                    s.span,
                    "declare a result type: `action f() -> uint256`",
                )
            return [ir.Return(s.span, self.expr(s.value, sc, sc.returns))]
        if isinstance(s, ast.Govern):
            if not effects_ok:
                raise self.fail("E033", f"a {sc.context} cannot govern", s.span)
            if sc.module not in self.governors:
                raise self.fail(
                    "E032", f"module `{sc.module}` is no timelock: no governed parameter names it with `via`", s.span
                )
            self.govern_users.add(sc.module)
            target = self.expr(s.target, sc, ir.ADDRESS)
            key = self.expr(s.key, sc, ir.BYTES32)
            value = self.expr(s.value, sc, ir.UINT)
            candidates = tuple(
                (m, d.name)
                for m, md in self.mods.items()
                if not md.source.abstract
                for d in md.order
                if isinstance(d, ast.Governed) and d.via == sc.module
            )
            return [ir.Govern(s.span, target, key, value, candidates)]
        if isinstance(s, ast.For):
            bound = self.expr(s.bound, sc, ir.UINT)
            count = self.try_fold(bound)
            if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 256:
                raise self.fail("E026", "the loop bound must be a constant from 0 to 256", s.bound.span)
            sc.locals.append({})
            try:
                self.declare_local(s.var, ir.UINT, s.span, sc)
                body = self.block(s.body, sc)
            finally:
                sc.locals.pop()
            return [ir.For(s.span, s.var, count, body)]
        raise AssertionError(type(s))  # pragma: no cover

    def place(self, t: ast.Expr, sc: _Scope) -> ir.Expr:
        """Check an assignment target and return it as an IR expression."""
        root = t
        while isinstance(root, ast.Index | ast.Member) and not (
            isinstance(root, ast.Member)
            and isinstance(root.base, ast.Name)
            and root.base.id in self.mods
            and sc.lookup_local(root.base.id) is None
            and root.base.id not in self.mods[sc.module].decls
        ):
            root = root.base
        if isinstance(root, ast.Member):
            if isinstance(root.base, ast.Name):
                self.used_imports.add((sc.module, root.base.id))
            raise self.fail(
                "E028",
                "state of another module can only change through its actions",
                t.span,
                f"call an action of `{root.base.id}`" if isinstance(root.base, ast.Name) else None,
            )
        if not isinstance(root, ast.Name):
            raise self.fail("E028", "this cannot be assigned", t.span)
        target = self.expr(t, sc)
        ref = self.expr(root, sc)
        assert isinstance(ref, ir.Ref)
        if ref.kind == "const" or ref.kind == "enum" or ref.kind == "module":
            raise self.fail("E030", f"`{root.id}` is a constant", t.span)
        if ref.kind == "param" and sc.context != "init":
            raise self.fail("E030", f"`{root.id}` is an immutable parameter; only `init` may set it", t.span)
        if ref.kind == "governed":
            gd = self.mods[sc.module].decls[root.id]
            assert isinstance(gd, ast.Governed)
            raise self.fail(
                "E031",
                f"`{root.id}` is governed; it changes only through its timelock `{gd.via}`",
                t.span,
                f"queue a change in `{gd.via}`, which applies it with `govern`",
            )
        if ref.kind == "env":
            raise self.fail("E028", f"`{root.id}` is an input of the action and cannot be assigned", t.span)
        if ref.kind == "state" and sc.context not in ("action", "init"):
            raise self.fail("E033", f"a {sc.context} cannot assign state (`{root.id}`)", t.span)
        if ref.kind == "bound":
            raise self.fail("E028", "a `forall` variable cannot be assigned", t.span)
        if isinstance(target.type, ir.MapT):
            raise self.fail("E028", "a whole map cannot be assigned; assign its entries", t.span)
        return target

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
                    for g in _walk_stmts(d.body):
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
                elif isinstance(d, ast.Fn):
                    fns[d.name] = self.fn(name, d)
                elif isinstance(d, ast.Action):
                    actions[d.name] = self.action(md, d)
            except _Abort:
                continue
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
        )

    def check_field_names(self, md: _ModuleDecls) -> None:
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
        typ = self.resolve_type(d.type, module)
        if typ != ir.UINT:
            raise self.fail("E020", "governed parameters are uint256", d.type.span)
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
        return ir.Governed(d.name, typ, default, low, high, d.via, f"{module}.{d.name}", d.span, d.doc)

    def request_shape(self, md: _ModuleDecls, d: ast.Request, fields: dict[str, ir.Type]) -> None:
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

    def fn(self, module: str, d: ast.Fn) -> ir.Fn:
        sc = _Scope(module, "fn")
        params = self.params(d.params, module, sc)
        sc.returns = self.resolve_type(d.returns, module)
        body = self.block(d.body, sc)
        if not _always_returns(d.body):
            self.error("E025", f"function `{d.name}` can end without returning a value", d.span)
        return ir.Fn(d.name, tuple(params), sc.returns, body, d.span, d.doc)

    def params(self, fields: list[ast.FieldDecl], module: str, sc: _Scope) -> list[tuple[str, ir.Type]]:
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
        for _m in modules.values():
            pass


# ----------------------------------------------------------- small helpers


def _kind_of(decl: ast.Decl) -> str:
    kinds = {ast.Fn: "a function", ast.Action: "an action", ast.Event: "an event", ast.Record: "a record type",
             ast.Request: "a request type", ast.Phases: "a phase set", ast.Decay: "a decay schedule",
             ast.Rule: "a rule", ast.Import: "a module"}
    return next((v for k, v in kinds.items() if isinstance(decl, k)), "a declaration")


def _value_hint(decl: ast.Decl, name: str) -> str | None:
    if isinstance(decl, ast.Fn | ast.Action | ast.Record | ast.Request | ast.Phases):
        return f"call it: `{name}(...)`"
    if isinstance(decl, ast.Event):
        return f"emit it: `emit {name}(...)`"
    if isinstance(decl, ast.Decay):
        return f"use `{name}.level_of(amount)` or `{name}.at(level, backed, since, now)`"
    return None


def _snake(s: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", s.upper()).strip("_")[:32] or "REASON"


def _conjuncts(e: ast.Expr) -> list[ast.Expr]:
    """The operands of a chain of `and`, left to right (no recursion)."""
    out: list[ast.Expr] = []
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, ast.BinOp) and x.op == "and":
            stack.extend((x.right, x.left))
        else:
            out.append(x)
    return out


def _ir_conjuncts(e: ir.Expr) -> list[ir.Expr]:
    """The operands of a chain of `and`, left to right (no recursion)."""
    out: list[ir.Expr] = []
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, ir.Bin) and x.op == "and":
            stack.extend((x.right, x.left))
        else:
            out.append(x)
    return out


def _ast_key(e: ast.Expr) -> str | None:
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, ast.IntLit):
        return str(e.value)
    return None


def _term_key(e: ir.Expr) -> str | None:
    if isinstance(e, ir.Ref):
        return e.name
    if isinstance(e, ir.Lit) and not isinstance(e.value, bool):
        return str(e.value)
    return None


def _proves_less(facts: set[tuple[str, str, bool]], a: str, b: str) -> bool:
    """Whether the facts chain from a to b with at least one strict step."""
    frontier = [(a, False)]
    seen: set[tuple[str, bool]] = set()
    while frontier:
        node, strict = frontier.pop()
        if node == b and strict:
            return True
        if (node, strict) in seen:
            continue
        seen.add((node, strict))
        for x, y, s in facts:
            if x == node:
                frontier.append((y, strict or s))
    return False


def _var_const(c: ir.Bin, fold_: object) -> list[tuple[str, int, str]]:
    flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}
    out = []
    fold_fn = fold_
    for var_side, const_side, op in ((c.left, c.right, c.op), (c.right, c.left, flip[c.op])):
        if isinstance(var_side, ir.Ref) and var_side.kind == "local" and var_side.type == ir.UINT:
            v = fold_fn(const_side)  # type: ignore[operator]
            if isinstance(v, int) and not isinstance(v, bool):
                out.append((var_side.name, v, op))
    return out


def _always_returns(stmts: list[ast.Stmt]) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.Return):
        return True
    if isinstance(last, ast.If):
        return _always_returns(last.then) and _always_returns(last.orelse)
    return False


def _walk_stmts(stmts: list[ast.Stmt]) -> list[ast.Stmt]:
    """Every statement, nested ones included, in source order (no recursion)."""
    out: list[ast.Stmt] = []
    stack = list(reversed(stmts))
    while stack:
        s = stack.pop()
        out.append(s)
        if isinstance(s, ast.If):
            stack.extend(reversed([*s.then, *s.orelse]))
        elif isinstance(s, ast.For):
            stack.extend(reversed(s.body))
    return out


def check_modules(modules: list[ast.Module], sources: dict[str, str]) -> tuple[ir.Spec, list[Diagnostic]]:
    """Check parsed modules together; return the IR and every diagnostic.

    The IR is only meaningful when no diagnostic is an error.
    """
    checker = Checker(modules, sources)
    spec = checker.check()
    return spec, checker.diags
