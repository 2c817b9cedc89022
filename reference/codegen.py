"""Generate the executable reference model, as readable Python, from the IR.

For each module the generator writes:

- its constants;
- one record dataclass per ``record``/``request``;
- one state dataclass (parameters, governed parameters, state);
- its phase enumeration and phase function;
- one function per ``fn`` and per action, with the spec's comments as docstrings;
- ``init``; and one predicate per rule and per ``ensures``.

Revert reasons become one exception class each, in a shared ``reasons``
module. The output imports only :mod:`reference.runtime`.
"""

from __future__ import annotations

import keyword

from spec import ir

RUNTIME_NAME = "runtime"
REASONS_MODULE = "reasons"
GOVERN_REASONS = ("UNKNOWN_PARAMETER", "OUT_OF_BOUNDS")

RUNTIME_IMPORTS = (
    "MAX_UINT112", "MAX_UINT256", "ZERO_ADDRESS", "Env", "Map", "Revert", "Signature",
    "SpecViolation", "World", "add", "at", "decay_at", "div", "div_up", "exact_add", "exact_div",
    "exact_mod", "exact_mul", "exact_pow", "exact_sub", "for_all", "hash_", "isqrt",
    "key_of", "level_of", "log_field", "log_item", "map_of", "mod", "mul", "mul_div_down", "mul_div_up", "pow_",
    "require", "signed_by", "sub", "total",
)  # fmt: skip
RESERVED = set(keyword.kwlist) | set(RUNTIME_IMPORTS) | {
    "w", "w0", "env", "s", "min", "max", "len", "int", "bool", "dataclass", "field",
    "replace", "IntEnum", "for_all", "copy",
}  # fmt: skip

ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod", "**": "pow_"}
COMPARE = {"==", "!=", "<", "<=", ">", ">="}


def exception_name(reason: str) -> str:
    """The exception class name of a revert reason: ZERO_AMOUNT -> ZeroAmount."""
    return "".join(part.capitalize() for part in reason.lower().split("_") if part) or "Reason"


def py(name: str) -> str:
    """A spec name as a Python identifier that collides with nothing."""
    return name + "_" if name in RESERVED else name


def attr(name: str) -> str:
    """A record field or keyword-argument name as a Python identifier."""
    return name + "_" if keyword.iskeyword(name) else name


def state_class(module: str) -> str:
    return "".join(p.capitalize() for p in module.split("_")) + "State"


def py_type(t: ir.Type) -> str:
    """The Python annotation for a spec type."""
    if isinstance(t, ir.Prim):
        return {"bool": "bool", "signature": "Signature", "none": "None"}.get(t.name, "int")
    if isinstance(t, ir.MapT):
        return "Map"
    if isinstance(t, ir.ListT):
        return "tuple[int, ...]"
    if isinstance(t, ir.RecordT | ir.EnumT):
        return t.name
    return "object"


def _doc(text: str, indent: str, extra: list[str] | None = None) -> list[str]:
    body = [ln.rstrip() for ln in text.splitlines()] if text else []
    if extra:
        if body:
            body.append("")
        body.extend(extra)
    if not body:
        return []
    body = [ln.replace('"""', "'''").replace("\\", "\\\\") for ln in body]
    if len(body) == 1:
        return [f'{indent}"""{body[0]}"""']
    return [f'{indent}"""{body[0]}', *[f"{indent}{ln}" if ln else "" for ln in body[1:]], f'{indent}"""']


class ModuleWriter:
    """Writes one module's model. ``world`` is the Python name of the world
    variable in the expression being written (``w``, or ``w0`` under ``old``)."""

    def __init__(self, spec: ir.Spec, module: ir.Module, *, probes: bool = False) -> None:
        self.spec = spec
        self.m = module
        self.world = "w"
        self.in_rule = False
        self.in_ensures = False
        # with probes, each require, if and emit of an action's body reports
        # itself to the world (spec coverage; see spec.clauses for the ids)
        self.probes = probes
        self.probe_ids: dict[ir.Stmt, str] = {}

    # ------------------------------------------------------------ values
    def default(self, t: ir.Type) -> str:
        """A default-value factory expression for a spec type."""
        if isinstance(t, ir.MapT):
            return f"map_of({self.default(t.value)})"
        if isinstance(t, ir.RecordT):
            return self.record_ref(t)
        if t == ir.BOOL:
            return "lambda: False"
        if isinstance(t, ir.EnumT):
            return f"lambda: {self.enum_class(t)}(0)"
        return "lambda: 0"

    def record_ref(self, t: ir.RecordT) -> str:
        return t.name if t.module == self.m.name else f"{self.world}.code.{t.module}.{t.name}"

    def enum_class(self, t: ir.EnumT) -> str:
        return t.name if t.module == self.m.name else f"{self.world}.code.{t.module}.{t.name}"

    def field_default(self, t: ir.Type, init: ir.Expr | None) -> str:
        if isinstance(t, ir.MapT):
            return f"field(default_factory={self.default(t)})"
        if isinstance(t, ir.RecordT):
            return f"field(default_factory={t.name})"
        if init is not None:
            return self.const_expr(init)
        if t == ir.BOOL:
            return "False"
        if isinstance(t, ir.EnumT):
            return f"{t.name}(0)"
        return "0"

    def const_expr(self, e: ir.Expr) -> str:
        """An expression that only reads constants, written at module level."""
        saved = self.world
        self.world = "_no_world"
        try:
            return self.expr(e)
        finally:
            self.world = saved

    # ------------------------------------------------------- expressions
    def expr(self, e: ir.Expr) -> str:
        m = self.m.name
        w = self.world
        if isinstance(e, ir.Lit):
            if isinstance(e.value, bool):
                return "True" if e.value else "False"
            return str(e.value) if isinstance(e.value, int) and e.value < 10**6 else _big(int(e.value))
        if isinstance(e, ir.Ref):
            k = e.kind
            if k == "const":
                if e.module in ("", m):
                    return e.name
                return f"{w}.code.{e.module}.{e.name}" if w != "_no_world" else self._folded(e)
            if k in ("param", "governed", "state"):
                if e.module == m and w == "w" and not self.in_rule:
                    return f"s.{attr(e.name)}"
                return f"{w}.{e.module}.{attr(e.name)}"
            if k in ("local", "bound"):
                return py(e.name)
            if k == "env":
                if e.name == "self":
                    return f'{w}.address["{m}"]'
                return f"env.{e.name}"
            if k == "module":
                return f'{w}.address["{e.module}"]'
            if k == "enum":
                assert isinstance(e.type, ir.EnumT)
                return f"{self.enum_class(e.type)}.{e.name}"
        if isinstance(e, ir.Index):
            if isinstance(e.base.type, ir.ListT):
                return f"at({self.expr(e.base)}, {self.expr(e.key)})"
            return f"{self.expr(e.base)}[{self.expr(e.key)}]"
        if isinstance(e, ir.Field):
            return f"{self.expr(e.base)}.{attr(e.name)}"
        if isinstance(e, ir.Bin):
            a, b = self.expr(e.left), self.expr(e.right)
            if e.op in ARITH and self.in_rule:
                # rules state mathematical facts: their arithmetic is exact
                return f"exact_{ARITH[e.op].rstrip('_')}({a}, {b})"
            if e.op in ARITH:
                return f"{ARITH[e.op]}({a}, {b})"
            if e.op in COMPARE:
                return f"({a} {e.op} {b})"
            if e.op == "==>":
                return f"((not {a}) or {b})"
            return f"({a} {e.op} {b})"
        if isinstance(e, ir.Not):
            return f"(not {self.expr(e.operand)})"
        if isinstance(e, ir.Cond):
            return f"({self.expr(e.then)} if {self.expr(e.test)} else {self.expr(e.orelse)})"
        if isinstance(e, ir.Builtin):
            args = ", ".join(self.expr(a) for a in e.args)
            name = {"hash": "hash_"}.get(e.name, e.name)
            return f"{name}({args})"
        if isinstance(e, ir.FnCall):
            args = "".join(", " + self.expr(a) for a in e.args)
            env = "None" if self.in_rule and not self.in_ensures else "env"
            target = py(e.name) if e.module == m else f"{w}.code.{e.module}.{py(e.name)}"
            return f"{target}({w}, {env}{args})"
        if isinstance(e, ir.ActionCall):
            args = "".join(", " + self.expr(a) for a in e.args)
            if e.module == m:
                return f"{py(e.name)}(w, env{args})"
            return f'w.code.{e.module}.{py(e.name)}(w, env.inner(w.address["{m}"]){args})'
        if isinstance(e, ir.RecordNew):
            return f"{self.record_ref(ir.RecordT(e.module, e.record))}({', '.join(self.expr(a) for a in e.args)})"
        if isinstance(e, ir.PhaseOf):
            fn = f"{e.phases}_of" if e.module == m else f"{w}.code.{e.module}.{e.phases}_of"
            env = "None" if self.in_rule and not self.in_ensures else "env"
            return f"{fn}({w}, {env}, {self.expr(e.price)})"
        if isinstance(e, ir.DecayLevelOf):
            d = self.spec.modules[e.module].decays[e.decay]
            return f"level_of({_tuple(d.level_values)}, {self.expr(e.amount)})"
        if isinstance(e, ir.DecayAt):
            d = self.spec.modules[e.module].decays[e.decay]
            args = ", ".join(self.expr(x) for x in (e.level, e.backed, e.since, e.now))
            return f"decay_at({_tuple(d.period_values)}, {args})"
        if isinstance(e, ir.SignedBy):
            return (
                f"signed_by({self.expr(e.signature)}, {self.expr(e.owner)}, {self.expr(e.request)}, "
                f'"{e.request_type}", env, w.address["{e.module}"])'
            )
        if isinstance(e, ir.Forall):
            names = ", ".join(py(n) for n, _ in e.vars)
            domains = ", ".join(f'"{t}"' for _, t in e.vars)
            return f"for_all({w}, ({domains},), lambda {names}: {self.expr(e.body)})"
        if isinstance(e, ir.Sum):
            return f"total({self.expr(e.map)})"
        if isinstance(e, ir.Old):
            saved = self.world
            self.world = "w0"
            try:
                return self.expr(e.operand)
            finally:
                self.world = saved
        if isinstance(e, ir.ListLit):
            return _tuple_exprs([self.expr(i) for i in e.items])
        raise AssertionError(type(e))  # pragma: no cover

    def _folded(self, e: ir.Ref) -> str:
        c = self.spec.modules[e.module].consts[e.name]
        if isinstance(c.folded, tuple):
            return _tuple(c.folded)
        return str(c.folded)

    # -------------------------------------------------------- statements
    def stmts(self, body: tuple[ir.Stmt, ...], indent: str) -> list[str]:
        out: list[str] = []
        for s in body:
            out.extend(self.stmt(s, indent))
        return out or [f"{indent}pass"]

    def stmt(self, s: ir.Stmt, ind: str) -> list[str]:
        if isinstance(s, ir.Let):
            value = self.expr(s.value)
            if isinstance(s.type, ir.RecordT) and not isinstance(s.value, ir.RecordNew | ir.ActionCall):
                value = f"replace({value})"
            return [f"{ind}{py(s.name)} = {value}"]
        if isinstance(s, ir.Assign):
            value = self.expr(s.value)
            if isinstance(s.value.type, ir.RecordT) and not isinstance(s.value, ir.RecordNew | ir.ActionCall):
                value = f"replace({value})"
            return self.assign(s.target, value, ind)
        if isinstance(s, ir.Require):
            return [f"{ind}require({self.probed(s, self.expr(s.cond))}, {exception_name(s.reason)})"]
        if isinstance(s, ir.If):
            out = [f"{ind}if {self.probed(s, _strip_parens(self.expr(s.test)))}:", *self.stmts(s.then, ind + "    ")]
            orelse = s.orelse
            while len(orelse) == 1 and isinstance(orelse[0], ir.If):
                nested = orelse[0]
                out.append(f"{ind}elif {self.probed(nested, _strip_parens(self.expr(nested.test)))}:")
                out.extend(self.stmts(nested.then, ind + "    "))
                orelse = nested.orelse
            if orelse:
                out.append(f"{ind}else:")
                out.extend(self.stmts(orelse, ind + "    "))
            return out
        if isinstance(s, ir.Emit):
            fields = self.m.events[s.event].fields
            args = ", ".join(f"{attr(n)}={self.expr(a)}" for (n, _), a in zip(fields, s.args, strict=True))
            emit = [f'{ind}w.emit("{s.module}", "{s.event}"{", " if args else ""}{args})']
            if s in self.probe_ids:
                emit.append(f'{ind}w.probe_emit("{self.probe_ids[s]}")')
            return emit
        if isinstance(s, ir.Return):
            return [f"{ind}return {self.expr(s.value)}"]
        if isinstance(s, ir.CallStmt):
            return [f"{ind}{self.expr(s.call)}"]
        if isinstance(s, ir.For):
            return [f"{ind}for {py(s.var)} in range({s.count}):", *self.stmts(s.body, ind + "    ")]
        if isinstance(s, ir.Govern):
            return self.govern(s, ind)
        raise AssertionError(type(s))  # pragma: no cover

    def assign(self, target: ir.Expr, value: str, ind: str) -> list[str]:
        """``target = value``, the write first recorded in the undo log
        (``reference.runtime.Journal``) when it is one to the state. Python's
        order of evaluation is kept: the value, then the container, then
        the key."""
        t = target
        if isinstance(t, ir.Ref) and t.kind in ("local", "bound"):
            return [f"{ind}{self.expr(t)} = {value}"]
        if isinstance(t, ir.Index) and not isinstance(t.base.type, ir.ListT):
            return [f"{ind}_jv = {value}", f"{ind}_jc = {self.expr(t.base)}", f"{ind}_jk = {self.expr(t.key)}",
                    f"{ind}log_item(_jc, _jk)", f"{ind}_jc[_jk] = _jv"]
        if isinstance(t, ir.Field):
            return [f"{ind}_jv = {value}", f"{ind}_jc = {self.expr(t.base)}",
                    f'{ind}log_field(_jc, "{attr(t.name)}")', f"{ind}_jc.{attr(t.name)} = _jv"]
        if isinstance(t, ir.Ref) and t.kind in ("param", "governed", "state"):
            rendered = self.expr(t)
            owner, _, name = rendered.rpartition(".")
            return [f"{ind}_jv = {value}", f'{ind}log_field({owner}, "{name}")', f"{ind}{rendered} = _jv"]
        raise AssertionError(f"an assignment to {type(t).__name__}")  # pragma: no cover

    def probed(self, s: ir.Stmt, test: str) -> str:
        """``test``, reporting its value to the world's probe when ``s`` is probed."""
        if s not in self.probe_ids:
            return test
        return f'w.probe("{self.probe_ids[s]}", {test})'

    def govern(self, s: ir.Govern, ind: str) -> list[str]:
        target, key, value = self.expr(s.target), self.expr(s.key), self.expr(s.value)
        out = [f"{ind}# govern: set the parameter named by (target, key), within its bounds"]
        first = True
        for module, name in s.candidates:
            if module not in self.spec.modules:
                continue  # a module this deployment leaves out: its parameters are unknown here
            g = self.spec.modules[module].governed[name]
            saved = self.world
            low = self.expr(g.low) if module == self.m.name else _folded_governed(self.spec, g.low)
            high = self.expr(g.high) if module == self.m.name else _folded_governed(self.spec, g.high)
            self.world = saved
            kw = "if" if first else "elif"
            first = False
            out.append(f'{ind}{kw} {target} == w.address["{module}"] and {key} == key_of("{g.key}"):')
            out.append(f"{ind}    require({low} <= {value} <= {high}, OutOfBounds)")
            out.append(f'{ind}    log_field(w.{module}, "{attr(name)}")')
            out.append(f"{ind}    w.{module}.{attr(name)} = {value}")
            for call in s.hooks_of(module, name):
                if call.module in self.spec.modules:
                    out.append(f"{ind}    {self.expr(call)}  # after govern {module}.{name}")
        if first:
            out.append(f"{ind}raise UnknownParameter()")
        else:
            out.append(f"{ind}else:")
            out.append(f"{ind}    raise UnknownParameter()")
        return out

    # ------------------------------------------------------------ module
    def reasons_used(self) -> list[str]:
        found: set[str] = set()
        for body in [self.m.init, *(a.body for a in self.m.actions.values()), *(f.body for f in self.m.fns.values())]:
            for s in ir.walk(body):
                if isinstance(s, ir.Require):
                    found.add(s.reason)
                if isinstance(s, ir.Govern):
                    found.update(GOVERN_REASONS)
        if self.m.governed:
            found.add("OUT_OF_BOUNDS")  # the deployment check of `init`
        return sorted(found)

    def write(self) -> str:
        m = self.m
        out: list[str] = []
        header = m.doc or f"Module {m.name}."
        out.extend(
            _doc(
                header + f"\n\nReference model of module `{m.name}`, generated by imospec from "
                f"{m.file}. Do not edit: change the spec.",
                "",
            )
        )
        out.append("")
        out.append("from __future__ import annotations")
        out.append("")
        out.append("from dataclasses import dataclass, field, replace")
        out.append("from enum import IntEnum")
        out.append("")
        out.append("from reference.runtime import (")
        for name in RUNTIME_IMPORTS:
            out.append(f"    {name},")
        out.append(")")
        reasons = self.reasons_used()
        if reasons:
            out.append(f"from .{REASONS_MODULE} import (")
            for r in reasons:
                out.append(f"    {exception_name(r)},")
            out.append(")")
        out.append("")
        out.append(f'MODULE = "{m.name}"')
        if m.consts:
            out.append("")
            out.append("# ---- constants")
            for c in m.consts.values():
                out.extend(_comment(c.doc))
                out.append(f"{c.name} = {self.const_expr(c.value)}")
        for ph in m.phases.values():
            out.extend(self.phases(ph))
        for rec in m.records.values():
            out.extend(self.record(rec))
        out.extend(self.state())
        for f in m.fns.values():
            out.extend(self.fn(f))
        out.extend(self.init())
        for a in m.actions.values():
            out.extend(self.action(a))
        out.extend(self.rules())
        return "\n".join(out) + "\n"

    def phases(self, ph: ir.PhasesDecl) -> list[str]:
        out = ["", ""]
        out.append(f"class {ph.name}(IntEnum):")
        out.extend(_doc(ph.doc or f"The bands of `{ph.name}`, lowest price first.", "    "))
        for i, b in enumerate(ph.bands):
            out.append(f"    {b} = {i}")
        out.append("")
        out.append("")
        out.append(f"def {ph.name}_of(w: World, env: Env | None, price: int) -> {ph.name}:")
        out.append(f'    """The band of `{ph.name}` that ``price`` falls in."""')
        out.append(f"    s = w.{self.m.name}")
        for band, t in zip(ph.bands, ph.thresholds, strict=False):
            out.append(f"    if price < {self.expr(t)}:")
            out.append(f"        return {ph.name}.{band}")
        out.append(f"    return {ph.name}.{ph.bands[-1]}")
        return out

    def record(self, r: ir.RecordDecl) -> list[str]:
        out = ["", "", "@dataclass", f"class {r.name}:"]
        doc = r.doc
        if r.nonce_map:
            doc = (doc + "\n\n" if doc else "") + f"A signed request; its nonces are `{r.nonce_map}`."
        out.extend(_doc(doc, "    "))
        for n, t in r.fields:
            out.append(f"    {attr(n)}: {py_type(t)} = {self.field_default(t, None)}")
        if not r.fields:
            out.append("    pass")
        return out

    def state(self) -> list[str]:
        m = self.m
        out = ["", "", "@dataclass", f"class {state_class(m.name)}:"]
        out.append(f'    """Everything module `{m.name}` stores: parameters, governed parameters, state."""')
        out.append("")
        if m.params:
            out.append("    # parameters (set at creation, immutable)")
            for p in m.params.values():
                default = self.const_expr(p.default) if p.default is not None else self.field_default(p.type, None)
                out.extend(_comment(p.doc, "    "))
                out.append(f"    {attr(p.name)}: {py_type(p.type)} = {default}")
        if m.governed:
            out.append("    # governed parameters (changed only through their timelock)")
            for g in m.governed.values():
                out.extend(_comment(g.doc, "    "))
                default = "0" if g.default is None else self.const_expr(g.default)  # None: a deployment argument
                out.append(f"    {attr(g.name)}: int = {default}")
        if m.state:
            out.append("    # state")
            for v in m.state.values():
                out.extend(_comment(v.doc, "    "))
                out.append(f"    {attr(v.name)}: {py_type(v.type)} = {self.field_default(v.type, v.init)}")
        if not (m.params or m.governed or m.state):
            out.append("    pass")
        return out

    def signature(self, params: tuple[tuple[str, ir.Type], ...], env_type: str) -> str:
        args = "".join(f", {py(n)}: {py_type(t)}" for n, t in params)
        return f"(w: World, env: {env_type}{args})"

    def fn(self, f: ir.Fn) -> list[str]:
        out = ["", "", f"def {py(f.name)}{self.signature(f.params, 'Env | None')} -> {py_type(f.returns)}:"]
        out.extend(
            _doc(
                f.doc or f"Function `{f.name}`.",
                "    ",
                ["Raises:", "    ArithmeticRevert: when its arithmetic overflows or divides by zero."],
            )
        )
        out.append(f"    s = w.{self.m.name}")
        out.extend(self.stmts(f.body, "    "))
        return out

    def init(self) -> list[str]:
        out = ["", "", "def init(w: World, env: Env) -> None:"]
        out.extend(_doc(f"Set up `{self.m.name}` at deployment, after its parameters are set.", "    "))
        out.append(f"    s = w.{self.m.name}")
        if self.m.governed:
            out.append("    # every governed parameter starts inside its bounds, as `govern` keeps it")
        for g in self.m.governed.values():
            low, high = _folded_governed(self.spec, g.low), _folded_governed(self.spec, g.high)
            out.append(f"    require({low} <= s.{attr(g.name)} <= {high}, OutOfBounds)")
        out.extend(self.stmts(self.m.init, "    "))
        return out

    def action(self, a: ir.Action) -> list[str]:
        ret = py_type(a.returns)
        out = ["", "", f"def {py(a.name)}{self.signature(a.params, 'Env')} -> {ret}:"]
        raises = ["Raises:"]
        for r in sorted(
            set(a.reasons) | (set(GOVERN_REASONS) if any(isinstance(s, ir.Govern) for s in ir.walk(a.body)) else set())
        ):
            raises.append(f'    {exception_name(r)}: reverts with "{r}".')
        raises.append("    ArithmeticRevert: a bare revert on overflow, underflow or division by zero.")
        if any(isinstance(s, ir.CallStmt) for s in ir.walk(a.body)) or _calls(a.body):
            raises.append("    Revert: whatever the actions it calls raise.")
        lines = []
        if a.internal:
            lines.append("Internal: only this module's actions call it.")
        if a.phase_gate:
            lines.append(f"Phase gate: only in {', '.join(a.phase_gate[1])} of `{a.phase_gate[0]}`.")
        if a.signed_request:
            lines.append(f"Signed request: `{a.signed_request}` (expiry, nonce and signature checked first).")
        doc = a.doc or f"Action `{a.name}`."
        if lines:
            doc += "\n\n" + "\n".join(lines)
        out.extend(_doc(doc, "    ", raises))
        out.append(f"    s = w.{self.m.name}")
        if self.probes:
            from spec.clauses import node_ids

            self.probe_ids = node_ids(self.m.name, a)
        try:
            out.extend(self.stmts(a.body, "    "))
        finally:
            self.probe_ids = {}
        return out

    def rules(self) -> list[str]:
        out: list[str] = []
        self.in_rule = True
        try:
            names = []
            for r in self.m.rules:
                if r.kind == "theorem":
                    continue
                fname = f"{r.kind}_{r.name}"
                names.append((r.name, fname, r.transition))
                out.extend(["", "", f"def {fname}(w: World, w0: World | None = None) -> bool:"])
                out.extend(_doc(r.doc or f"{r.kind.capitalize()} `{r.name}`.", "    "))
                if r.transition:
                    out.append("    if w0 is None:")
                    out.append("        return True")
                out.append(f"    return bool({self.expr(r.expr)})")
            ens = []
            for a in self.m.actions.values():
                for i, e in enumerate(a.ensures):
                    fname = f"ensures_{a.name}_{i}"
                    ens.append((a.name, fname))
                    params = "".join(f", {py(n)}: {py_type(t)}" for n, t in a.params)
                    out.extend(["", "", f"def {fname}(w: World, w0: World, env: Env{params}) -> bool:"])
                    out.append(f'    """Postcondition {i + 1} of `{a.name}`."""')
                    self.in_ensures = True
                    try:
                        out.append(f"    return bool({self.expr(e)})")
                    finally:
                        self.in_ensures = False
            covers = []
            for c in self.m.covers:
                fname = f"cover_{c.name}"
                covers.append((c.name, c.action, fname))
                params = ""
                if c.action is not None:
                    act = self.m.actions[c.action]
                    params = "".join(f", {py(n)}: {py_type(t)}" for n, t in act.params)
                    out.extend(["", "", f"def {fname}(w: World, env: Env{params}) -> bool:"])
                    out.extend(_doc(c.doc or f"Cover `{c.name}`: which calls of `{c.action}` it asks for.", "    "))
                else:
                    out.extend(["", "", f"def {fname}(w: World, env: Env | None = None) -> bool:"])
                    out.extend(_doc(c.doc or f"Cover `{c.name}`: the state it asks for.", "    "))
                self.in_ensures = True
                try:
                    out.append(f"    return bool({self.expr(c.expr) if c.expr is not None else 'True'})")
                finally:
                    self.in_ensures = False
            out.extend(["", "", "# name -> (predicate, relates two states)"])
            out.append("RULES = {")
            for n, f, t in names:
                out.append(f'    "{n}": ({f}, {t}),')
            out.append("}")
            out.append("ENSURES = {")
            by_action: dict[str, list[str]] = {}
            for a_name, f in ens:
                by_action.setdefault(a_name, []).append(f)
            for a_name, fs in by_action.items():
                out.append(f'    "{a_name}": ({", ".join(fs)},),')
            out.append("}")
            out.append("# name -> (the action that must succeed, or None for a state; predicate)")
            out.append("COVERS = {")
            for c_name, c_action, f in covers:
                out.append(f'    "{c_name}": ({c_action!r}, {f}),')
            out.append("}")
        finally:
            self.in_rule = False
        return out


def _calls(body: tuple[ir.Stmt, ...]) -> bool:
    """Whether a body calls an action (directly, as a statement or as the value it assigns)."""
    return any(isinstance(s, ir.Let | ir.Assign | ir.CallStmt) and isinstance(ir.stmt_exprs(s)[-1], ir.ActionCall)
               for s in ir.walk(body))


def governed_bounds(spec: ir.Spec, module: str, name: str) -> tuple[int, int]:
    """The bounds [low, high] of a governed parameter, as numbers (the checker
    makes them constant)."""
    g = spec.modules[module].governed[name]
    return int(_folded_governed(spec, g.low)), int(_folded_governed(spec, g.high))


def _folded_governed(spec: ir.Spec, e: ir.Expr) -> str:
    from spec.consts import NotConstant, fold

    def lookup(ref: ir.Ref) -> int | bool | tuple[int, ...]:
        if ref.kind == "const":
            if ref.module == "":
                from spec.consts import BUILTIN_CONSTANTS

                return BUILTIN_CONSTANTS[ref.name][1]
            return spec.modules[ref.module].consts[ref.name].folded
        raise NotConstant(ref.name)

    return str(fold(e, lookup))


def _big(v: int) -> str:
    """Write large round numbers as powers of ten where that is exact."""
    for exp in range(77, 5, -1):
        base = 10**exp
        if v % base == 0 and v // base < 10**6:
            q = v // base
            return f"10**{exp}" if q == 1 else f"{q} * 10**{exp}"
    return str(v)


def _tuple(values: tuple[int, ...]) -> str:
    return _tuple_exprs([_big(v) if v >= 10**6 else str(v) for v in values])


def _tuple_exprs(items: list[str]) -> str:
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"


def _strip_parens(s: str) -> str:
    if s.startswith("(") and s.endswith(")"):
        depth = 0
        for i, ch in enumerate(s):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(s) - 1:
                return s
        return s[1:-1]
    return s


def _comment(doc: str, indent: str = "") -> list[str]:
    return [f"{indent}# {ln}".rstrip() for ln in doc.splitlines()] if doc else []


def generate_module(spec: ir.Spec, name: str, *, probes: bool = False) -> str:
    """The Python source of module ``name``'s reference model (``probes``: with
    the probes of spec coverage, see :meth:`reference.runtime.World.probe`)."""
    return ModuleWriter(spec, spec.modules[name], probes=probes).write()


def generate_reasons(spec: ir.Spec) -> str:
    """The Python source of the shared ``reasons`` module: one exception class
    per revert reason of the spec."""
    reasons = set(spec.reasons) | set(GOVERN_REASONS)
    for m in spec.modules.values():
        reasons.update(ModuleWriter(spec, m).reasons_used())
    out = [
        '"""Revert reasons of the spec: one exception class per reason.',
        "",
        "Generated by imospec. Each class's ``reason`` is the string the contracts revert with.",
        '"""',
        "",
        "from reference.runtime import Revert",
    ]
    for r in sorted(reasons):
        out.extend(
            ["", "", f"class {exception_name(r)}(Revert):", f'    """Reverts with "{r}"."""', "", f'    reason = "{r}"']
        )
    out.append("")
    out.append("")
    out.append("BY_REASON: dict[str, type[Revert]] = {")
    for r in sorted(reasons):
        out.append(f'    "{r}": {exception_name(r)},')
    out.append("}")
    return "\n".join(out) + "\n"


def runtime_source() -> str:
    """The source of :mod:`reference.runtime`, for ``imospec model --emit runtime``."""
    from importlib import resources

    return resources.files("reference").joinpath("runtime.py").read_text(encoding="utf-8")


