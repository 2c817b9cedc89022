"""Hypothesis state machines generated from the spec.

:func:`build_machine` makes one ``RuleBasedStateMachine`` class per run:

- the actors (test accounts, plus module addresses and the zero address as
  passive parties) form a bundle;
- every public action of every module becomes a rule whose arguments come
  from :mod:`conformance.strategies`, by type;
- one rule moves the clock (and the block number) forward;
- each step runs on the model and on the EVM; any difference fails the
  example, which hypothesis then shrinks.

Nothing here is written per module: add an action to the spec and it is
exercised.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, multiple, precondition, rule

from conformance.binding import PRELUDE_START, module_only_actions
from conformance.draws import Build, Draw, Just, Named, OneOf, Sampled
from conformance.harness import MAX_TIME_STEP, Harness, Step, StepReport
from conformance.harness.values import _attr
from conformance.signatures import sign_requests
from conformance.strategies import (
    COUNT_OFFSETS,
    NearCount,
    TimeTarget,
    boundaries,
    clock_params,
    counter_params,
    focused_numbers,
    governed_call_positions,
    governed_calls,
    interesting_numbers,
    resolve,
    resolve_aliases,
    resolve_quotes,
    resolve_time,
    spec_numbers,
    value_draw,
)
from reference.model import Outcome
from spec import ir

# Every step compares the whole storage state, reading what the step changed
# (Harness.compare_changes). Every clock move compares the exported views
# (derived state that time changes). Every FULL_COMPARE_EVERY steps, and at the
# end of every sequence, Harness.sweep compares the views and whatever the
# per-step comparison cannot see on the backend at hand.
FULL_COMPARE_EVERY = 8
# An action step draws MAX_RETRIES more callers and argument tuples; of
# all its draws it runs the one whose outcome on the model (success, or a
# revert reason) the sequence has run least often so far, and at equal counts
# the deepest: a success, else the revert that the most checks pass before
# (see check_depths). (Counted per sequence: a sequence must do the same
# whenever hypothesis replays it.)
MAX_RETRIES = 5
# One action step in PUSH_EVERY has one of its numbers pushed to the
# boundaries of the model's outcome (strategies.boundaries), and runs on both
# sides of them: first every value that reverts (a revert leaves the state as
# it was), then one that succeeds.
PUSH_EVERY = 4

# One clock move in four advances the block number at mainnet's pace (a
# block every BLOCK_SECONDS seconds, at least one) rather than by 1 to 3
# blocks, so that periods counted in blocks (a governor's voting period of
# thousands of blocks, its queue window) pass within a generated sequence.
BLOCK_SECONDS = 12
PACED = 0  # the drawn block count that stands for "at mainnet's pace"


def paced_blocks(seconds: int, blocks: int) -> int:
    """The blocks a clock move of ``seconds`` advances when ``blocks`` was
    drawn: ``blocks`` itself, or for :data:`PACED` one per BLOCK_SECONDS
    seconds (at least one)."""
    return max(1, seconds // BLOCK_SECONDS) if blocks == PACED else blocks


# An action rests for the rest of a sequence once it has run SHARE_SLACK
# steps more than its share of the sequence's steps (see within_share).
SHARE_SLACK = 2

# A focus step (see build_machine's `focus`) whose draws all revert on the
# model moves its deepest draw toward success, argument by argument, for up
# to SEEK_ROUNDS rounds over its arguments.
SEEK_ROUNDS = 2

# What an action did on the model: ("pool.swap", "ok") or ("pool.swap", "revert", reason).
OutcomeTag = tuple[str, ...]


class Divergence(AssertionError):
    """The model and the EVM disagree; carries the trace that shows it."""

    def __init__(self, trace: list[StepReport]) -> None:
        self.trace = trace
        last = trace[-1]
        first = last.differences[0]
        super().__init__(f"step {len(trace)}: {last.step.describe()}: {first}")


@dataclass
class ActionOutcomes:
    """How often one action succeeded and reverted on the model in a run."""

    ok: int = 0
    reverted: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # reverts by reason ("" for a bare revert)

    def __iter__(self) -> Iterator[int]:
        """``ok, reverted = outcomes`` unpacks the two counts."""
        return iter((self.ok, self.reverted))


@dataclass
class RunStats:
    """Counts for the summary of a run."""

    examples: int = 0
    steps: int = 0
    outcomes: dict[str, ActionOutcomes] = field(default_factory=dict)  # by `module.action`
    clauses: set[tuple[str, bool]] = field(default_factory=set)  # clause sides covered (spec.clauses)

    def merge(self, other: RunStats) -> None:
        """Add ``other``'s counts (a shard's) to these."""
        self.examples += other.examples
        self.steps += other.steps
        self.clauses |= other.clauses
        for action, theirs in other.outcomes.items():
            counts = self.outcomes.setdefault(action, ActionOutcomes())
            counts.ok += theirs.ok
            counts.reverted += theirs.reverted
            for reason, n in theirs.reasons.items():
                counts.reasons[reason] = counts.reasons.get(reason, 0) + n

    def record(self, report: StepReport) -> None:
        self.steps += 1
        if report.step.kind != "action" or report.model is None:
            return
        key = f"{report.step.module}.{report.step.action}"
        self.clauses |= report.model.clauses
        counts = self.outcomes.setdefault(key, ActionOutcomes())
        if report.model.ok:
            counts.ok += 1
        else:
            counts.reverted += 1
            reason = report.model.reason or ""
            counts.reasons[reason] = counts.reasons.get(reason, 0) + 1


def within_share(ran: Counter[str], key: str, actions: int) -> bool:
    """Whether action ``key`` may run again in a sequence whose steps so far
    ran each action as ``ran`` says: it may while it is fewer than
    ``SHARE_SLACK`` steps above its share of them (the steps divided among
    the ``actions`` actions).

    Hypothesis picks uniformly among the rules it has left enabled for the
    sequence ("swarm testing"), so without this a sequence with few rules
    enabled spends most of its steps on the same two or three actions, and
    over a campaign some actions never run from a given starting state (a
    refund from the failed offering, a purchase from the drained pool).

    Only the sequence itself counts: hypothesis replays a sequence (to
    shrink it, or to extend one it ran before) and requires the same
    choices to find the same rules enabled, so a precondition must not
    depend on what other sequences did.
    """
    return ran[key] * actions < ran.total() + SHARE_SLACK * actions


def build_machine(
    harness: Harness,
    stats: RunStats,
    on_step: Callable[[StepReport], None] | None = None,
    on_divergence: Callable[[list[StepReport]], None] | None = None,
) -> type[RuleBasedStateMachine]:
    """A state machine class that drives ``harness`` with every public action."""
    spec = harness.spec
    edges = interesting_numbers(spec, harness.model)
    actor_list = list(harness.actors)
    passive = sorted({0, *harness.addresses.values(), harness.deployer})
    arg_addresses = actor_list + passive
    module_only = module_only_actions(spec, harness.binding)
    public = [(mname, a) for mname, m in spec.modules.items() for a in m.actions.values()
              if not a.internal and f"{mname}.{a.name}" not in module_only]
    echo_signatures = echo_signature(spec)
    # clock moves that land exactly on the spec's periods, windows and deadlines (and one off)
    time_edges = [v for v in edges if 1 <= v <= MAX_TIME_STEP]
    spec_periods = sorted({v + d for v in spec_numbers(spec, harness.model) for d in (-1, 0, 1)
                           if 1 <= v + d <= MAX_TIME_STEP})
    time_strategy = Named(st.one_of(
        st.sampled_from(time_edges or [1]), st.integers(1, 30 * 86400), st.builds(TimeTarget, st.integers(0, 2**16))
    ), "clock.seconds")

    class SpecMachine(RuleBasedStateMachine):
        actors = Bundle("actors")

        def __init__(self) -> None:
            super().__init__()
            harness.reset()
            self.trace: list[StepReport] = []
            # how often each action outcome ran in this sequence
            self.outcomes_seen: Counter[OutcomeTag] = Counter()
            # the world changes with every success and every clock move; an
            # action whose best draw only repeated a revert already seen rests
            # until it does (see _action_rule)
            self.world = 0
            self.resting: dict[str, int] = {}
            # the steps of each action in this sequence (see within_share)
            self.ran: Counter[str] = Counter()
            # the arguments of successful steps, by module and parameter list
            # (see echo_signature)
            self.echoes: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
            for done in harness.scenario_successes:
                sig = echo_signatures.get((done.module, done.action))
                if sig is not None:
                    self.echoes.setdefault(sig, []).append(done.args)
            stats.examples += 1

        # (hypothesis itself runs each sequence with a random subset of the
        # rules, "swarm testing", which reaches deep states far more often
        # than all of them at once)
        @initialize(target=actors)
        def add_actors(self) -> Any:
            return multiple(*actor_list)

        def _run(self, step: Step) -> None:
            report = harness.run(step)
            key = f"{step.module}.{step.action}"
            if step.kind == "action":
                self.ran[key] += 1
            if report.model is not None:
                self.outcomes_seen[_tag(key, report.model)] += 1
            if step.kind == "time" or (report.model is not None and report.model.ok):
                self.world += 1
            if step.kind == "action" and report.model is not None and report.model.ok:
                sig = echo_signatures.get((step.module, step.action))
                if sig is not None:
                    self.echoes.setdefault(sig, []).append(step.args)
            if not harness.full_compare and (len(self.trace) + 1) % FULL_COMPARE_EVERY == 0:
                report.differences.extend(harness.sweep())
            self.trace.append(report)
            stats.record(report)
            if on_step is not None:
                on_step(report)
            if not report.ok:
                self._diverge()

        def _diverge(self) -> None:
            if on_divergence is not None:
                on_divergence(self.trace)
            raise Divergence(self.trace)

        def teardown(self) -> None:
            # the whole state of every module, at the end of every sequence
            if self.trace and harness.full_compare is False:
                diffs = harness.sweep()
                if diffs:
                    self.trace[-1].differences.extend(diffs)
                    self._diverge()

        # Hypothesis orders the rules by their targets, then by how many
        # arguments they take, and its first (minimal) draw of a sequence takes
        # the first rule it may: a clock move, with its two arguments, would be
        # that rule, and a campaign's first sequence from each starting state
        # would move the clock only. The clock's target (the moves it made,
        # never read) puts it after every action.
        clock_moves = Bundle("clock_moves")

        @rule(target=clock_moves, seconds=time_strategy,
              blocks=Named(st.one_of(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.just(PACED)),
                           "clock.blocks"))
        def advance_time(self, seconds: Any, blocks: int) -> int:
            dt = resolve_time(seconds, harness.model, harness.backend.timestamp, spec_periods, MAX_TIME_STEP,
                              harness.numbers_held)
            self._run(Step("time", seconds=dt, blocks=paced_blocks(dt, blocks)))
            return dt

        # A sequence that starts from a scenario with a `focus` in the binding
        # begins with one step of each action it names, in its order, each
        # drawn like any step of that action (the best of several draws, a
        # push one time in four). An initialize rule runs in every sequence,
        # whatever rules hypothesis's swarm testing leaves enabled for it, so
        # a campaign of a few sequences a starting state still tries each of
        # them there a few times. (The scenario is the shard's: every sequence,
        # and every replay of one, draws the same steps here.)
        @initialize(data=st.data())
        def focus(self, data: Any) -> None:
            for key in harness.binding.focus.get(harness.scenario or PRELUDE_START, ()):
                if key in focus_steps:
                    step, strategy = focus_steps[key]
                    step(self, seeking=True, **data.draw(strategy, label=key))

    focus_steps: dict[str, tuple[Callable[..., None], st.SearchStrategy[dict[str, Any]]]] = {}
    for module, action in public:
        fn, step, strategies = _action_rule(
            harness, module, action, spec, arg_addresses, edges, SpecMachine.actors, len(public),
            echo_signatures.get((module, action.name)))
        setattr(SpecMachine, f"{module}__{action.name}", fn)
        focus_steps[f"{module}.{action.name}"] = (step, st.fixed_dictionaries(strategies))
    # Hypothesis keys every run of a state machine by a digest of the class's
    # source (for its example database, which campaigns do not use): finding
    # the source of a class made inside a function parses this whole file,
    # tens of milliseconds a shard. A class whose module is no loaded module
    # has no source, and hypothesis keys it by its name. (The seed, not the
    # key, decides what a shard draws.)
    SpecMachine.__module__ = "<imospec generated machine>"
    return SpecMachine


# Actions with at least this many parameters whose list (names and types) is
# shared with another action of their module are echoed (see echo_signature).
ECHO_MIN_PARAMS = 3


def echo_signature(spec: ir.Spec) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(module, action) -> signature, for the public actions that take the
    very arguments another action of their module took: a timelock's
    ``queue``, ``execute`` and ``cancel`` of one transaction. Such an action
    is drawn, one time in three, with the arguments of an earlier successful
    step of the same signature; independent draws of four arguments never
    name the same transaction twice."""
    by_sig: dict[tuple[Any, ...], list[str]] = {}
    for m in spec.modules.values():
        for a in m.actions.values():
            if a.internal or len(a.params) < ECHO_MIN_PARAMS:
                continue
            sig = (m.name, tuple((n, str(t)) for n, t in a.params))
            by_sig.setdefault(sig, []).append(a.name)
    return {(sig[0], name): sig for sig, names in by_sig.items() if len(names) > 1 for name in names}


def _action_rule(
    harness: Harness, module: str, action: ir.Action, spec: ir.Spec, addresses: list[int],
    edges: list[int], actors: Bundle[Any], actions: int, echo: tuple[Any, ...] | None = None,
) -> tuple[Any, Callable[..., None], dict[str, Any]]:
    """The rule of one public action; also its step function and the
    strategies of a focus step of it (see build_machine's ``focus``)."""
    names = [n for n, _ in action.params]
    types = tuple(t for _, t in action.params)
    clocks = clock_params(action, spec)
    draws: list[Draw] = [value_draw(t, spec, addresses, edges, harness.actors, clocks.get(i))
                         for i, (_, t) in enumerate(action.params)]
    counted = counter_params(action, spec)
    for i, (owner, counter) in counted.items():
        # an id compared with a counter: three times in four one that exists (or the next)
        near_count = Build(NearCount, Just(owner), Just(counter), Sampled(COUNT_OFFSETS))
        draws[i] = OneOf(near_count, near_count, near_count, draws[i])
    strategies: dict[str, Any] = {f"arg_{i}": d.strategy for i, d in enumerate(draws)}
    # the numbers a push may move (a clock argument already lands on the present)
    numbers = [i for i, t in enumerate(types) if t == ir.UINT and i not in clocks]
    depth = check_depths(spec, action)
    governed = governed_call_positions(action)
    calls = governed_calls(spec, harness.addresses) if governed is not None else []

    key = f"{module}.{action.name}"

    # the dry runs of this action in the present state (see dry_run)
    known: dict[Any, Outcome] = {}
    known_at: list[Any] = [None]

    def dry_run(caller: int, args: tuple[Any, ...]) -> Outcome:
        # the step on the model alone, then the model put back as it was
        # (Model.dry_run: from an undo log).
        # An outcome depends on the state, the clock, the caller and the
        # arguments alone: a step's draws, pushes and seeks ask again for
        # many they asked before, in a state that changes only when a step
        # runs (Harness.state_version) or the clock moves
        now = (harness.state_version, harness.backend.timestamp, harness.backend.block_number)
        if known_at[0] != now:
            known.clear()
            known_at[0] = now
        key: Any = (caller, args)
        try:
            outcome = known.get(key)
        except TypeError:  # (an argument that cannot be a key: run it)
            outcome, key = None, None
        if outcome is None:
            model_args = tuple(harness.model_value(a, t) for a, (_, t) in zip(args, action.params, strict=True))
            outcome = harness.model.dry_run(module, action.name, harness.env(caller), *model_args)
            if key is not None:
                known[key] = outcome
        return outcome

    def draw(caller: int, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        clock = (harness.backend.timestamp, harness.backend.block_number)
        args = tuple(resolve(v, harness.model, module, caller, clock, harness.numbers_held) for v in raw)
        args = resolve_aliases(args, caller, types)
        if action.signed_request is not None:
            rec = spec.modules[module].records[action.signed_request]
            nonces = getattr(harness.model.state(module), _attr(rec.nonce_map)) if rec.nonce_map else None
            args = sign_requests(args, module, action, spec, harness.signing, nonces, clock[0], caller,
                                 lambda who: focused_numbers(harness.model, module, who, narrow=True))
        return resolve_quotes(args, lambda probe: dry_run(caller, probe))

    def push(caller: int, args: tuple[Any, ...], pick: int) -> list[tuple[Any, ...]]:
        # one number of the step moved to where the model's outcome changes:
        # the values on the reverting side of every boundary (a revert leaves
        # the state as it was), then one on the other side of one of them
        j = numbers[pick % len(numbers)]
        outcomes: dict[int, Outcome] = {}

        def outcome_of(v: int) -> OutcomeTag:
            outcomes[v] = dry_run(caller, (*args[:j], v, *args[j + 1:]))
            return _tag(key, outcomes[v])

        pairs = boundaries(args[j], outcome_of)
        if not pairs:
            return [args]
        values = [v for pair in pairs for v in pair]
        reverting = list(dict.fromkeys(v for v in values if not outcomes[v].ok))
        succeeding = [v for v in values if outcomes[v].ok]
        if succeeding:
            reverting.append(succeeding[pick // len(numbers) % len(succeeding)])
        return [(*args[:j], v, *args[j + 1:]) for v in reverting]

    def seek(caller: int, args: tuple[Any, ...]) -> tuple[int, tuple[Any, ...]]:
        # the draw moved toward the action's success, the caller first, then
        # one argument at a time: the caller to the actor that gets deepest
        # (an account that holds what the action takes), each number to the
        # side of one of its outcome's boundaries (strategies.boundaries)
        # that gets deepest, each address to the one that does; SEEK_ROUNDS
        # rounds, stopping at a success
        best = dry_run(caller, args)
        for _ in range(SEEK_ROUNDS):
            if best.ok:
                return caller, args
            by_actor = {who: dry_run(who, args) for who in harness.actors}
            who = max(harness.actors, key=lambda w: (depth(by_actor[w]), w == caller))
            if depth(by_actor[who]) > depth(best):
                caller, best = who, by_actor[who]
            for j in seekable:
                if best.ok:
                    return caller, args
                tried: dict[Any, Outcome] = {}

                def outcome_of(v: Any, j: int = j, at: tuple[Any, ...] = args, who: int = caller,
                               tried: dict[Any, Outcome] = tried) -> OutcomeTag:
                    tried[v] = dry_run(who, (*at[:j], v, *at[j + 1:]))
                    return _tag(key, tried[v])

                if types[j] == ir.UINT:
                    boundaries(args[j], outcome_of)
                    if j in counted:  # an id: also those that exist near the counter
                        owner, counter = counted[j]
                        count = int(getattr(harness.model.state(owner), _attr(counter)))
                        for offset in COUNT_OFFSETS:
                            outcome_of(max(count - offset, 0))
                else:
                    for v in addresses:
                        outcome_of(v)
                v = max(tried, key=lambda v: (depth(tried[v]), v == args[j]))
                if depth(tried[v]) > depth(best):
                    args, best = (*args[:j], v, *args[j + 1:]), tried[v]
        return caller, args

    seekable = [i for i, t in enumerate(types) if t in (ir.UINT, ir.ADDRESS)]

    def step(self: Any, caller: int, retries: list[tuple[int, tuple[Any, ...]]] | None = None,
             push_pick: tuple[int, int] = (0, 0), echo_pick: int | None = None,
             govern_pick: int | None = None, seeking: bool = False, **kwargs: Any) -> None:
        args = draw(caller, tuple(kwargs[f"arg_{i}"] for i in range(len(names))))
        if govern_pick is not None and governed is not None and calls:
            # half the draws set a governed parameter of a deployed module, at
            # or just outside its bounds
            chosen = calls[govern_pick % len(calls)]
            changed = list(args)
            for pos, v in zip(governed, chosen, strict=True):
                changed[pos] = v
            args = tuple(changed)
            retries = None
        earlier = self.echoes.get(echo) if echo is not None else None
        if echo_pick is not None and earlier:
            # the very arguments of an earlier success (the transaction queued)
            args = earlier[echo_pick % len(earlier)]
            retries = None
        if retries:
            # of all the draws, the one whose outcome on the model has run least
            # often: a success while successes are rare, else a rarer revert
            # (a deeper check); at equal counts a success, then the first draw
            options = [(caller, args), *((who, draw(who, raw)) for who, raw in retries)]
            outcomes = [dry_run(who, a) for who, a in options]
            seen = self.outcomes_seen
            best = min(range(len(options)),
                       key=lambda i: (seen[_tag(key, outcomes[i])], -depth(outcomes[i]), i))
            caller, args = options[best]
            if not outcomes[best].ok and seen[_tag(key, outcomes[best])]:
                self.resting[key] = self.world  # (see `awake` below)
            if seeking and not outcomes[best].ok:
                # (a focus step: the deepest draw, moved toward success)
                best = max(range(len(options)), key=lambda i: (depth(outcomes[i]), -i))
                caller, args = seek(*options[best])
        elif seeking:
            caller, args = seek(caller, args)
        runs = push(caller, args, push_pick[1]) if push_pick[0] == PUSH_EVERY - 1 and numbers else [args]
        for a in runs:
            self._run(Step("action", module, action.name, caller, a))

    step.__name__ = f"{module}__{action.name}"
    # the first actors are drawn more often, so that one account's actions chain up
    callers = st.one_of(st.sampled_from(harness.actors[:1]), st.sampled_from(harness.actors[:2]), actors)
    strategies["caller"] = callers
    # more draws of the caller and the arguments: most random draws fail the
    # same first check, and an action that never succeeds, or never reaches
    # its later checks, tests only its first. They come from a PRNG seeded by
    # one number hypothesis draws (see conformance.draws): through hypothesis
    # they cost more than the rest of the step
    callers_all = Sampled(harness.actors)
    strategies["retries"] = st.integers(0, 2**64 - 1).map(lambda seed: extra_draws(seed, callers_all, draws))
    # (shrinks towards no push: hypothesis shrinks numbers towards 0)
    strategies["push_pick"] = st.tuples(st.integers(0, PUSH_EVERY - 1), st.integers(0, 2**16))
    if echo is not None:
        strategies["echo_pick"] = st.one_of(st.none(), st.none(), st.integers(0, 2**16))
    if governed is not None:
        strategies["govern_pick"] = st.one_of(st.none(), st.integers(0, 2**16))
    # An action rests while the world is as it was when its draws could only
    # repeat a revert the sequence has seen: its steps go to actions that can
    # still do something new here. It also rests once it is well above its
    # share of the sequence's steps (within_share).
    def awake(self: Any) -> bool:
        # (a named function: hypothesis describes a precondition at every rule it draws, and a
        # lambda's description reads its source)
        return self.resting.get(key) != self.world and within_share(self.ran, key, actions)

    # a focus step (see build_machine's `focus`) runs before the actors' bundle is filled: its caller is drawn
    # from the actors themselves
    focused = {**strategies, "caller": st.one_of(st.sampled_from(harness.actors[:1]),
                                                 st.sampled_from(harness.actors[:2]), st.sampled_from(harness.actors))}
    # (under short names: see conformance.draws.Named)
    named: dict[str, Any] = {k: Named(v, f"{key}.{k}") for k, v in strategies.items()}
    focused = {k: Named(v, f"{key}.{k}") for k, v in focused.items()}
    return precondition(awake)(rule(**named)(step)), step, focused


def extra_draws(seed: int, callers: Draw, args: list[Draw]) -> list[tuple[int, tuple[Any, ...]]]:
    """A step's MAX_RETRIES extra draws of a caller and arguments, from a
    PRNG seeded with ``seed``: the same for the same seed, wherever it runs."""
    rng = random.Random(seed)
    return [(callers.sample(rng), tuple(d.sample(rng) for d in args)) for _ in range(MAX_RETRIES)]


def check_depths(spec: ir.Spec, action: ir.Action) -> Callable[[Outcome], int]:
    """How deep an outcome of ``action`` lies: how many of its checks run
    before the one that failed. The checks are its ``require`` reasons and its
    calls to other actions (each standing for every reason the callee, or
    what it calls, can raise), in the order they run. A success lies deepest;
    a revert for a reason no check names (a failed arithmetic check) past
    every check."""
    checks: list[set[str]] = []
    for stmt in ir.walk(action.body):
        if isinstance(stmt, ir.Require):
            checks.append({stmt.reason})
        elif isinstance(stmt, (ir.CallStmt, ir.Let, ir.Assign)):
            calls = [e for e in _subexpressions_of(stmt) if isinstance(e, ir.ActionCall)]
            for call in calls:
                checks.append(_reasons(spec, call.module, call.name, set()))

    def depth(outcome: Outcome) -> int:
        if outcome.ok:
            return len(checks) + 1
        reason = str(outcome.reason) if outcome.reason is not None else None
        return next((i for i, names in enumerate(checks) if reason in names), len(checks))

    return depth


def _subexpressions_of(stmt: ir.Stmt) -> list[ir.Expr]:
    if isinstance(stmt, ir.CallStmt):
        return [stmt.call]
    value = stmt.value if isinstance(stmt, (ir.Let, ir.Assign)) else None
    return [value] if isinstance(value, ir.ActionCall) else []


def _reasons(spec: ir.Spec, module: str, name: str, visiting: set[str]) -> set[str]:
    """Every reason an action, or an action it calls, can revert with."""
    key = f"{module}.{name}"
    if key in visiting:
        return set()
    visiting.add(key)
    action = spec.modules[module].actions[name]
    found = set(action.reasons)
    for stmt in ir.walk(action.body):
        for call in _subexpressions_of(stmt):
            if isinstance(call, ir.ActionCall):
                found |= _reasons(spec, call.module, call.name, visiting)
    return found


def _tag(key: str, outcome: Outcome) -> OutcomeTag:
    return (key, "ok") if outcome.ok else (key, "revert", str(outcome.reason))
