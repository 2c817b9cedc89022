"""The surface syntax tree: what was written, with a span on every node.

Built from the Lark parse tree by :mod:`spec.parser`; nothing outside ``spec``
sees it. Nodes compare by identity so that later stages can key side tables on
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spec.diagnostics import Span
from spec.walk import preorder

# ----------------------------------------------------------------- types


@dataclass(eq=False)
class TypeExpr:
    span: Span


@dataclass(eq=False)
class PrimType(TypeExpr):
    name: str  # uint256 | bool | address | bytes32 | signature


@dataclass(eq=False)
class MapType(TypeExpr):
    key: TypeExpr
    value: TypeExpr


@dataclass(eq=False)
class ListType(TypeExpr):
    element: TypeExpr


@dataclass(eq=False)
class NamedType(TypeExpr):
    name: str


# ----------------------------------------------------------- expressions


@dataclass(eq=False)
class Expr:
    span: Span


@dataclass(eq=False)
class IntLit(Expr):
    value: int


@dataclass(eq=False)
class BoolLit(Expr):
    value: bool


@dataclass(eq=False)
class StrLit(Expr):
    value: str


@dataclass(eq=False)
class Name(Expr):
    id: str


@dataclass(eq=False)
class Member(Expr):
    base: Expr
    name: str


@dataclass(eq=False)
class Index(Expr):
    base: Expr
    key: Expr


@dataclass(eq=False)
class Call(Expr):
    func: Expr
    args: list[Expr]


@dataclass(eq=False)
class BinOp(Expr):
    op: str  # + - * / % ** == != < <= > >= and or ==>
    left: Expr
    right: Expr


@dataclass(eq=False)
class Not(Expr):
    operand: Expr


@dataclass(eq=False)
class Cond(Expr):
    test: Expr
    then: Expr
    orelse: Expr


@dataclass(eq=False)
class Binder:
    name: str
    type: TypeExpr
    span: Span


@dataclass(eq=False)
class Forall(Expr):
    binders: list[Binder]
    body: Expr


@dataclass(eq=False)
class ListLit(Expr):
    items: list[Expr]


# ------------------------------------------------------------ statements


@dataclass(eq=False)
class Stmt:
    span: Span


@dataclass(eq=False)
class Let(Stmt):
    name: str
    type: TypeExpr | None
    value: Expr


@dataclass(eq=False)
class Assign(Stmt):
    target: Expr
    op: str  # = += -=
    value: Expr


@dataclass(eq=False)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(eq=False)
class Require(Stmt):
    cond: Expr
    reason: str
    reason_span: Span


@dataclass(eq=False)
class If(Stmt):
    test: Expr
    then: list[Stmt]
    orelse: list[Stmt]


@dataclass(eq=False)
class Emit(Stmt):
    event: str
    args: list[Expr]


@dataclass(eq=False)
class Return(Stmt):
    value: Expr


@dataclass(eq=False)
class Govern(Stmt):
    target: Expr
    key: Expr
    value: Expr


@dataclass(eq=False)
class For(Stmt):
    var: str
    bound: Expr
    body: list[Stmt]


# ---------------------------------------------------------- declarations


@dataclass(eq=False)
class Decl:
    name: str
    span: Span
    doc: str = field(default="", kw_only=True)


@dataclass(eq=False)
class Import(Decl):
    pass


@dataclass(eq=False)
class Const(Decl):
    type: TypeExpr
    value: Expr


@dataclass(eq=False)
class Param(Decl):
    type: TypeExpr
    default: Expr | None


@dataclass(eq=False)
class Governed(Decl):
    """``governed name: uint256 = default in [low, high] via timelock``, or
    ``governed name: address via timelock`` (no default, no bounds)."""

    type: TypeExpr
    default: Expr | None
    low: Expr | None
    high: Expr | None
    via: str
    via_span: Span


@dataclass(eq=False)
class State(Decl):
    type: TypeExpr
    init: Expr | None


@dataclass(eq=False)
class FieldDecl:
    name: str
    type: TypeExpr
    span: Span


@dataclass(eq=False)
class Record(Decl):
    fields: list[FieldDecl]


@dataclass(eq=False)
class Event(Decl):
    fields: list[FieldDecl]


@dataclass(eq=False)
class Request(Decl):
    nonce_map: str
    nonce_map_span: Span
    fields: list[FieldDecl]


@dataclass(eq=False)
class PhaseBand:
    name: str
    below: Expr | None  # None for the top band
    span: Span


@dataclass(eq=False)
class Phases(Decl):
    bands: list[PhaseBand]


@dataclass(eq=False)
class Decay(Decl):
    levels: Expr
    periods: Expr


@dataclass(eq=False)
class Init(Decl):
    body: list[Stmt]


@dataclass(eq=False)
class Rule(Decl):
    kind: str  # invariant | lemma | theorem
    expr: Expr


@dataclass(eq=False)
class GovernHook(Decl):
    """``after govern module.param: action()``: the module's internal
    ``action`` runs each time ``govern`` sets ``module.param``. Its ``name``
    is ``after govern module.param`` (no other declaration can take it)."""

    module: str
    param: str
    target_span: Span
    action: str
    action_span: Span


@dataclass(eq=False)
class Cover(Decl):
    """``cover NAME: expr`` (``action`` None: a reachable state where ``expr``
    holds) or ``cover NAME: succeeds action where expr`` (a successful call of
    the module's ``action`` from a reachable state, ``expr`` over its
    arguments and the state before it; None when there is no ``where``)."""

    action: str | None
    action_span: Span | None
    expr: Expr | None


@dataclass(eq=False)
class Fn(Decl):
    params: list[FieldDecl]
    returns: TypeExpr
    body: list[Stmt]


@dataclass(eq=False)
class ByClause:
    who: Expr
    span: Span


@dataclass(eq=False)
class WhenClause:
    phases: str
    price: Expr
    allowed: list[tuple[str, Span]]
    span: Span


@dataclass(eq=False)
class SignedClause:
    request_arg: str
    owner: Expr
    signature_arg: str
    span: Span


@dataclass(eq=False)
class Action(Decl):
    params: list[FieldDecl]
    returns: TypeExpr | None
    internal: bool
    by: list[ByClause]
    when: list[WhenClause]
    signed: list[SignedClause]
    ensures: list[Expr]
    body: list[Stmt]


@dataclass(eq=False)
class Module:
    name: str
    span: Span
    file: str
    abstract: bool
    extends: str | None
    extends_span: Span | None
    decls: list[Decl]
    doc: str = ""


def walk(stmts: list[Stmt]) -> list[Stmt]:
    """Every statement of a parsed body, nested ones included, in source order
    (the surface twin of :func:`spec.ir.walk`; iterative)."""
    return preorder(stmts, _nested)


def _nested(s: Stmt) -> list[Stmt]:
    if isinstance(s, If):
        return [*s.then, *s.orelse]
    if isinstance(s, For):
        return s.body
    return []
