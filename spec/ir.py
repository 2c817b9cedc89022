"""The checked intermediate representation: what the three consumers read.

Every name is resolved (a :class:`Ref` says what kind of thing it names and in
which module), every expression carries its :class:`Type`, clauses are lowered
into plain statements (``by`` / ``when`` / ``signed`` become ``Require`` and
``Assign`` at the top of the action body, ``+=`` becomes ``=`` with ``+``) and
templates (``extends``) are expanded. Spans survive for reports.

The IR is immutable after checking; consumers (reference, verification,
conformance) must not mutate it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from spec.diagnostics import Span
from spec.walk import preorder

# ------------------------------------------------------------------ types


@dataclass(frozen=True)
class Type:
    """Base of all types."""


@dataclass(frozen=True)
class Prim(Type):
    name: Literal["uint256", "bool", "address", "bytes32", "signature", "string", "none", "error"]

    def __str__(self) -> str:
        return self.name


UINT = Prim("uint256")
BOOL = Prim("bool")
ADDRESS = Prim("address")
BYTES32 = Prim("bytes32")
SIGNATURE = Prim("signature")
STRING = Prim("string")
NONE = Prim("none")
ERROR = Prim("error")  # the type of a local whose definition had an error; never in a clean IR


@dataclass(frozen=True)
class MapT(Type):
    key: Type
    value: Type

    def __str__(self) -> str:
        return f"map[{self.key}, {self.value}]"


@dataclass(frozen=True)
class ListT(Type):
    element: Type

    def __str__(self) -> str:
        return f"list[{self.element}]"


@dataclass(frozen=True)
class RecordT(Type):
    module: str
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class EnumT(Type):
    """The bands of a ``phases`` declaration, ordered from lowest price up."""

    module: str
    name: str

    def __str__(self) -> str:
        return self.name


# ------------------------------------------------------------ expressions

RefKind = Literal["const", "param", "governed", "state", "local", "env", "module", "enum", "bound"]
ENV_NAMES = ("caller", "now", "block_number", "chain_id", "self")


@dataclass(frozen=True, eq=False)
class Expr:
    type: Type
    span: Span | None


@dataclass(frozen=True, eq=False)
class Lit(Expr):
    """A literal integer, boolean or string (revert reasons only)."""

    value: int | bool | str


@dataclass(frozen=True, eq=False)
class Ref(Expr):
    """A resolved name.

    ``kind`` says what it names: a ``const``, ``param``, ``governed`` parameter
    or ``state`` variable of ``module``; a ``local`` (argument, ``let`` or loop
    variable); an ``env`` input (``caller``, ``now``, ``block_number``,
    ``chain_id``, ``self``); the address of ``module`` (kind ``module``); a
    phase band (``enum``, with ``index``); or a ``forall`` variable (``bound``).
    """

    kind: RefKind
    module: str
    name: str
    index: int = 0


@dataclass(frozen=True, eq=False)
class Index(Expr):
    base: Expr
    key: Expr


@dataclass(frozen=True, eq=False)
class Field(Expr):
    base: Expr
    name: str


@dataclass(frozen=True, eq=False)
class Bin(Expr):
    """Binary operator. Arithmetic: + - * / % **; comparison: == != < <= > >=;
    logic: and or ==>."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, eq=False)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True, eq=False)
class Cond(Expr):
    test: Expr
    then: Expr
    orelse: Expr


BUILTINS = ("min", "max", "mul_div_down", "mul_div_up", "div_up", "isqrt", "len", "hash")


@dataclass(frozen=True, eq=False)
class Builtin(Expr):
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class FnCall(Expr):
    module: str
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class ActionCall(Expr):
    """A call to an action; appears only as a statement or a let/assign value."""

    module: str
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class RecordNew(Expr):
    module: str
    record: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class PhaseOf(Expr):
    module: str
    phases: str
    price: Expr


@dataclass(frozen=True, eq=False)
class DecayLevelOf(Expr):
    module: str
    decay: str
    amount: Expr


@dataclass(frozen=True, eq=False)
class DecayAt(Expr):
    module: str
    decay: str
    level: Expr
    backed: Expr
    since: Expr
    now: Expr


@dataclass(frozen=True, eq=False)
class SignedBy(Expr):
    """True when ``signature`` is ``owner``'s signature over ``request`` (a
    record of kind ``request_type``) for this chain and verifying contract."""

    signature: Expr
    owner: Expr
    request: Expr
    request_type: str
    module: str


@dataclass(frozen=True, eq=False)
class Forall(Expr):
    vars: tuple[tuple[str, Type], ...]
    body: Expr


@dataclass(frozen=True, eq=False)
class Sum(Expr):
    map: Expr


@dataclass(frozen=True, eq=False)
class Old(Expr):
    operand: Expr


@dataclass(frozen=True, eq=False)
class ListLit(Expr):
    items: tuple[Expr, ...]


# ------------------------------------------------------------- statements


@dataclass(frozen=True, eq=False)
class Stmt:
    span: Span | None


@dataclass(frozen=True, eq=False)
class Let(Stmt):
    name: str
    type: Type
    value: Expr


@dataclass(frozen=True, eq=False)
class Assign(Stmt):
    """``target = value``; the target is a Ref (state/local/param in init),
    an Index chain or a Field of those."""

    target: Expr
    value: Expr


@dataclass(frozen=True, eq=False)
class Require(Stmt):
    cond: Expr
    reason: str
    origin: str = "require"  # require | by | when | signed-expiry | signed-nonce | signed-sig


@dataclass(frozen=True, eq=False)
class If(Stmt):
    test: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]


@dataclass(frozen=True, eq=False)
class Emit(Stmt):
    module: str
    event: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class Return(Stmt):
    value: Expr


@dataclass(frozen=True, eq=False)
class CallStmt(Stmt):
    call: ActionCall


@dataclass(frozen=True, eq=False)
class Govern(Stmt):
    """Set the governed parameter identified by (target, key) to value.
    ``candidates`` lists the (module, name) parameters this timelock governs;
    ``hooks`` the calls that run after one of them is set, each with the
    (module, name) it follows (``after govern module.name: action()``), in
    the modules' order."""

    target: Expr
    key: Expr
    value: Expr
    candidates: tuple[tuple[str, str], ...]
    hooks: tuple[tuple[tuple[str, str], ActionCall], ...] = ()

    def hooks_of(self, module: str, name: str) -> tuple[ActionCall, ...]:
        """The calls that run after ``module.name`` is set."""
        return tuple(call for target, call in self.hooks if target == (module, name))


@dataclass(frozen=True, eq=False)
class For(Stmt):
    var: str
    count: int
    body: tuple[Stmt, ...]


# ------------------------------------------------------------ the walker
#
# The one IR walker: every consumer (the checker, the analyses, the encoder,
# the code generator, the conformance generator) walks the IR through these.


def walk(stmts: tuple[Stmt, ...]) -> list[Stmt]:
    """Every statement of a body, nested ones included, in source order.

    Iterative, so that deeply nested input cannot exhaust the stack.
    """
    return preorder(stmts, nested_stmts)


def nested_stmts(s: Stmt) -> tuple[Stmt, ...]:
    """The statements directly inside ``s`` (the branches of an ``if``, a loop's body)."""
    if isinstance(s, If):
        return (*s.then, *s.orelse)
    if isinstance(s, For):
        return s.body
    return ()


def stmt_exprs(s: Stmt) -> list[Expr]:
    """The expressions a statement evaluates itself (not those of nested statements)."""
    if isinstance(s, Let):
        return [s.value]
    if isinstance(s, Assign):
        return [s.target, s.value]
    if isinstance(s, Require):
        return [s.cond]
    if isinstance(s, If):
        return [s.test]
    if isinstance(s, Emit):
        return list(s.args)
    if isinstance(s, Return):
        return [s.value]
    if isinstance(s, CallStmt):
        return [s.call]
    if isinstance(s, Govern):
        return [s.target, s.key, s.value]
    return []


def expr_children(e: Expr) -> list[Expr]:
    """The direct sub-expressions of ``e`` (not through function bodies)."""
    if isinstance(e, Index):
        return [e.base, e.key]
    if isinstance(e, Field):
        return [e.base]
    if isinstance(e, Bin):
        return [e.left, e.right]
    if isinstance(e, Not):
        return [e.operand]
    if isinstance(e, Cond):
        return [e.test, e.then, e.orelse]
    if isinstance(e, Builtin | FnCall | ActionCall | RecordNew):
        return list(e.args)
    if isinstance(e, PhaseOf):
        return [e.price]
    if isinstance(e, DecayLevelOf):
        return [e.amount]
    if isinstance(e, DecayAt):
        return [e.level, e.backed, e.since, e.now]
    if isinstance(e, SignedBy):
        return [e.signature, e.owner, e.request]
    if isinstance(e, Forall):
        return [e.body]
    if isinstance(e, Sum):
        return [e.map]
    if isinstance(e, Old):
        return [e.operand]
    if isinstance(e, ListLit):
        return list(e.items)
    return []


def walk_expr(e: Expr) -> list[Expr]:
    """``e`` and every sub-expression, parents before children, left to right
    (not through function bodies). Iterative, like :func:`walk`."""
    return preorder([e], expr_children)


def action_calls(e: Expr) -> list[ActionCall]:
    """Every action call inside ``e``, outermost first."""
    return [x for x in walk_expr(e) if isinstance(x, ActionCall)]


# ----------------------------------------------------------- declarations


@dataclass(frozen=True)
class Const:
    name: str
    type: Type
    value: Expr
    folded: int | bool | tuple[int, ...]
    span: Span
    doc: str


@dataclass(frozen=True)
class Param:
    name: str
    type: Type
    default: Expr | None
    span: Span
    doc: str


@dataclass(frozen=True)
class Governed:
    """A governed parameter. An address one has no default (a deployment
    argument) and the bounds [1, 2**160 - 1] on the uint256 `govern` gives it:
    any address but zero."""

    name: str
    type: Type
    default: Expr | None
    low: Expr
    high: Expr
    via: str
    key: str  # "module.name"; its keccak256 identifies it to the timelock
    span: Span
    doc: str


@dataclass(frozen=True)
class StateVar:
    name: str
    type: Type
    init: Expr | None
    span: Span
    doc: str


@dataclass(frozen=True)
class RecordDecl:
    name: str
    fields: tuple[tuple[str, Type], ...]
    span: Span
    doc: str
    nonce_map: str | None = None  # set for signed request kinds


@dataclass(frozen=True)
class EventDecl:
    name: str
    fields: tuple[tuple[str, Type], ...]
    span: Span
    doc: str


@dataclass(frozen=True)
class PhasesDecl:
    name: str
    bands: tuple[str, ...]  # lowest first
    thresholds: tuple[Expr, ...]  # len(bands) - 1, ascending
    span: Span
    doc: str


@dataclass(frozen=True)
class DecayDecl:
    name: str
    levels: Expr
    periods: Expr
    level_values: tuple[int, ...]
    period_values: tuple[int, ...]
    span: Span
    doc: str


@dataclass(frozen=True)
class Rule:
    """An invariant, lemma or theorem. ``transition`` is true when it uses
    ``old``: it relates the states before and after each action."""

    name: str
    kind: Literal["invariant", "lemma", "theorem"]
    expr: Expr
    transition: bool
    reads: frozenset[tuple[str, str]]  # (module, state name) it reads
    span: Span
    doc: str


@dataclass(frozen=True)
class Cover:
    """A cover: something some run of the protocol must reach, shown by a
    witness trace. With ``action`` None, a reachable state where ``expr``
    holds; else a successful call of ``action`` (of this module) from a
    reachable state, with ``expr`` (over its arguments and the state before
    the call, None for any) holding for that call."""

    name: str
    action: str | None
    expr: Expr | None
    reads: frozenset[tuple[str, str]]
    span: Span
    doc: str


@dataclass(frozen=True)
class Fn:
    name: str
    params: tuple[tuple[str, Type], ...]
    returns: Type
    body: tuple[Stmt, ...]
    span: Span
    doc: str


@dataclass(frozen=True)
class Action:
    """An action; ``body`` starts with the lowered clauses."""

    name: str
    params: tuple[tuple[str, Type], ...]
    returns: Type
    internal: bool
    body: tuple[Stmt, ...]
    ensures: tuple[Expr, ...]
    reasons: tuple[str, ...]  # every revert reason this action can raise itself
    phase_gate: tuple[str, tuple[str, ...]] | None  # (phases name, allowed bands)
    signed_request: str | None
    span: Span
    doc: str


@dataclass(frozen=True)
class Module:
    name: str
    file: str
    doc: str
    imports: tuple[str, ...]
    consts: dict[str, Const]
    params: dict[str, Param]
    governed: dict[str, Governed]
    state: dict[str, StateVar]
    records: dict[str, RecordDecl]
    events: dict[str, EventDecl]
    phases: dict[str, PhasesDecl]
    decays: dict[str, DecayDecl]
    init: tuple[Stmt, ...]
    rules: tuple[Rule, ...]
    fns: dict[str, Fn]
    actions: dict[str, Action]
    span: Span
    extends: tuple[str, ...] = field(default=())  # template chain, nearest first
    covers: tuple[Cover, ...] = field(default=())


@dataclass(frozen=True)
class Spec:
    """A checked spec: its deployable modules in a fixed order (dependencies
    first where there are no cycles)."""

    modules: dict[str, Module]
    sources: dict[str, str]  # file name -> text, for quoting

    def module(self, name: str) -> Module:
        """The module called ``name``.

        Raises:
            KeyError: no such module.
        """
        return self.modules[name]

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every revert reason of the spec, sorted."""
        out: set[str] = {"UNAUTHORIZED"}
        for m in self.modules.values():
            for a in m.actions.values():
                out.update(a.reasons)
        return tuple(sorted(out))
