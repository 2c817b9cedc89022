"""Statements: blocks, locals, assignments and their places, to IR statements."""

from __future__ import annotations

from spec import ast, ir
from spec.check.base import (
    REASON_RE,
    _Abort,
    _Scope,
    _snake,
)
from spec.check.expressions import ExpressionChecker
from spec.diagnostics import Span, did_you_mean


class StatementChecker(ExpressionChecker):
    """Statements: blocks, locals, assignments and their places, to IR statements."""

    # ------------------------------------------------------- statements
    def block(self, stmts: list[ast.Stmt], sc: _Scope) -> tuple[ir.Stmt, ...]:
        """Check a block of statements in a new scope; return their IR."""
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
        """Declare a local in the innermost scope (reporting a shadowed or reused name)."""
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
        """Check one statement; return its IR (a statement may lower to several).

        Raises:
            _Abort: after reporting the problem.
        """
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
            hooks = tuple(
                ((d.module, d.param), ir.ActionCall(ir.NONE, d.span, m, d.action, ()))
                for m, md in self.mods.items()
                if not md.source.abstract
                for d in md.order
                if isinstance(d, ast.GovernHook) and (d.module, d.param) in candidates
            )
            return [ir.Govern(s.span, target, key, value, candidates, hooks)]
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

