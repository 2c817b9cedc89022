"""The checker's shared ground: scopes, the base class with its diagnostics, small helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from spec import ast, ir
from spec.consts import Value
from spec.diagnostics import Diagnostic, Span

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

class CheckerBase:
    """The state every part of the checker shares, and how it reports a problem."""

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
        self._gaps: set[tuple[str, str]] = set()  # (instance, name) reported missing (E016)

    # ------------------------------------------------------------ helpers
    def error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        """Record a diagnostic."""
        self.diags.append(Diagnostic(code, message, span, hint))

    def fail(self, code: str, message: str, span: Span | None, hint: str | None = None) -> _Abort:
        """Record a diagnostic and return the exception that stops checking the current expression or statement."""
        self.error(code, message, span, hint)
        return _Abort()


# ----------------------------------------------------------- small helpers


def _kind_of(decl: ast.Decl) -> str:
    kinds = {ast.Fn: "a function", ast.Action: "an action", ast.Event: "an event", ast.Record: "a record type",
             ast.Request: "a request type", ast.Phases: "a phase set", ast.Decay: "a decay schedule",
             ast.Rule: "a rule", ast.Cover: "a cover", ast.Import: "a module", ast.Const: "a constant",
             ast.Param: "a parameter", ast.Governed: "a governed parameter", ast.State: "a state variable"}
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

