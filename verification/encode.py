"""The checked IR as Z3 terms: values, symbolic states, and symbolic execution.

One :class:`Encoder` builds the terms of one query. It executes statements
symbolically: an action step becomes a post-state (a :class:`SymState`) and a
*revert condition* (a disjunction of "this path is taken and this check
fails"). Branches are executed separately and merged with if-then-else; a
``return`` inside a branch absorbs the statements after the ``if`` into the
branches that fall through, so straight-line merging stays exact.

Semantics follow docs/language.md and the reference model:

- actions and functions use checked uint256 arithmetic: overflow, underflow,
  division by zero and a failed ``require`` make the whole top-level step
  revert (a reverted step changes nothing);
- rules and ``ensures`` state mathematical facts: their ``+ - * / % **`` are
  exact (no overflow; a negative difference stays negative; division by zero
  gives 0 and ``a % 0`` gives ``a``), while functions and builtins they call
  keep checked arithmetic; a rule whose evaluation faults does not hold;
- ``and``, ``or``, ``==>`` and ``if then else`` short-circuit;
- maps are Z3 arrays (a map of records is one array per field), records are
  tuples of fields, ``sum(m)`` is a ghost total kept in step on every write
  to ``m``, ``hash`` is an uninterpreted function and ``signed ...
  by`` an uninterpreted predicate over the owner, every field of the request,
  the chain id and the verifying contract (collision resistance is stated as
  ground facts: two ``hash`` terms of a query are equal only if their
  arguments are, which avoids quantified axioms that defeat model finding);
- action calls are inlined into the same step (bounded depth), ``for`` loops
  are unrolled, ``govern`` is a case split over its candidates.

Side facts (value ranges, definitions of ``isqrt``) are true of every real
state and are collected next to the terms; inside a ``forall`` they become
hypotheses of the quantifier, inside a branch they are guarded by the path.

Why one module of about 1,300 lines: it is one job, symbolic execution, and
its two halves are mutually recursive (an expression calls a function or an
action, whose body is statements; a statement evaluates expressions), sharing
the encoder's state (path condition, revert sinks, ghost sums, the keys each
map is read at). Split across files, every half would need the other's
methods declared as stubs; the sections below (values, states, helpers,
basics, value shapes, map access, expressions, statements) are its rooms.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from spec import ir
from spec.consts import BUILTIN_CONSTANTS
from verification.capi import int_below, int_between, select
from verification.domain import ADDRESS_MAX, UINT_MAX, Domain

MAX_CALL_DEPTH = 16
GHOST_BITS = 420  # width of a ghost sum in the bit-vector domain
GHOST_MAX = 2**416  # 2**160 keys times values below 2**256


class EncodingError(Exception):
    """The spec uses something the encoder cannot express (reported as unknown)."""


# ------------------------------------------------------------------ values


@dataclass(frozen=True)
class MapVal:
    """A map value: ``arrays`` has the shape of the value type's leaves, each
    leaf an array over ``key`` (nested maps nest arrays)."""

    key: ir.Type
    value: ir.Type
    arrays: Any


@dataclass(frozen=True)
class ListVal:
    """A constant list."""

    items: tuple[Any, ...]


# A value: a Z3 term (scalar), a dict of field values (record), a MapVal or a
# ListVal. Kept as Any: Z3 terms are untyped for mypy.
Rep = Any
StateKey = tuple[str, str, str]  # (kind, module, name); kind: s state, g governed, p param, sum ghost


@dataclass(frozen=True)
class Env:
    """The environment inputs of one top-level action (and of calls it makes)."""

    caller: Any
    now: Any
    block_number: Any
    chain_id: Any


@dataclass
class Frame:
    """One activation: the module whose code runs, its locals, its environment."""

    module: str
    locals: dict[str, Rep]
    env: Env | None
    depth: int = 0


@dataclass(frozen=True)
class Mode:
    """How expressions evaluate: exact arithmetic (rules) or checked, and the
    state that ``old(...)`` reads."""

    exact: bool = False
    old: SymState | None = None


CHECKED = Mode()


class _SetLocal(ir.Stmt):
    """An unrolled loop's ``var = k`` (internal to the encoder)."""

    def __init__(self, name: str, value: int) -> None:
        super().__init__(None)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "value", value)

    name: str
    value: int


# ------------------------------------------------------------------ states


class Base:
    """Supplies the value of a state entry that a :class:`SymState` has not set."""

    def __init__(self) -> None:
        self.created: dict[StateKey, Rep] = {}

    def get(self, key: StateKey) -> Rep:
        """The value of a state entry, created (by :meth:`make`) the first time it is asked for."""
        if key not in self.created:
            self.created[key] = self.make(key)
        return self.created[key]

    def make(self, key: StateKey) -> Rep:  # pragma: no cover - abstract
        """Create the value of a state entry this base has not created yet.

        Raises:
            NotImplementedError: in the base class itself.
        """
        raise NotImplementedError


class SymState:
    """A symbolic global state: every module's state, governed parameters,
    parameters and ghost sums, created lazily from a :class:`Base`."""

    def __init__(self, base: Base, vals: dict[StateKey, Rep] | None = None) -> None:
        self.base = base
        self.vals: dict[StateKey, Rep] = dict(vals or {})

    def get(self, key: StateKey) -> Rep:
        """The value of a state entry: set in this state, or the base's."""
        if key in self.vals:
            return self.vals[key]
        return self.base.get(key)

    def set(self, key: StateKey, value: Rep) -> None:
        """Set a state entry's value in this state."""
        self.vals[key] = value

    def copy(self) -> SymState:
        """A state with the same values, sharing the base (setting one does not change the other)."""
        return SymState(self.base, self.vals)

    def keys(self) -> list[StateKey]:
        """Every state entry created or set so far, in order."""
        return list(dict.fromkeys([*self.base.created, *self.vals]))


# ---------------------------------------------------------------- helpers


def tree_map(f: Callable[[Any], Any], t: Any) -> Any:
    """Apply ``f`` to every leaf of a (record- or list-shaped) value."""
    if isinstance(t, dict):
        return {k: tree_map(f, v) for k, v in t.items()}
    return f(t)


def select_at(k: Any) -> Callable[[Any], Any]:
    """A function reading an array at ``k`` (for :func:`tree_map`)."""
    return lambda arr: select(arr, k)


def tree_zip(f: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """Pairs of the corresponding leaves of two values of the same shape."""
    if isinstance(a, dict):
        return {k: tree_zip(f, a[k], b[k]) for k in a}
    return f(a, b)


def tree_leaves(t: Any) -> Iterator[Any]:
    """The leaves of a (record- or list-shaped) value, in order."""
    if isinstance(t, dict):
        for v in t.values():
            yield from tree_leaves(v)
    else:
        yield t


def same(a: Rep, b: Rep) -> bool:
    """Whether two values are syntactically identical (no merge needed)."""
    if a is b:
        return True
    if isinstance(a, MapVal) and isinstance(b, MapVal):
        return all(z3.eq(x, y) for x, y in zip(tree_leaves(a.arrays), tree_leaves(b.arrays), strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return all(same(a[k], b[k]) for k in a)
    if isinstance(a, ListVal) and isinstance(b, ListVal):
        return a == b
    if isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef):
        return bool(z3.eq(a, b))
    return False


# The Boolean connectives below build exactly the terms ``z3.And``, ``z3.Or``,
# ``z3.Implies`` and ``z3.Not`` build, through Z3's C API directly: z3py's
# argument coercion and its ``is_true`` (four API calls each) were a fifth of
# the time spent encoding a query.


def _constant(a: Any) -> int:
    """1 when ``a`` is the term ``true``, -1 when it is ``false``, else 0."""
    if isinstance(a, z3.BoolRef):
        return int(z3.Z3_get_bool_value(a.ctx_ref(), a.as_ast()))
    return 1 if z3.is_true(a) else -1 if z3.is_false(a) else 0


def _nary(mk: Callable[..., Any], items: list[Any], fallback: Callable[..., Any]) -> Any:
    ctx: Any = getattr(items[0], "ctx", None)
    if not all(isinstance(i, z3.BoolRef) and i.ctx is ctx for i in items):
        return fallback(*items)  # z3py coerces (or raises on mixed contexts)
    args = (z3.Ast * len(items))(*(i.as_ast() for i in items))
    return z3.BoolRef(mk(ctx.ref(), len(items), args), ctx)


def conj(items: Sequence[Any]) -> Any:
    """The conjunction of ``items`` (``True`` when empty), simplified for constants."""
    flags = [_constant(i) for i in items]
    if -1 in flags:
        return z3.BoolVal(False)
    items = [i for i, f in zip(items, flags, strict=True) if f != 1]
    if not items:
        return z3.BoolVal(True)
    return items[0] if len(items) == 1 else _nary(z3.Z3_mk_and, items, z3.And)


def disj(items: Sequence[Any]) -> Any:
    """The disjunction of ``items`` (``False`` when empty), simplified for constants."""
    flags = [_constant(i) for i in items]
    if 1 in flags:
        return z3.BoolVal(True)
    items = [i for i, f in zip(items, flags, strict=True) if f != -1]
    if not items:
        return z3.BoolVal(False)
    return items[0] if len(items) == 1 else _nary(z3.Z3_mk_or, items, z3.Or)


def implies(a: Any, b: Any) -> Any:
    """``a ==> b``, simplified for constants."""
    ca = _constant(a)
    if ca == 1:
        return b
    if ca == -1 or _constant(b) == 1:
        return z3.BoolVal(True)
    if isinstance(a, z3.BoolRef) and isinstance(b, z3.BoolRef) and a.ctx is b.ctx:
        return z3.BoolRef(z3.Z3_mk_implies(a.ctx_ref(), a.as_ast(), b.as_ast()), a.ctx)
    return z3.Implies(a, b)


def negate(a: Any) -> Any:
    """``not a``, simplified for constants."""
    c = _constant(a)
    if c == 1:
        return z3.BoolVal(False)
    if c == -1:
        return z3.BoolVal(True)
    if isinstance(a, z3.BoolRef):
        return z3.BoolRef(z3.Z3_mk_not(a.ctx_ref(), a.as_ast()), a.ctx)
    return z3.Not(a)


def has_return(stmts: Sequence[ir.Stmt]) -> bool:
    """Whether a body returns anywhere (nested statements included)."""
    for s in stmts:
        if isinstance(s, ir.Return):
            return True
        if isinstance(s, ir.If) and (has_return(s.then) or has_return(s.orelse)):
            return True
        if isinstance(s, ir.For) and has_return(s.body):
            return True
    return False


def always_returns(stmts: Sequence[ir.Stmt]) -> bool:
    """Whether every path through a body ends in a ``return``."""
    for s in stmts:
        if isinstance(s, ir.Return):
            return True
        if isinstance(s, ir.If) and always_returns(s.then) and always_returns(s.orelse):
            return True
    return False


def may_be_negative(e: ir.Expr) -> bool:
    """Whether an expression in exact (rule) arithmetic may be negative."""
    if isinstance(e, ir.Bin):
        if e.op == "-":
            return True
        if e.op in ("+", "*", "/", "%", "**"):
            return may_be_negative(e.left) or may_be_negative(e.right)
        return False
    if isinstance(e, ir.Cond):
        return may_be_negative(e.then) or may_be_negative(e.orelse)
    if isinstance(e, ir.Old):
        return may_be_negative(e.operand)
    if isinstance(e, ir.Builtin) and e.name in ("min", "max"):
        return any(may_be_negative(a) for a in e.args)
    return False


# Encoder attributes that hold no Z3 term (or are rebuilt by ``clone``).
_UNTRANSLATED = frozenset({"spec", "dom", "sum_maps", "_sinks", "_revert_sinks", "_bound", "counter", "tag",
                           "recording_keys", "revert_origins", "stmt", "path"})


def _collect(into: list[Any]) -> Callable[[Any], Any]:
    def f(t: Any) -> Any:
        into.append(t)
        return t
    return f


def _map_terms(o: Any, f: Callable[[Any], Any]) -> Any:
    """``o`` with every Z3 term in it replaced by ``f(term)``, in a fixed
    order (containers and the encoder's value shapes are rebuilt; anything
    else holds no term and is kept)."""
    if isinstance(o, z3.AstRef):
        return f(o)
    if isinstance(o, list):
        return [_map_terms(x, f) for x in o]
    if isinstance(o, tuple):
        return tuple(_map_terms(x, f) for x in o)
    if isinstance(o, dict):
        return {k: _map_terms(v, f) for k, v in o.items()}
    if isinstance(o, MapVal):
        return MapVal(o.key, o.value, _map_terms(o.arrays, f))
    if isinstance(o, ListVal):
        return ListVal(_map_terms(o.items, f))
    if isinstance(o, Env):
        return Env(*(_map_terms(getattr(o, n), f) for n in ("caller", "now", "block_number", "chain_id")))
    if isinstance(o, SignedUse):
        return SignedUse(o.tag, o.arg, _map_terms(o.owner, f), _map_terms(o.request, f), o.request_type,
                         o.module, _map_terms(o.chain_id, f), _map_terms(o.contract, f))
    return o


ARITH_OPS = ("+", "-", "*", "/", "%", "**")
ORDER_OPS = ("<", "<=", ">", ">=")


# ----------------------------------------------------------------- encoder


@dataclass
class SignedUse:
    """A ``signed`` check met while encoding: what the replay must sign."""

    tag: str
    arg: str
    owner: Any
    request: dict[str, Any]
    request_type: str
    module: str
    chain_id: Any
    contract: Any


@dataclass
class Encoder:
    """Builds the terms of one query. Not reusable across queries."""

    spec: ir.Spec
    dom: Domain
    facts: list[Any] = field(default_factory=list)
    reverts: list[Any] = field(default_factory=list)
    axioms: list[Any] = field(default_factory=list)
    counter: int = 0

    def __post_init__(self) -> None:
        self._sinks: list[list[Any]] = [self.facts]
        self._revert_sinks: list[list[Any]] = [self.reverts]
        self._bound: list[dict[str, Any]] = []
        self.skolem: dict[str, Any] = {}
        self.skolem_types: dict[str, ir.Type] = {}
        self.pc: Any = z3.BoolVal(True)
        self.addr: dict[str, Any] = {}
        self.eoas: list[Any] = []
        self.hash_fns: dict[tuple[str, ...], Any] = {}
        self.hash_apps: list[tuple[Any, tuple[Any, ...], tuple[ir.Type, ...]]] = []
        self.isqrt_fn: Any = None
        self.signed_fns: dict[tuple[str, str], Any] = {}
        self.signed_uses: list[SignedUse] = []
        self.touched: dict[StateKey, list[tuple[Any, ...]]] = {}
        self.sum_keys: dict[StateKey, list[Any]] = {}
        self.tag = ""
        self.sum_maps = _summed_maps_cached(self.spec)
        self.recording_keys = True
        # the statement behind each revert term (by the term's id), and the
        # `if`s on its path, so that an unsatisfiable core of reverts names
        # the conditions that failed
        self.revert_origins: dict[int, tuple[ir.Stmt, ...]] = {}
        self.stmt: ir.Stmt | None = None
        self.path: tuple[ir.Stmt, ...] = ()

    def clone(self) -> Encoder:
        """An independent copy that shares the Z3 terms built so far: encode a
        step once, then evaluate each rule on a clone."""
        new = copy.copy(self)
        new.facts = list(self.facts)
        new.reverts = list(self.reverts)
        new.axioms = list(self.axioms)
        new._sinks = [new.facts]
        new._revert_sinks = [new.reverts]
        new._bound = []
        new.skolem = dict(self.skolem)
        new.skolem_types = dict(self.skolem_types)
        new.addr = dict(self.addr)
        new.eoas = list(self.eoas)
        new.hash_fns = dict(self.hash_fns)
        new.hash_apps = list(self.hash_apps)
        new.signed_fns = dict(self.signed_fns)
        new.signed_uses = list(self.signed_uses)
        new.touched = {k: list(v) for k, v in self.touched.items()}
        new.sum_keys = {k: list(v) for k, v in self.sum_keys.items()}
        if "param_vals" in self.__dict__:
            new.__dict__["param_vals"] = dict(self.__dict__["param_vals"])
        return new

    def translated(self, target: Any, extra: Sequence[Any] = ()) -> tuple[Encoder, list[Any]]:
        """A clone whose terms live in the Z3 context ``target``, and ``extra``
        (values, states' entries, anything holding terms) carried over with it.

        Every term is copied in one pass, the encoder's own first and then
        ``extra`` in order, so the terms a fresh ``target`` numbers depend on
        nothing but what is copied: a step encoded once in a context of its
        own is handed to each query as if the query had built it, without
        executing the action again.
        """
        new = self.clone()
        names = [n for n in new.__dict__ if n not in _UNTRANSLATED]
        flat: list[Any] = []
        _map_terms([new.__dict__[n] for n in names], _collect(flat))
        _map_terms(list(extra), _collect(flat))
        vec = z3.AstVector(ctx=self.pc.ctx)
        for t in flat:
            vec.push(t)
        moved = vec.translate(target)
        it = iter(moved[i] for i in range(len(moved)))
        for n, v in zip(names, _map_terms([new.__dict__[n] for n in names], lambda _: next(it)), strict=True):
            new.__dict__[n] = v
        new._sinks = [new.facts]
        new._revert_sinks = [new.reverts]
        return new, _map_terms(list(extra), lambda _: next(it))

    # ----------------------------------------------------------- basics
    def push_revert_sink(self) -> list[Any]:
        """Collect the revert terms of what follows in a list of their own."""
        sink: list[Any] = []
        self._revert_sinks.append(sink)
        return sink

    def pop_revert_sink(self) -> list[Any]:
        """Stop collecting revert terms in the innermost sink; return its terms."""
        return self._revert_sinks.pop()

    def fresh_name(self, prefix: str) -> str:
        """A name not used before in this encoder, starting with ``prefix``."""
        self.counter += 1
        return f"{prefix}!{self.counter}"

    def fact(self, f: Any) -> None:
        """Record ``f`` as holding wherever the current path condition holds."""
        if z3.is_true(f):
            return
        self._sinks[-1].append(implies(self.pc, f))

    def revert_if_not(self, ok: Any, pc: Any | None = None) -> None:
        """Record that the action reverts on the current path (or ``pc``)
        when ``ok`` fails, because of the statement being executed."""
        if z3.is_true(ok):
            return
        term = conj([self.pc if pc is None else pc, negate(ok)])
        self._revert_sinks[-1].append(term)
        if self.stmt is not None:
            self.revert_origins[term.get_id()] = (*self.path, self.stmt)

    def address(self, module: str) -> Any:
        """The symbolic address of a module's deployed instance."""
        if module not in self.addr:
            self.addr[module] = z3.Int(f"addr.{module}")
        return self.addr[module]

    def record_fields(self, t: ir.RecordT) -> tuple[tuple[str, ir.Type], ...]:
        """The fields of a record type, in order."""
        return self.spec.modules[t.module].records[t.name].fields

    def sort(self, t: ir.Type) -> Any:
        """The Z3 sort of a scalar type.

        Raises:
            EncodingError: ``t`` is not a scalar.
        """
        if t == ir.UINT:
            return self.dom.usort()
        if t == ir.BOOL:
            return z3.BoolSort()
        if isinstance(t, ir.Prim | ir.EnumT):
            return z3.IntSort()
        raise EncodingError(f"no scalar sort for {t}")

    def range_fact(self, t: ir.Type, v: Any) -> Any:
        """The fact that ``v`` is a valid value of type ``t`` (its range)."""
        if t == ir.UINT:
            return self.dom.stored_fact(v)
        if t == ir.ADDRESS:
            return int_between(v, 0, ADDRESS_MAX)
        if t == ir.BYTES32:
            return int_between(v, 0, UINT_MAX)
        if isinstance(t, ir.EnumT):
            n = len(self.spec.modules[t.module].phases[t.name].bands)
            return int_below(v, n)
        return z3.BoolVal(True)

    # ---------------------------------------------------- value shapes
    def leaf_sorts(self, t: ir.Type) -> Any:
        """The tree of leaf sorts of a value of type ``t`` (maps: array sorts)."""
        if isinstance(t, ir.RecordT):
            return {n: self.leaf_sorts(ft) for n, ft in self.record_fields(t)}
        if isinstance(t, ir.MapT):
            ks = self.sort(t.key)
            return tree_map(lambda s: z3.ArraySort(ks, s), self.leaf_sorts(t.value))
        if isinstance(t, ir.ListT):
            raise EncodingError("a list cannot be stored")
        return self.sort(t)

    def wrap(self, t: ir.Type, leaves: Any) -> Rep:
        """Build the value of type ``t`` from its leaf tree."""
        if isinstance(t, ir.MapT):
            return MapVal(t.key, t.value, leaves)
        if isinstance(t, ir.RecordT):
            return {n: self.wrap(ft, leaves[n]) for n, ft in self.record_fields(t)}
        return leaves

    def unwrap(self, t: ir.Type, v: Rep) -> Any:
        """The Z3 term of a scalar value of type ``t``."""
        if isinstance(t, ir.MapT):
            assert isinstance(v, MapVal)
            return v.arrays
        if isinstance(t, ir.RecordT):
            assert isinstance(v, dict)
            return {n: self.unwrap(ft, v[n]) for n, ft in self.record_fields(t)}
        return v

    def zero(self, t: ir.Type) -> Rep:
        """The zero value of a type (0, false, the zero address, an empty map, zeroed fields)."""
        if isinstance(t, ir.MapT):
            ks = self.sort(t.key)
            inner = self.unwrap(t.value, self.zero(t.value))
            return MapVal(t.key, t.value, tree_map(lambda leaf: z3.K(ks, leaf), inner))
        if isinstance(t, ir.RecordT):
            return {n: self.zero(ft) for n, ft in self.record_fields(t)}
        if t == ir.UINT:
            return self.lit_uint(0)
        if t == ir.BOOL:
            return z3.BoolVal(False)
        return z3.IntVal(0)

    def fresh(self, t: ir.Type, name: str, facts: bool = True) -> Rep:
        """A fresh symbolic value of type ``t``; scalar range facts are added."""
        if isinstance(t, ir.MapT):
            sorts = self.leaf_sorts(t)
            leaves = _named_leaves(sorts, name)
            return MapVal(t.key, t.value, leaves)
        if isinstance(t, ir.RecordT):
            return {n: self.fresh(ft, f"{name}.{n}", facts) for n, ft in self.record_fields(t)}
        v = z3.Const(name, self.sort(t))
        if facts:
            self._sinks[0].append(self.range_fact(t, v))
        return v

    def lit_uint(self, n: int) -> Any:
        """The uint256 literal ``n``."""
        v = self.dom.lit(n)
        return self.dom.narrow(v) if 0 <= n <= UINT_MAX else v

    # ------------------------------------------------------ map access
    def select(self, m: MapVal, k: Any) -> Rep:
        """The value a map holds at key ``k``."""
        leaves = tree_map(lambda arr: select(arr, k), m.arrays)
        v = self.wrap(m.value, leaves)
        self._leaf_facts(m.value, v)
        return v

    def _leaf_facts(self, t: ir.Type, v: Rep) -> None:
        if isinstance(t, ir.RecordT):
            assert isinstance(v, dict)
            for n, ft in self.record_fields(t):
                self._leaf_facts(ft, v[n])
        elif not isinstance(t, ir.MapT):
            self.fact(self.range_fact(t, v))

    def store(self, m: MapVal, k: Any, v: Rep) -> MapVal:
        """The map with ``v`` at key ``k``."""
        new = tree_zip(lambda arr, leaf: z3.Store(arr, k, leaf), m.arrays, self.unwrap(m.value, v))
        return MapVal(m.key, m.value, new)

    def merge(self, c: Any, a: Rep, b: Rep) -> Rep:
        """The value that is ``a`` when ``c`` holds and ``b`` otherwise (leaf by leaf)."""
        if same(a, b):
            return a
        if isinstance(a, MapVal):
            assert isinstance(b, MapVal)
            return MapVal(a.key, a.value, tree_zip(lambda x, y: x if z3.eq(x, y) else z3.If(c, x, y),
                                                   a.arrays, b.arrays))
        if isinstance(a, dict):
            assert isinstance(b, dict)
            return {k: self.merge(c, a[k], b[k]) for k in a}
        if isinstance(a, ListVal):
            return a
        if z3.is_bv(a):
            return self.dom.ite(c, a, b)
        return z3.If(c, a, b)

    def merge_states(self, c: Any, a: SymState, b: SymState) -> SymState:
        """The state that is ``a`` when ``c`` holds and ``b`` otherwise."""
        out = SymState(a.base)
        for key in dict.fromkeys([*a.vals, *b.vals]):
            out.vals[key] = self.merge(c, a.get(key), b.get(key))
        return out

    # -------------------------------------------------------- symbols
    def key_of(self, ref: ir.Ref) -> StateKey:
        """The state key a reference to state names."""
        kind = {"state": "s", "governed": "g", "param": "p"}[ref.kind]
        return (kind, ref.module, ref.name)

    def state_type(self, key: StateKey) -> ir.Type:
        """The type of a state entry."""
        kind, module, name = key
        m = self.spec.modules[module]
        if kind == "s":
            return m.state[name].type
        if kind == "g":
            return ir.UINT
        if kind == "p":
            return m.params[name].type
        raise EncodingError(f"no type for {key}")

    # ---------------------------------------------------- expressions
    def ev(self, e: ir.Expr, st: SymState, fr: Frame, mode: Mode = CHECKED) -> tuple[Rep, Any]:
        """Evaluate ``e``: its value and the condition under which evaluating
        it does not fault.

        Raises:
            EncodingError: for constructs the encoder cannot express.
        """
        method = getattr(self, "ev_" + type(e).__name__, None)
        if method is None:
            raise EncodingError(f"cannot encode a {type(e).__name__} expression here")
        return method(e, st, fr, mode)

    def ev_Lit(self, e: ir.Lit, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Lit` expression: its value and the condition under which evaluating it does
        not revert.
        """
        if isinstance(e.value, bool):
            return z3.BoolVal(e.value), z3.BoolVal(True)
        if isinstance(e.value, int):
            if e.type == ir.UINT:
                return self.lit_uint(e.value), z3.BoolVal(True)
            return z3.IntVal(e.value), z3.BoolVal(True)
        raise EncodingError("a string literal outside a revert reason")

    def const_value(self, module: str, name: str, t: ir.Type) -> Rep:
        """The value of a folded constant of type ``t``."""
        if module == "" and name in BUILTIN_CONSTANTS:
            typ, value = BUILTIN_CONSTANTS[name]
            return self.lit_uint(value) if typ == ir.UINT else z3.IntVal(value)
        folded = self.spec.modules[module].consts[name].folded
        if isinstance(folded, bool):
            return z3.BoolVal(folded)
        if isinstance(folded, tuple):
            elem = t.element if isinstance(t, ir.ListT) else ir.UINT
            return ListVal(tuple(self.lit_uint(v) if elem == ir.UINT else z3.IntVal(v) for v in folded))
        return self.lit_uint(folded) if t == ir.UINT else z3.IntVal(folded)

    def ev_Ref(self, e: ir.Ref, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Ref` expression: its value and the condition under which evaluating it does
        not revert.
        """
        ok = z3.BoolVal(True)
        k = e.kind
        if k == "const":
            return self.const_value(e.module, e.name, e.type), ok
        if k in ("state", "governed", "param"):
            return st.get(self.key_of(e)), ok
        if k == "local":
            if e.name not in fr.locals:
                raise EncodingError(f"local `{e.name}` is read before it is set")
            return fr.locals[e.name], ok
        if k == "bound":
            for scope in reversed(self._bound):
                if e.name in scope:
                    return scope[e.name], ok
            if e.name in self.skolem:
                return self.skolem[e.name], ok
            raise EncodingError(f"unbound variable `{e.name}`")
        if k == "env":
            if e.name == "self":
                return self.address(e.module), ok
            if fr.env is None:
                raise EncodingError(f"`{e.name}` is read where there is no environment (a rule)")
            return getattr(fr.env, e.name), ok
        if k == "module":
            return self.address(e.module), ok
        if k == "enum":
            return z3.IntVal(e.index), ok
        raise EncodingError(f"unknown reference kind {k}")

    def _root_path(self, e: ir.Expr) -> tuple[ir.Ref, list[ir.Expr]] | None:
        keys: list[ir.Expr] = []
        cur = e
        while isinstance(cur, ir.Index | ir.Field):
            if isinstance(cur, ir.Index):
                keys.append(cur.key)
            cur = cur.base
        if isinstance(cur, ir.Ref) and cur.kind in ("state", "governed", "param"):
            return cur, keys[::-1]
        return None

    def ev_Index(self, e: ir.Index, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Index` expression: its value and the condition under which evaluating it
        does not revert.
        """
        base, ok1 = self.ev(e.base, st, fr, mode)
        key, ok2 = self.ev(e.key, st, fr, mode)
        ok = conj([ok1, ok2])
        if isinstance(base, ListVal):
            n = len(base.items)
            if n == 0:
                return self.lit_uint(0), z3.BoolVal(False)
            value = base.items[-1]
            for i in range(n - 2, -1, -1):
                value = self.dom.ite(self.dom.eq(key, self.lit_uint(i)), base.items[i], value)
            return value, conj([ok, self.dom.lt(key, self.lit_uint(n))])
        if not isinstance(base, MapVal):
            raise EncodingError("indexing a value that is not a map")
        guard = None
        if base.key == ir.UINT and mode.exact and isinstance(e.key, ir.Bin) and e.key.op in ARITH_OPS:
            guard = self.dom.in_uint(key)
            key = self.dom.narrow(key)
        self._note_access(e, st, fr, mode, key)
        value = self.select(base, key)
        if guard is not None:
            value = self.merge(guard, value, self.zero(base.value))
        return value, ok

    def _note_access(self, e: ir.Index, st: SymState, fr: Frame, mode: Mode, key: Any) -> None:
        if not self.recording_keys or self._bound:
            return
        found = self._root_path(e)
        if found is None:
            return
        root, key_exprs = found
        sk = self.key_of(root)
        if root.kind == "state" and len(key_exprs) == 1 and (root.module, root.name) in self.sum_maps:
            keys_of_sum = self.sum_keys.setdefault(("sum", root.module, root.name), [])
            if not any(z3.eq(key, k) for k in keys_of_sum):
                keys_of_sum.append(key)
        try:
            keys = tuple(self.ev(k, st, fr, mode)[0] for k in key_exprs)
        except EncodingError:
            return
        lst = self.touched.setdefault(sk, [])
        if not any(len(t) == len(keys) and all(z3.eq(a, b) for a, b in zip(t, keys, strict=True)) for t in lst):
            lst.append(keys)

    def ev_Field(self, e: ir.Field, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Field` expression: its value and the condition under which evaluating it
        does not revert.
        """
        base, ok = self.ev(e.base, st, fr, mode)
        if not isinstance(base, dict):
            raise EncodingError(f"field `{e.name}` of a value that is not a record")
        return base[e.name], ok

    def ev_Not(self, e: ir.Not, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Not` expression: its value and the condition under which evaluating it does
        not revert.
        """
        v, ok = self.ev(e.operand, st, fr, mode)
        return negate(v), ok

    def ev_Cond(self, e: ir.Cond, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Cond` expression: its value and the condition under which evaluating it does
        not revert.
        """
        c, okc = self.ev(e.test, st, fr, mode)
        a, oka = self.ev(e.then, st, fr, mode)
        b, okb = self.ev(e.orelse, st, fr, mode)
        ok = conj([okc, z3.If(c, oka, okb) if not (z3.is_true(oka) and z3.is_true(okb)) else z3.BoolVal(True)])
        return self.merge(c, a, b), ok

    def ev_Bin(self, e: ir.Bin, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Bin` expression: its value and the condition under which evaluating it does
        not revert.
        """
        op = e.op
        a, oka = self.ev(e.left, st, fr, mode)
        b, okb = self.ev(e.right, st, fr, mode)
        if op == "and":
            return conj([a, b]), conj([oka, implies(a, okb)])
        if op == "or":
            return disj([a, b]), conj([oka, disj([a, okb])])
        if op == "==>":
            return implies(a, b), conj([oka, implies(a, okb)])
        ok = conj([oka, okb])
        if op in ("==", "!="):
            if e.left.type == ir.UINT:
                r = self.dom.eq(a, b)
            else:
                if isinstance(a, dict | MapVal | ListVal):
                    raise EncodingError("comparing compound values")
                r = a == b
            return (r if op == "==" else negate(r)), ok
        if op in ORDER_OPS:
            if e.left.type == ir.UINT:
                fn = {"<": lambda: self.dom.lt(a, b), "<=": lambda: self.dom.le(a, b),
                      ">": lambda: self.dom.lt(b, a), ">=": lambda: self.dom.le(b, a)}[op]
                return fn(), ok
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op], ok
        if op in ARITH_OPS:
            if mode.exact:
                return self.exact_arith(op, a, b, e), ok
            v, ok2 = self.checked_arith(op, a, b, e)
            return v, conj([ok, ok2])
        raise EncodingError(f"unknown operator {op}")

    def exact_arith(self, op: str, a: Any, b: Any, e: ir.Bin) -> Any:
        """An arithmetic operation on exact integers (rules state mathematical facts: no overflow)."""
        d = self.dom
        nonneg = not (may_be_negative(e.left) or may_be_negative(e.right))
        if op == "+":
            return d.add(a, b)
        if op == "-":
            return d.sub(a, b)
        if op == "*":
            return d.mul(a, b)
        zero = d.lit(0)
        if op == "/":
            return d.ite(d.eq(b, zero), zero, d.floordiv(a, b, nonneg))
        if op == "%":
            return d.ite(d.eq(b, zero), a, d.mod(a, b, nonneg))
        if op == "**":
            n = self.constant_int(b)
            if n is None:
                raise EncodingError("`**` with an exponent that is not a constant, in a rule")
            r = d.lit(1)
            for _ in range(n):
                r = d.mul(r, a)
            return r
        raise EncodingError(op)

    def constant_int(self, v: Any) -> int | None:
        """The integer a literal term holds, or None when it is not a literal."""
        s = z3.simplify(v)
        if self.dom.is_int_value(s) or z3.is_int_value(s):
            return self.dom.to_int(s) if not z3.is_int_value(s) else int(s.as_long())
        return None

    def checked_arith(self, op: str, a: Any, b: Any, e: ir.Expr | None = None) -> tuple[Any, Any]:
        """An arithmetic operation with uint256 semantics: the value and the condition under which it does not
        revert.
        """
        d = self.dom
        maxv = d.lit(UINT_MAX)
        zero = d.lit(0)
        if op == "+":
            r = d.add(a, b)
            return d.narrow(r), d.le(r, maxv)
        if op == "-":
            return d.narrow(d.sub(a, b)), d.le(b, a)
        if op == "*":
            r = d.mul(a, b)
            return d.narrow(r), d.le(r, maxv)
        if op == "/":
            return d.narrow(d.floordiv(a, b, True)), negate(d.eq(b, zero))
        if op == "%":
            return d.narrow(d.mod(a, b, True)), negate(d.eq(b, zero))
        if op == "**":
            return self.checked_pow(a, b)
        raise EncodingError(op)

    def checked_pow(self, a: Any, b: Any) -> tuple[Any, Any]:
        """``a ** b`` with uint256 semantics: the value and its no-revert condition.

        Raises:
            EncodingError: the exponent is not a constant the encoder can unfold.
        """
        d = self.dom
        n = self.constant_int(b)
        if n is not None:
            r, oks = d.narrow(d.lit(1)), []
            base_c = self.constant_int(a)
            if base_c is not None:
                if (base_c > 1 and n > 256) or base_c**n > UINT_MAX:
                    return d.narrow(d.lit(0)), z3.BoolVal(False)
                return self.lit_uint(base_c**n), z3.BoolVal(True)
            for _ in range(n):
                r, ok = self.checked_arith("*", r, a)
                oks.append(ok)
            return r, conj(oks)
        # a symbolic exponent: every exponent that cannot overflow, as a case split
        base_c = self.constant_int(a)
        if base_c is not None:
            if base_c in (0, 1):
                one = self.lit_uint(1)
                return (one if base_c == 1 else d.ite(d.eq(b, d.lit(0)), one, self.lit_uint(0))), z3.BoolVal(True)
            top = 0
            while base_c ** (top + 1) <= UINT_MAX:
                top += 1
            value = self.lit_uint(0)
            for k in range(top, -1, -1):
                value = d.ite(d.eq(b, d.lit(k)), self.lit_uint(base_c**k), value)
            return value, d.le(b, d.lit(top))
        raise EncodingError("`**` with a symbolic base and a symbolic exponent")

    def ev_Builtin(self, e: ir.Builtin, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Builtin` expression: its value and the condition under which evaluating it
        does not revert.
        """
        d = self.dom
        name = e.name
        if name == "len":
            base, ok = self.ev(e.args[0], st, fr, mode)
            if not isinstance(base, ListVal):
                raise EncodingError("`len` of something that is not a list")
            return self.lit_uint(len(base.items)), ok
        vals: list[Any] = []
        oks: list[Any] = []
        for a in e.args:
            v, ok = self.ev(a, st, fr, mode)
            vals.append(v)
            oks.append(ok)
            if mode.exact and a.type == ir.UINT and may_be_negative(a):
                # builtins keep checked arithmetic in rules: a negative argument is no uint256
                oks.append(d.le(d.lit(0), v))
                vals[-1] = d.narrow(v) if d.name == "bv" else v
        if name == "hash":
            return self.hash_value(vals, tuple(a.type for a in e.args)), conj(oks)
        if name == "min":
            return d.ite(d.le(vals[0], vals[1]), vals[0], vals[1]), conj(oks)
        if name == "max":
            return d.ite(d.le(vals[0], vals[1]), vals[1], vals[0]), conj(oks)
        if name in ("mul_div_down", "mul_div_up"):
            a, b, c = vals
            p, okp = self.checked_arith("*", a, b)
            zero = d.lit(0)
            q = d.narrow(d.floordiv(p, c, True))
            if name == "mul_div_up":
                q = d.narrow(d.ite(d.eq(d.mod(p, c, True), zero), q, d.add(q, d.lit(1))))
            return q, conj([*oks, okp, negate(d.eq(c, zero))])
        if name == "div_up":
            a, b = vals
            zero = d.lit(0)
            q = d.narrow(d.floordiv(a, b, True))
            q = d.narrow(d.ite(d.eq(d.mod(a, b, True), zero), q, d.add(q, d.lit(1))))
            return q, conj([*oks, negate(d.eq(b, zero))])
        if name == "isqrt":
            x = vals[0]
            if self.isqrt_fn is None:
                self.isqrt_fn = z3.Function("isqrt", d.usort(), d.usort())
            xn = d.narrow(x)
            r = self.isqrt_fn(xn)
            one = d.lit(1)
            r1 = d.add(r, one)
            self.fact(z3.And(d.le(d.lit(0), r), d.le(d.mul(r, r), xn), d.lt(xn, d.mul(r1, r1))))
            return r, conj(oks)
        raise EncodingError(f"unknown builtin `{name}`")

    def hash_value(self, vals: list[Any], types: tuple[ir.Type, ...]) -> Any:
        """An uninterpreted hash of the given terms (for signatures and request digests)."""
        key = tuple(str(t) for t in types)
        fn = self.hash_fns.get(key)
        if fn is None:
            sorts = [self.sort(t) for t in types]
            fn = z3.Function("hash." + "_".join(key), *sorts, z3.IntSort())
            self.hash_fns[key] = fn
        v = fn(*vals)
        if not self._bound:
            self.hash_apps.append((v, tuple(vals), types))
        self.fact(z3.And(v >= 0, v <= UINT_MAX))
        return v

    def ev_FnCall(self, e: ir.FnCall, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.FnCall` expression: its value and the condition under which evaluating it
        does not revert.
        """
        fn = self.spec.modules[e.module].fns[e.name]
        args: list[Rep] = []
        oks: list[Any] = []
        for a, (_, pt) in zip(e.args, fn.params, strict=True):
            v, ok = self.ev(a, st, fr, mode)
            if mode.exact and pt == ir.UINT and may_be_negative(a):
                oks.append(self.dom.le(self.dom.lit(0), v))
                v = self.dom.narrow(v)
            args.append(v)
            oks.append(ok)
        if fr.depth >= MAX_CALL_DEPTH:
            raise EncodingError(f"calls nest deeper than {MAX_CALL_DEPTH} (recursion?)")
        frame = Frame(e.module, {n: v for (n, _), v in zip(fn.params, args, strict=True)}, fr.env, fr.depth + 1)
        sink: list[Any] = []
        self._revert_sinks.append(sink)
        saved_pc = self.pc
        try:
            # fault terms carry the caller's path condition: "taken and faults"
            _, _, ret = self.exec_seq(fn.body, st, dict(frame.locals), frame, saved_pc)
        finally:
            self._revert_sinks.pop()
            self.pc = saved_pc
        if ret is None:
            raise EncodingError(f"function `{e.name}` ends without a value")
        return ret, conj([*oks, negate(disj(sink))])

    def ev_ActionCall(self, e: ir.ActionCall, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.ActionCall` expression: its value and the condition under which evaluating
        it does not revert.
        """
        raise EncodingError("an action call inside an expression")

    def ev_RecordNew(self, e: ir.RecordNew, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.RecordNew` expression: its value and the condition under which evaluating it
        does not revert.
        """
        fields = self.spec.modules[e.module].records[e.record].fields
        out: dict[str, Any] = {}
        oks = []
        for (n, _), a in zip(fields, e.args, strict=True):
            v, ok = self.ev(a, st, fr, mode)
            out[n] = v
            oks.append(ok)
        return out, conj(oks)

    def ev_PhaseOf(self, e: ir.PhaseOf, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.PhaseOf` expression: its value and the condition under which evaluating it
        does not revert.
        """
        price, ok = self.ev(e.price, st, fr, mode)
        ph = self.spec.modules[e.module].phases[e.phases]
        inner = Frame(e.module, {}, fr.env, fr.depth + 1)
        oks = [ok]
        thresholds = []
        for t in ph.thresholds:
            v, okt = self.ev(t, st, inner, CHECKED)
            thresholds.append(v)
            oks.append(okt)
        value: Any = z3.IntVal(len(ph.bands) - 1)
        for i in range(len(thresholds) - 1, -1, -1):
            value = z3.If(self.dom.lt(price, thresholds[i]), z3.IntVal(i), value)
        # a threshold is evaluated only when the lower bands did not match
        return value, conj(oks)

    def ev_DecayLevelOf(self, e: ir.DecayLevelOf, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.DecayLevelOf` expression: its value and the condition under which evaluating
        it does not revert.
        """
        amount, ok = self.ev(e.amount, st, fr, mode)
        d = self.dom
        decl = self.spec.modules[e.module].decays[e.decay]
        total = self.lit_uint(0)
        for lv in decl.level_values:
            total = d.narrow(d.add(total, d.ite(d.le(d.lit(lv), amount), d.lit(1), d.lit(0))))
        return total, ok

    def ev_DecayAt(self, e: ir.DecayAt, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.DecayAt` expression: its value and the condition under which evaluating it
        does not revert.
        """
        d = self.dom
        level, ok1 = self.ev(e.level, st, fr, mode)
        backed, ok2 = self.ev(e.backed, st, fr, mode)
        since, ok3 = self.ev(e.since, st, fr, mode)
        now, ok4 = self.ev(e.now, st, fr, mode)
        periods = self.spec.modules[e.module].decays[e.decay].period_values
        n = len(periods)
        elapsed0 = d.ite(d.lt(since, now), d.sub(now, since), d.lit(0))
        start = d.ite(d.le(level, d.lit(n)), level, d.lit(n))
        result: Any = None
        for c in range(n, -1, -1):
            cur: Any = d.lit(c)
            el = elapsed0
            done: Any = z3.BoolVal(False)
            for j in range(c):
                level_now = c - j
                period = periods[level_now - 1]
                step = z3.And(negate(done), d.lt(backed, d.lit(level_now)), d.le(d.lit(period), el))
                done = z3.Or(done, negate(step))
                el = d.ite(step, d.sub(el, d.lit(period)), el)
                cur = d.ite(step, d.lit(level_now - 1), cur)
            result = cur if result is None else d.ite(d.eq(start, d.lit(c)), cur, result)
        value = d.ite(d.le(level, backed), backed, result)
        return d.narrow(value), conj([ok1, ok2, ok3, ok4])

    def ev_SignedBy(self, e: ir.SignedBy, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.SignedBy` expression: its value and the condition under which evaluating it
        does not revert.
        """
        sig, ok1 = self.ev(e.signature, st, fr, mode)
        owner, ok2 = self.ev(e.owner, st, fr, mode)
        req, ok3 = self.ev(e.request, st, fr, mode)
        if fr.env is None:
            raise EncodingError("a signature check outside an action")
        if not isinstance(req, dict):
            raise EncodingError("a signed request that is not a record")
        decl = self.spec.modules[e.module].records[e.request_type]
        key = (e.module, e.request_type)
        fn = self.signed_fns.get(key)
        field_vals = [req[n] for n, _ in decl.fields]
        if fn is None:
            sorts = [z3.IntSort(), z3.IntSort(), *[self.sort(t) for _, t in decl.fields],
                     self.dom.usort(), z3.IntSort(), z3.BoolSort()]
            fn = z3.Function(f"signed.{e.module}.{e.request_type}", *sorts)
            self.signed_fns[key] = fn
        contract = self.address(e.module)
        chain = fr.env.chain_id
        if isinstance(e.signature, ir.Ref):
            self.signed_uses.append(SignedUse(self.tag, e.signature.name, owner, dict(req), e.request_type,
                                              e.module, chain, contract))
        # the zero address signs nothing (reference.runtime.signed_by)
        signed = z3.And(owner != 0, fn(sig, owner, *field_vals, chain, contract))
        return signed, conj([ok1, ok2, ok3])

    def bound_var(self, name: str, t: ir.Type) -> Any:
        # the type rides in the name: ground instantiation picks terms by type
        """The variable a quantifier binds, as a fresh constant of its type."""
        return z3.Const(self.fresh_name(f"{name}!{type_tag(t)}"), self.sort(t))

    def ev_Forall(self, e: ir.Forall, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Forall` expression: its value and the condition under which evaluating it
        does not revert.
        """
        consts = [self.bound_var(n, t) for n, t in e.vars]
        hyps = [self.range_fact(t, c) for (_, t), c in zip(e.vars, consts, strict=True)]
        sink: list[Any] = []
        self._sinks.append(sink)
        self._bound.append({n: c for (n, _), c in zip(e.vars, consts, strict=True)})
        saved_pc = self.pc
        self.pc = z3.BoolVal(True)
        try:
            body, ok = self.ev(e.body, st, fr, mode)
        finally:
            self._sinks.pop()
            self._bound.pop()
            self.pc = saved_pc
        hyp = conj([*hyps, *sink])
        value = z3.ForAll(consts, implies(hyp, body))
        okq = z3.BoolVal(True) if z3.is_true(ok) else z3.ForAll(consts, implies(hyp, ok))
        return value, okq

    def ev_Sum(self, e: ir.Sum, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Sum` expression: its value and the condition under which evaluating it does
        not revert.
        """
        if not isinstance(e.map, ir.Ref) or e.map.kind != "state":
            raise EncodingError("`sum` of something other than a state map")
        return st.get(("sum", e.map.module, e.map.name)), z3.BoolVal(True)

    def ev_Old(self, e: ir.Old, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.Old` expression: its value and the condition under which evaluating it does
        not revert.
        """
        if mode.old is None:
            raise EncodingError("`old` where there is no previous state")
        return self.ev(e.operand, mode.old, fr, mode)

    def ev_ListLit(self, e: ir.ListLit, st: SymState, fr: Frame, mode: Mode) -> tuple[Rep, Any]:
        """Encode an :class:`spec.ir.ListLit` expression: its value and the condition under which evaluating it
        does not revert.
        """
        items = []
        oks = []
        for i in e.items:
            v, ok = self.ev(i, st, fr, mode)
            items.append(v)
            oks.append(ok)
        return ListVal(tuple(items)), conj(oks)

    # ----------------------------------------------------- statements
    def exec_seq(self, stmts: Sequence[ir.Stmt], st: SymState, loc: dict[str, Rep], fr: Frame,
                 pc: Any) -> tuple[SymState, dict[str, Rep], Rep | None]:
        """Execute statements from state ``st`` under path condition ``pc``.

        Returns the final state, the locals, and the returned value (None when
        the statements fall through). Revert conditions go to the current sink.

        Raises:
            EncodingError: for constructs the encoder cannot express.
        """
        outer = self.stmt
        try:
            return self._exec_seq(stmts, st, loc, fr, pc)
        finally:
            self.stmt = outer

    def _exec_seq(self, stmts: Sequence[ir.Stmt], st: SymState, loc: dict[str, Rep], fr: Frame,
                  pc: Any) -> tuple[SymState, dict[str, Rep], Rep | None]:
        todo = list(stmts)
        i = 0
        fr = Frame(fr.module, loc, fr.env, fr.depth)
        while i < len(todo):
            s = todo[i]
            self.pc = pc
            self.stmt = s
            if isinstance(s, ir.For):
                unrolled: list[ir.Stmt] = []
                for k in range(s.count):
                    unrolled.append(_SetLocal(s.var, k))
                    unrolled.extend(s.body)
                todo[i:i + 1] = unrolled
                continue
            if isinstance(s, ir.Return):
                v, ok = self.ev(s.value, st, fr, CHECKED)
                self.revert_if_not(ok)
                return st, fr.locals, v
            if isinstance(s, ir.If):
                c, ok = self.ev(s.test, st, fr, CHECKED)
                self.revert_if_not(ok)
                rest = todo[i + 1:]
                outer = self.path
                self.path = (*outer, s)
                try:
                    if has_return([s]):
                        then_s = list(s.then) + ([] if always_returns(s.then) else rest)
                        else_s = list(s.orelse) + ([] if always_returns(s.orelse) else rest)
                        return self._branch(c, then_s, else_s, st, fr, pc)
                    st, loc2, _ = self._branch(c, list(s.then), list(s.orelse), st, fr, pc)
                finally:
                    self.path = outer
                fr = Frame(fr.module, loc2, fr.env, fr.depth)
                i += 1
                continue
            st = self.exec_stmt(s, st, fr, pc)
            i += 1
        return st, fr.locals, None

    def _branch(self, c: Any, then_s: list[ir.Stmt], else_s: list[ir.Stmt], st: SymState, fr: Frame,
                pc: Any) -> tuple[SymState, dict[str, Rep], Rep | None]:
        if z3.is_true(c):
            return self.exec_seq(then_s, st, dict(fr.locals), fr, pc)
        if z3.is_false(c):
            return self.exec_seq(else_s, st, dict(fr.locals), fr, pc)
        before = dict(fr.locals)
        st1, loc1, r1 = self.exec_seq(then_s, st.copy(), dict(before), fr, conj([pc, c]))
        st2, loc2, r2 = self.exec_seq(else_s, st.copy(), dict(before), fr, conj([pc, negate(c)]))
        self.pc = pc
        merged_state = self.merge_states(c, st1, st2)
        merged_locals = {k: self.merge(c, loc1[k], loc2[k]) for k in before if k in loc1 and k in loc2}
        # both branches return, or neither does (statements after the `if`
        # were moved into the branches that fall through)
        ret = self.merge(c, r1, r2) if r1 is not None and r2 is not None else (r1 if r2 is None else r2)
        return merged_state, merged_locals, ret

    def exec_stmt(self, s: ir.Stmt, st: SymState, fr: Frame, pc: Any) -> SymState:
        """Execute one statement symbolically on ``st`` under path condition ``pc``; return the new state.

        Raises:
            EncodingError: a construct the encoder cannot express.
        """
        if isinstance(s, _SetLocal):
            fr.locals[s.name] = self.lit_uint(s.value)
            return st
        if isinstance(s, ir.Let):
            if isinstance(s.value, ir.ActionCall):
                st, v = self.call_action(s.value, st, fr, pc)
            else:
                v, ok = self.ev(s.value, st, fr, CHECKED)
                self.revert_if_not(ok)
            fr.locals[s.name] = v
            return st
        if isinstance(s, ir.Assign):
            if isinstance(s.value, ir.ActionCall):
                st, v = self.call_action(s.value, st, fr, pc)
                self.pc = pc
            else:
                v, ok = self.ev(s.value, st, fr, CHECKED)
                self.revert_if_not(ok)
            self.write(s.target, v, st, fr)
            return st
        if isinstance(s, ir.Require):
            c, ok = self.ev(s.cond, st, fr, CHECKED)
            self.revert_if_not(conj([ok, c]))
            return st
        if isinstance(s, ir.Emit):
            for a in s.args:
                _, ok = self.ev(a, st, fr, CHECKED)
                self.revert_if_not(ok)
            return st
        if isinstance(s, ir.CallStmt):
            st, _ = self.call_action(s.call, st, fr, pc)
            return st
        if isinstance(s, ir.Govern):
            return self.govern(s, st, fr, pc)
        raise EncodingError(f"cannot encode a {type(s).__name__} statement")

    def write(self, target: ir.Expr, v: Rep, st: SymState, fr: Frame) -> None:
        """Assign ``v`` to the place ``target``.

        Raises:
            EncodingError: when the target is not a place.
        """
        if isinstance(target, ir.Ref):
            if target.kind == "local":
                fr.locals[target.name] = v
            elif target.kind in ("state", "param", "governed"):
                st.set(self.key_of(target), v)
            else:
                raise EncodingError(f"cannot assign to `{target.name}`")
            return
        if isinstance(target, ir.Index):
            base, ok1 = self.ev(target.base, st, fr, CHECKED)
            key, ok2 = self.ev(target.key, st, fr, CHECKED)
            self.revert_if_not(conj([ok1, ok2]))
            if not isinstance(base, MapVal):
                raise EncodingError("assignment into something that is not a map")
            self._note_access(target, st, fr, CHECKED, key)
            if isinstance(target.base, ir.Ref) and target.base.kind == "state":
                sk = ("sum", target.base.module, target.base.name)
                if (target.base.module, target.base.name) in self.sum_maps:
                    old = self.select(base, key)
                    ghost = st.get(sk)
                    new_ghost = self.dom.add(self.dom.sub(ghost, old), v)
                    if self.dom.name == "bv":
                        new_ghost = _bv_resize(new_ghost, GHOST_BITS)
                    st.set(sk, new_ghost)
                    if self.recording_keys:
                        self.sum_keys.setdefault(sk, []).append(key)
            self.write(target.base, self.store(base, key, v), st, fr)
            return
        if isinstance(target, ir.Field):
            base, ok = self.ev(target.base, st, fr, CHECKED)
            self.revert_if_not(ok)
            if not isinstance(base, dict):
                raise EncodingError("assignment to a field of something that is not a record")
            new = dict(base)
            new[target.name] = v
            self.write(target.base, new, st, fr)
            return
        raise EncodingError("assignment to something that is not a place")

    def call_action(self, call: ir.ActionCall, st: SymState, fr: Frame, pc: Any) -> tuple[SymState, Rep]:
        """Execute a call to another action (its body inlined, its caller this module); return the state and the
        returned value.

        Raises:
            EncodingError: calls nest deeper than MAX_CALL_DEPTH.
        """
        callee = self.spec.modules[call.module].actions[call.name]
        args = []
        for a in call.args:
            v, ok = self.ev(a, st, fr, CHECKED)
            self.revert_if_not(ok)
            args.append(v)
        if fr.depth >= MAX_CALL_DEPTH:
            raise EncodingError(f"action calls nest deeper than {MAX_CALL_DEPTH} (recursion?)")
        assert fr.env is not None
        env = fr.env if call.module == fr.module else Env(self.address(fr.module), fr.env.now,
                                                          fr.env.block_number, fr.env.chain_id)
        frame = Frame(call.module, {n: v for (n, _), v in zip(callee.params, args, strict=True)}, env,
                      fr.depth + 1)
        st2, _, ret = self.exec_seq(callee.body, st, dict(frame.locals), frame, pc)
        self.pc = pc
        return st2, ret if ret is not None else z3.BoolVal(True)

    def from_uint(self, t: ir.Type, v: Any) -> Any:
        """The uint256 ``v`` as a value of the scalar type ``t`` (an address:
        the same number, in the sort addresses have)."""
        if t != ir.UINT and self.dom.name == "bv":
            return z3.BV2Int(v)
        return v

    def to_uint(self, t: ir.Type, v: Any) -> Any:
        """A value ``v`` of the scalar type ``t`` as a uint256 (the inverse of :meth:`from_uint`)."""
        if t != ir.UINT and self.dom.name == "bv":
            return z3.Int2BV(v, self.dom.usort().size())
        return v

    def govern(self, s: ir.Govern, st: SymState, fr: Frame, pc: Any) -> SymState:
        """Execute a ``govern`` statement: the parameter it names, of those it may govern, takes the new value,
        and the hooks that follow that parameter (``after govern``) run."""
        target, ok1 = self.ev(s.target, st, fr, CHECKED)
        key, ok2 = self.ev(s.key, st, fr, CHECKED)
        value, ok3 = self.ev(s.value, st, fr, CHECKED)
        self.revert_if_not(conj([ok1, ok2, ok3]))
        matches = []
        in_bounds = []
        d = self.dom
        for module, name in s.candidates:
            g = self.spec.modules[module].governed[name]
            match = z3.And(target == self.address(module), key == z3.IntVal(governed_key(g.key)))
            lo, _ = self.ev(g.low, st, Frame(module, {}, None, fr.depth + 1), CHECKED)
            hi, _ = self.ev(g.high, st, Frame(module, {}, None, fr.depth + 1), CHECKED)
            matches.append(match)
            in_bounds.append(implies(match, z3.And(d.le(lo, value), d.le(value, hi))))
            gk: StateKey = ("g", module, name)
            st.set(gk, self.merge(match, self.from_uint(g.type, value), st.get(gk)))
            for call in s.hooks_of(module, name):
                if call.module not in self.spec.modules or z3.is_false(match):
                    continue
                hooked, _ = self.call_action(call, st.copy(), fr, conj([pc, match]))
                self.pc = pc
                st = self.merge_states(match, hooked, st)
        self.revert_if_not(disj(matches))
        self.revert_if_not(conj(in_bounds))
        return st


def type_tag(t: ir.Type) -> str:
    """A short name of a scalar type, used to match instantiation terms."""
    if isinstance(t, ir.EnumT):
        return f"enum.{t.module}.{t.name}"
    return str(t)


def _bv_resize(v: Any, width: int) -> Any:
    size = v.size()
    if size == width:
        return v
    if size > width:
        return z3.Extract(width - 1, 0, v)
    return z3.SignExt(width - size, v)


def _named_leaves(sorts: Any, name: str) -> Any:
    if isinstance(sorts, dict):
        return {k: _named_leaves(v, f"{name}.{k}") for k, v in sorts.items()}
    return z3.Const(name, sorts)


_KEY_CACHE: dict[str, int] = {}


def deploy_arg_type(spec: ir.Spec, module: str, name: str) -> ir.Type:
    """The type of a deployment argument: a parameter, or a governed parameter
    (a uint that deployment checks against its bounds)."""
    m = spec.modules[module]
    return m.params[name].type if name in m.params else m.governed[name].type


def governed_key(name: str) -> int:
    """keccak256 of ``"module.name"``: how the timelock names a governed parameter."""
    if name not in _KEY_CACHE:
        from eth_hash.auto import keccak

        _KEY_CACHE[name] = int.from_bytes(keccak(name.encode()), "big")
    return _KEY_CACHE[name]


_SUMMED: dict[int, tuple[ir.Spec, set[tuple[str, str]]]] = {}


def _summed_maps_cached(spec: ir.Spec) -> set[tuple[str, str]]:
    hit = _SUMMED.get(id(spec))
    if hit is None or hit[0] is not spec:
        hit = (spec, summed_maps(spec))
        _SUMMED[id(spec)] = hit
    return hit[1]


def summed_maps(spec: ir.Spec) -> set[tuple[str, str]]:
    """Every state map that some rule or ``ensures`` sums."""
    out: set[tuple[str, str]] = set()
    for m in spec.modules.values():
        exprs: list[ir.Expr] = [r.expr for r in m.rules]
        for a in m.actions.values():
            exprs.extend(a.ensures)
        for e in exprs:
            for sub in ir.walk_expr(e):
                if isinstance(sub, ir.Sum) and isinstance(sub.map, ir.Ref):
                    out.add((sub.map.module, sub.map.name))
    return out

