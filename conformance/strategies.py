"""Argument strategies, derived from the spec's types and constants.

Random uint256 values almost never hit the values where contracts go wrong,
so numbers are drawn mostly from edges: 0, 1, 2, powers of ten, the maximum
values, every constant and parameter of the spec and their neighbours (the
floor, the caps, the thresholds), and values that are in the model's state
right now (balances, capacities, reserves), exactly and plus or minus one.
An argument may also be *quoted*: set to a number the action itself returns or
logs in the current state (the output of a swap, the amounts a burn of
liquidity pays), so that a slippage bound lands exactly on the quote.

Three more kinds of draw come from the spec and the model:

- an argument the action compares with the clock (a deadline, an expiry) is
  drawn near the present: the time or block number of the step plus a small
  offset, one second before it now and then (:func:`clock_params`);
- an address may repeat the caller or an earlier address argument (a card
  moved to its own holder, a transfer to oneself);
- a step may be *pushed to boundaries*: one of its numbers moves to where the
  model's outcome changes, found by bisection on the model
  (:func:`boundaries`), so that `<` against `<=` and a dropped check are
  tried at the exact value where they differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields, is_dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.draws import Booleans, Build, Draw, Integers, Just, OneOf, Sampled, Tuples
from conformance.signatures import KINDS, SigDraw
from reference.codegen import attr
from reference.model import Model, Outcome
from reference.runtime import Map
from spec import ir

UINT256_MAX = 2**256 - 1
# Numbers at least this large (and below 2**160) are taken for addresses when
# the state is searched for the accounts linked to a caller: amounts and
# timestamps are far smaller, test and module addresses far larger.
ADDRESS_FLOOR = 2**100


# The smallest amounts, drawn on their own: a `> 0` check differs from `> 1`
# only at exactly 1.
SMALL = (0, 1, 2)

GENERIC_EDGES = (0, 1, 2, 3, 10, 100, 1000, 10**6, 10**18, 10**21, 10**24, 2**112 - 1, 2**112, 2**128,
                 UINT256_MAX, UINT256_MAX - 1, UINT256_MAX // 2)


def interesting_numbers(spec: ir.Spec, model: Model) -> list[int]:
    """Edge values for uint256 arguments: fixed edges, the spec's constants and
    parameter values, and their neighbours."""
    return _neighbours(set(GENERIC_EDGES) | set(spec_numbers(spec, model)))


def spec_numbers(spec: ir.Spec, model: Model) -> list[int]:
    """The values of the spec's constants (list items included) and of the
    deployed parameters: its periods, windows, caps and thresholds."""
    base: set[int] = set()
    for name, m in spec.modules.items():
        for c in m.consts.values():
            if isinstance(c.folded, int) and not isinstance(c.folded, bool):
                base.add(c.folded)
            elif isinstance(c.folded, tuple):
                base.update(c.folded)
        st_ = model.state(name)
        for p in (*m.params, *m.governed):
            v = getattr(st_, p, None)
            if isinstance(v, int) and not isinstance(v, bool):
                base.add(v)
    return sorted(base)


def _neighbours(base: set[int]) -> list[int]:
    out = set()
    for v in base:
        for d in (-1, 0, 1):
            if 0 <= v + d <= UINT256_MAX:
                out.add(v + d)
    return sorted(out)


def uint_draw(edges: list[int]) -> Draw:
    """Mostly edges, sometimes small or arbitrary numbers."""
    return OneOf(Sampled(edges), Integers(0, 2_000), Integers(0, 10**24), Integers(0, UINT256_MAX))


def value_strategy(
    t: ir.Type,
    spec: ir.Spec,
    addresses: Iterable[int],
    edges: list[int],
    actors: Iterable[int] = (),
    clock: str | None = None,
) -> st.SearchStrategy[Any]:
    """The hypothesis strategy of :func:`value_draw`."""
    return value_draw(t, spec, addresses, edges, actors, clock).strategy


def value_draw(
    t: ir.Type,
    spec: ir.Spec,
    addresses: Iterable[int],
    edges: list[int],
    actors: Iterable[int] = (),
    clock: str | None = None,
) -> Draw:
    """How to draw an argument of spec type ``t`` (a hypothesis strategy, or
    from a seeded PRNG: see :mod:`conformance.draws`).

    An address is one of ``actors`` 4 times in 13 (when there are any), so
    that an approval and the transfer it allows name the same accounts far
    more often than among every module's address; 3 in 13 an address the
    module's state links to the caller (a :class:`Linked` placeholder); 2 in
    13 the caller or an earlier address argument (an :class:`Alias`); 1 in 13
    the zero address; otherwise any of ``addresses``.

    A uint256 may come out as a :class:`NearState` placeholder, resolved
    against the state the step actually runs in (see :func:`resolve`). One the
    action compares with the clock (``clock`` is ``"now"`` or
    ``"block_number"``, see :func:`clock_params`) is, seven times in eight, a
    :class:`NearClock` placeholder instead.

    Raises:
        NotImplementedError: no draw for arguments of type ``t``.
    """
    if t == ir.UINT and clock is not None:
        near_clock = Build(NearClock, Just(clock), Sampled(CLOCK_OFFSETS))
        return OneOf(*[near_clock] * 7, value_draw(t, spec, addresses, edges, actors))
    if t == ir.UINT:
        # 3/8 numbers near the current state, 1/4 edges, 1/8 each quotes by the
        # action itself, the smallest amounts, and anything
        near = Build(NearState, Integers(0, 2**16))
        exact = Sampled(edges)
        quoted = Build(Quoted, Integers(0, 2**16))
        return OneOf(near, exact, near, exact, near, quoted, Sampled(SMALL), uint_draw(edges))
    if t == ir.BOOL:
        return Booleans()
    if t == ir.ADDRESS:
        anyone = Sampled(sorted(set(addresses)))
        people = sorted(set(actors))
        if not people:
            return anyone
        linked = Build(Linked, Integers(0, 2**16))
        alias = Build(Alias, Integers(0, 2**16))
        actor = Sampled(people)
        # the zero address is to addresses what 0 is to numbers
        zero = Just(0)
        return OneOf(actor, actor, actor, actor, anyone, anyone, anyone, linked, linked, linked, alias, alias, zero)
    if t == ir.BYTES32:
        keys = governed_keys(spec)
        if keys:
            # the keys that name governed parameters to the timelock, half the time
            return OneOf(Sampled(keys), Sampled([0, 1]), Sampled(keys), Integers(0, UINT256_MAX))
        return OneOf(Sampled([0, 1]), Integers(0, UINT256_MAX))
    if isinstance(t, ir.EnumT):
        bands = spec.modules[t.module].phases[t.name].bands
        return Integers(0, len(bands) - 1)
    if t == ir.SIGNATURE:
        return Build(SigDraw, Sampled(KINDS), Integers(0, 2**16))
    if isinstance(t, ir.RecordT):
        rec = spec.modules[t.module].records[t.name]
        return Tuples(*(value_draw(ft, spec, addresses, edges, actors) for _, ft in rec.fields))
    raise NotImplementedError(f"no strategy for arguments of type {t}")


def governed_keys(spec: ir.Spec) -> list[int]:
    """The bytes32 key of every governed parameter of the spec (how a
    timelock transaction names the parameter it sets), sorted."""
    from reference.runtime import key_of

    return sorted(key_of(g.key) for m in spec.modules.values() for g in m.governed.values())


# The parameters of an action that names one governed parameter and its new
# value (a timelock transaction, a governance proposal).
GOVERNED_CALL = (("target", ir.ADDRESS), ("key", ir.BYTES32), ("value", ir.UINT))


def governed_call_positions(action: ir.Action) -> tuple[int, int, int] | None:
    """Where ``target``, ``key`` and ``value`` sit in the action's parameters,
    when it has all three with those types."""
    where = {n: (i, t) for i, (n, t) in enumerate(action.params)}
    out = []
    for name, t in GOVERNED_CALL:
        if name not in where or where[name][1] != t:
            return None
        out.append(where[name][0])
    return (out[0], out[1], out[2])


def governed_calls(spec: ir.Spec, addresses: dict[str, int]) -> list[tuple[int, int, int]]:
    """(target, key, value) for every governed parameter of the deployed
    modules at its bounds, one past each, and the middle: the calls a timelock
    runs or refuses (OUT_OF_BOUNDS)."""
    from reference.codegen import governed_bounds
    from reference.runtime import key_of

    out: list[tuple[int, int, int]] = []
    for m in spec.modules.values():
        for g in m.governed.values():
            low, high = governed_bounds(spec, m.name, g.name)
            values = {low, high, (low + high) // 2, high + 1} | ({low - 1} if low > 0 else set())
            out.extend((addresses[m.name], key_of(g.key), v) for v in sorted(values) if v <= UINT256_MAX)
    return out


class NearState:
    """A placeholder drawn instead of a number: "the pick-th value near one
    the state holds when the step runs". Resolved by :func:`resolve`."""

    def __init__(self, pick: int) -> None:
        self.pick = pick

    def __repr__(self) -> str:
        return f"NearState({self.pick})"


def focused_numbers(model: Model, module: str, caller: int, *, narrow: bool = False) -> list[int]:
    """Numbers the state holds that most concern this step: the caller's own
    entries in the module's maps (its stake, its contribution...) and the
    keys of the module's maps whose entry is the caller or an address the
    state links to it (the ids of the cards it holds, or may move as an
    approved operator: see :func:`linked_addresses`); unless
    ``narrow``, also the module's scalars and the caller's entries in every
    module (its balances...)."""
    found: set[int] = set()
    holders = {caller, *linked_addresses(model, module, caller)}

    def add(v: Any) -> None:
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            found.add(v)
        elif isinstance(v, Map):
            for x in v.values():
                add(x)

    own = model.state(module)
    for name in own.__dataclass_fields__:
        v = getattr(own, name)
        if isinstance(v, Map) and caller in v:
            add(v[caller])
        if isinstance(v, Map):
            # the ids the caller, or an account linked to it, holds (a card's owner_of[id])
            for k, x in v.items():
                if _address_like(x) and x in holders and isinstance(k, int) and not isinstance(k, bool):
                    add(k)
    if narrow:
        return sorted(found)
    for name in own.__dataclass_fields__:
        v = getattr(own, name)
        if not isinstance(v, Map):
            add(v)
    for st_ in model.world.state.values():
        for name in st_.__dataclass_fields__:
            v = getattr(st_, name)
            if isinstance(v, Map) and caller in v:
                add(v[caller])
    return sorted(found)


def resolve(value: Any, model: Model, module: str, caller: int, clock: tuple[int, ...] = (),
            held: Callable[[], list[int]] | None = None) -> Any:
    """Replace :class:`Linked` placeholders by addresses (the caller when
    nothing is linked), and :class:`NearState` placeholders (also inside
    records) by numbers:
    half of the picks aim at the caller's entries in the module (half of
    those exactly: a whole stake, a whole contribution), a quarter at what
    concerns the caller and module more widely, a quarter at any number in the
    state; all but the exact picks also take 0 and one off. The ``clock``
    (the time and block number the step runs at) joins every pool, so that a
    deadline meets the present, exactly and one off. ``held`` gives
    ``model.numbers_held()`` (a caller may keep it while the state stays)."""
    if isinstance(value, NearState):
        kind = value.pick % 4
        if kind <= 1:
            pool = focused_numbers(model, module, caller, narrow=True)
        elif kind == 2:
            pool = focused_numbers(model, module, caller)
        else:
            pool = held() if held is not None else model.numbers_held()
        pool = sorted({*pool, *clock})
        choices = pool if kind == 0 and pool else _near(pool)
        return choices[(value.pick // 4) % len(choices)]
    if isinstance(value, NearCount):
        count = getattr(model.state(value.module), attr(value.name))
        return max(int(count) - value.offset, 0)
    if isinstance(value, NearClock):
        base = clock[0] if value.kind == "now" or len(clock) < 2 else clock[1]
        return min(max(base + value.offset, 0), UINT256_MAX)
    if isinstance(value, Linked):
        pool = linked_addresses(model, module, caller)
        return pool[value.pick % len(pool)] if pool else caller
    if isinstance(value, tuple):
        return tuple(resolve(v, model, module, caller, clock, held) for v in value)
    return value


def _near(values: list[int]) -> list[int]:
    out = {0}
    for v in values[-64:]:
        out.update((v - 1, v, v + 1))
    return sorted(x for x in out if 0 <= x <= UINT256_MAX)


class Quoted:
    """A placeholder drawn instead of a number: "the pick-th number this very
    step returns or logs when the placeholders are 0". Resolved by
    :func:`resolve_quotes`, after :func:`resolve`."""

    def __init__(self, pick: int) -> None:
        self.pick = pick

    def __repr__(self) -> str:
        return f"Quoted({self.pick})"


def outcome_numbers(outcome: Outcome) -> list[int]:
    """The numbers a successful outcome returned or logged (none for a revert)."""
    if not outcome.ok:
        return []
    found: set[int] = set()

    def add(v: Any) -> None:
        if isinstance(v, bool):
            return
        if isinstance(v, int):
            found.add(v)
        elif isinstance(v, tuple):
            for x in v:
                add(x)
        elif hasattr(v, "__dataclass_fields__"):
            for f in v.__dataclass_fields__:
                add(getattr(v, f))

    add(outcome.value)
    for event in outcome.events:
        for _, v in event.args:
            add(v)
    return sorted(found)


def resolve_quotes(args: tuple[Any, ...], dry_run: Callable[[tuple[Any, ...]], Outcome]) -> tuple[Any, ...]:
    """Replace top-level :class:`Quoted` placeholders by numbers the step
    produces: ``dry_run`` runs it (on a copy of the state) with every
    placeholder at 0, and each placeholder takes one of the numbers returned
    or logged: half of the picks exactly, the other half one off. With
    nothing to pick from (the dry run reverted), a placeholder is 0."""
    if not any(isinstance(a, Quoted) for a in args):
        return args
    pool = outcome_numbers(dry_run(tuple(0 if isinstance(a, Quoted) else a for a in args)))
    off = _near(pool)

    def pick(q: Quoted) -> int:
        if not pool:
            return 0
        if q.pick % 2 == 0:
            return pool[(q.pick // 2) % len(pool)]
        return off[(q.pick // 2) % len(off)]

    return tuple(pick(a) if isinstance(a, Quoted) else a for a in args)


class Linked:
    """A placeholder drawn instead of an address: "the pick-th address the
    module's state links to the caller" (who approved it, whom it approved,
    who holds what it may move). Resolved by :func:`resolve`."""

    def __init__(self, pick: int) -> None:
        self.pick = pick

    def __repr__(self) -> str:
        return f"Linked({self.pick})"


def _address_like(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and ADDRESS_FLOOR <= v < 2**160


def linked_addresses(model: Model, module: str, caller: int) -> list[int]:
    """Addresses the module's maps link to ``caller``: the other key of a
    two-address entry with the caller as one key (an allowance, an operator),
    the value of the caller's entry (a delegate), the key of an entry whose
    value is the caller; failing those, every address the module's state
    holds (a card's holder, an approved spender)."""
    linked: set[int] = set()
    held: set[int] = set()
    own = model.state(module)
    for name in own.__dataclass_fields__:
        v = getattr(own, name)
        if _address_like(v):
            held.add(v)
        if not isinstance(v, Map):
            continue
        for k, inner in v.items():
            if _address_like(k):
                held.add(k)
            if isinstance(inner, Map):
                if k == caller:
                    linked.update(x for x in inner if _address_like(x) and x != caller)
                elif caller in inner and _address_like(k):
                    linked.add(k)
            elif _address_like(inner):
                held.add(inner)
                if k == caller:
                    linked.add(inner)
                elif inner == caller and _address_like(k):
                    linked.add(k)
    return sorted(linked) or sorted(held)


class TimeTarget:
    """A placeholder clock move: "land on the pick-th interesting moment":
    a timestamp held in the state plus one of the spec's periods (or one off),
    such as a deadline, the end of a window, or a decay step."""

    def __init__(self, pick: int) -> None:
        self.pick = pick

    def __repr__(self) -> str:
        return f"TimeTarget({self.pick})"


def resolve_time(value: Any, model: Model, now: int, periods: list[int], horizon: int,
                 held: Callable[[], list[int]] | None = None) -> int:
    """Seconds to move the clock for a drawn value (an int or a TimeTarget);
    ``held`` as for :func:`resolve`."""
    if not isinstance(value, TimeTarget):
        return int(value)
    stamps = [v for v in (held() if held is not None else model.numbers_held()) if now - horizon <= v <= now + horizon]
    if value.pick % 2 == 0:
        # most often the latest moment recorded: the action that just ran
        stamps = sorted(stamps)[-1:]
    targets = sorted({t + p - now for t in stamps for p in (0, *periods)} - {0})
    targets = [t for t in targets if 0 < t <= horizon]
    if not targets:
        return 1
    return targets[(value.pick // 2) % len(targets)]


# Offsets from the present for arguments compared with the clock: mostly a
# live deadline (now, or a little or much later; two days is the shortest
# timelock delay), sometimes one just past.
CLOCK_OFFSETS = (0, 0, 1, 1, 2, 60, 3600, 86400, 2 * 86400, 30 * 86400, 10**9, -1)


class NearClock:
    """A placeholder drawn instead of a number: "the time (or block number) of
    the step, plus ``offset``". Resolved by :func:`resolve`."""

    def __init__(self, kind: str, offset: int) -> None:
        self.kind = kind
        self.offset = offset

    def __repr__(self) -> str:
        return f"NearClock({self.kind!r}, {self.offset})"


def _subexpressions(e: Any) -> Iterator[Any]:
    """Every expression inside ``e`` (``e`` included), iteratively."""
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        if is_dataclass(x):
            for f in fields(x):
                v = getattr(x, f.name)
                if isinstance(v, ir.Expr):
                    stack.append(v)
                elif isinstance(v, tuple):
                    stack.extend(i for i in v if isinstance(i, ir.Expr))


COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


def clock_params(action: ir.Action, spec: ir.Spec | None = None) -> dict[int, str]:
    """The arguments the action compares with the clock, by position:
    ``{index: "now" | "block_number"}``, found in its ``require`` conditions
    (a deadline: ``require now <= deadline``; an expiry of a signed request)
    and, given the ``spec``, in those of the actions it passes them to."""
    return _clock_params(action, spec, frozenset(), {})


def _clock_params(action: ir.Action, spec: ir.Spec | None, visiting: frozenset[str],
                  memo: dict[str, dict[int, str]]) -> dict[int, str]:
    names = {n: i for i, (n, t) in enumerate(action.params) if t == ir.UINT}
    found: dict[int, str] = {}

    def local(e: ir.Expr) -> int | None:
        return names.get(e.name) if isinstance(e, ir.Ref) and e.kind == "local" else None

    for stmt in ir.walk(action.body):
        exprs = [getattr(stmt, f.name) for f in fields(stmt) if isinstance(getattr(stmt, f.name), ir.Expr)]
        for e in (x for top in exprs for x in _subexpressions(top)):
            if isinstance(stmt, ir.Require) and isinstance(e, ir.Bin) and e.op in COMPARISONS:
                sides = [list(_subexpressions(e.left)), list(_subexpressions(e.right))]
                for mine, other in (sides, sides[::-1]):
                    clocks = [r.name for r in other if isinstance(r, ir.Ref) and r.kind == "env"
                              and r.name in ("now", "block_number")]
                    for r in mine:
                        i = local(r)
                        if clocks and i is not None:
                            found.setdefault(i, clocks[0])
            elif isinstance(e, ir.ActionCall) and spec is not None and f"{e.module}.{e.name}" not in visiting:
                name = f"{e.module}.{e.name}"
                if name not in memo:
                    memo[name] = _clock_params(spec.modules[e.module].actions[e.name], spec, visiting | {name}, memo)
                inner = memo[name]
                for j, kind in inner.items():
                    i = local(e.args[j]) if j < len(e.args) else None
                    if i is not None:
                        found.setdefault(i, kind)
    return found


# Offsets below a counter for arguments compared with it: the newest entry,
# the ones before it, and one past it (-1).
COUNT_OFFSETS = (0, 0, 1, 2, 3, -1)


class NearCount:
    """A placeholder drawn instead of a number: "state variable ``name`` of
    ``module`` (a counter: the proposals made, the cards issued) minus
    ``offset``", for an argument the action compares with it (``require id
    <= proposal_count``): an id of something that exists. Resolved by
    :func:`resolve`."""

    def __init__(self, module: str, name: str, offset: int) -> None:
        self.module = module
        self.name = name
        self.offset = offset

    def __repr__(self) -> str:
        return f"NearCount({self.module}.{self.name}, {self.offset})"


def counters(spec: ir.Spec, module: str) -> frozenset[str]:
    """The counters of ``module``: its uint256 state variables (no maps) that
    only ever grow by one (every assignment to them, in every action of the
    module, is ``x += 1``): the proposals made, the cards issued. A reserve
    or a total that moves by amounts is no counter."""
    m = spec.modules[module]
    steps: dict[str, bool] = {}
    for action in m.actions.values():
        for stmt in ir.walk(action.body):
            if isinstance(stmt, ir.Assign) and isinstance(stmt.target, ir.Ref) and stmt.target.kind == "state":
                t, v = stmt.target, stmt.value
                by_one = (isinstance(v, ir.Bin) and v.op == "+" and isinstance(v.left, ir.Ref)
                          and (v.left.module, v.left.name) == (t.module, t.name)
                          and isinstance(v.right, ir.Lit) and v.right.value == 1)
                steps[t.name] = steps.get(t.name, True) and by_one
    return frozenset(name for name, by_one in steps.items() if by_one)


def counter_params(action: ir.Action, spec: ir.Spec) -> dict[int, tuple[str, str]]:
    """The uint256 arguments the action's ``require`` conditions compare with
    a counter of its module (:func:`counters`: an id against the count of
    proposals), by position: ``{index: (module, variable)}``."""
    names = {n: i for i, (n, t) in enumerate(action.params) if t == ir.UINT}
    found: dict[int, tuple[str, str]] = {}
    for stmt in ir.walk(action.body):
        if not isinstance(stmt, ir.Require):
            continue
        for e in _subexpressions(stmt.cond):
            if not (isinstance(e, ir.Bin) and e.op in COMPARISONS):
                continue
            for mine, other in ((e.left, e.right), (e.right, e.left)):
                if isinstance(mine, ir.Ref) and mine.kind == "local" and mine.name in names \
                        and isinstance(other, ir.Ref) and other.kind == "state" and other.type == ir.UINT \
                        and other.name in counters(spec, other.module):
                    found.setdefault(names[mine.name], (other.module, other.name))
    return found


class Alias:
    """A placeholder drawn instead of an address: "the caller, or the pick-th
    address argument before this one". Resolved by :func:`resolve_aliases`."""

    def __init__(self, pick: int) -> None:
        self.pick = pick

    def __repr__(self) -> str:
        return f"Alias({self.pick})"


def resolve_aliases(args: tuple[Any, ...], caller: int, types: tuple[ir.Type, ...]) -> tuple[Any, ...]:
    """Replace top-level :class:`Alias` placeholders by the caller or an
    earlier address argument (after :func:`resolve`)."""
    out: list[Any] = []
    for a in args:
        if isinstance(a, Alias):
            earlier = [caller, *(x for x, t in zip(out, types, strict=False) if t == ir.ADDRESS)]
            a = earlier[a.pick % len(earlier)]
        out.append(a)
    return tuple(out)


def boundaries(value: int, outcome_of: Callable[[int], Any]) -> list[tuple[int, int]]:
    """Neighbours ``(n, n + 1)`` around which ``outcome_of`` changes.

    ``outcome_of`` runs the step on the model with the number in place and
    says what happened (success, or which revert). The outcomes at 0, 1,
    ``value`` and the largest uint256 mark the ranges where it changes; each
    such range is bisected, geometrically while it spans orders of magnitude,
    down to one pair of neighbours with different outcomes. About
    ``8 + log2(n)`` runs a range: a boundary near 10**24 costs some 90.
    """
    points = sorted({0, 1, value, UINT256_MAX})
    seen = [outcome_of(p) for p in points]
    found = []
    for i in range(len(points) - 1):
        if seen[i] == seen[i + 1]:
            continue
        lo, hi, low_outcome = points[i], points[i + 1], seen[i]
        while hi - lo > 1:
            mid = math.isqrt(max(lo, 1) * hi) if hi > 4 * max(lo, 1) else (lo + hi) // 2
            mid = min(max(mid, lo + 1), hi - 1)
            if outcome_of(mid) == low_outcome:
                lo = mid
            else:
                hi = mid
        found.append((lo, hi))
    return found
