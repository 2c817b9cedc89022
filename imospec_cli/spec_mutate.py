"""``imospec mutate --spec``: mutants of the spec itself, and which of verify's checks catch them.

For each mutant (see :mod:`spec.mutate`) the checks of ``imospec verify``
run in the order that catches most for least cost, and the first that tells
it from the spec catches it:

1. ``check``: a mutant that does not check is *stillborn* (not counted);
2. ``simulation`` on the replays: the unmutated spec's witnesses (one run
   for each cover it meets) replayed on the mutant's model with every rule
   and ``ensures`` checked after each successful call; one breaks that no
   walk breaks on the unmutated spec (a reachable violation, with the
   replayed run as its trace). Model steps only, a few seconds;
3. ``conform``: where the binding implements the mutated module (or one that
   extends it), a conformance campaign of the unchanged contracts against the
   mutant diverges (a few seconds on pyrevm; it goes before the next stage,
   whose bounded search can take minutes on a query the solver leaves
   unknown);
4. ``witnesses``: where the binding implements the mutated module, the
   unmutated spec's witness runs (a ``fails`` one for each ``require``) run
   on the EVM against the mutant's model, every step compared as a campaign
   compares it, diverge (:mod:`conformance.witness_conform`; only the runs
   with a step that may run the code an action's mutant changes);
5. ``prove``, first round: an ``ensures`` of the mutated module's actions or
   one of its theorems (of every module extending a mutated template) is
   refuted;
6. ``covers``: a cover the unmutated spec meets is unmet by the witness
   search on the mutant (same seed and budget), and no replayed witness of
   the unmutated spec meets it either; or ``simulation``: the search's walks
   break a rule that no walk breaks on the unmutated spec;
7. ``prove``: a query is refuted, or the prover and the model disagree
   (left out with ``--quick-prove``). Queries whose text the mutant leaves
   as it is come from the proof cache.

A mutant none of them catches *survives*. One the prover leaves ``unknown``
(and nothing else catches) is reported as such, and counts as a survivor:
"unknown" does not tell it from the spec. With ``--log FILE`` each fate is
appended to FILE as it is known, and a run given a FILE that already holds
fates runs only the mutants not in it (a stopped run goes on where it
stopped). Survivors recorded as equivalent,
with an argument that holds for every parameter value the spec allows, are
read from ``equivalent-mutants.json`` beside the spec and left out of the
catch rate, which is reported for each half of the protocol (the merchant
side and the money market with governance). Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from imospec_cli.exits import EXIT_FAIL, EXIT_OK
from imospec_cli.pipeline import Pipeline

#: The modules of the money market and its governance; every other module is the merchant side.
MONEY_MARKET = frozenset({"controller", "dmg", "governor", "governor_base", "interest", "market", "mdcep",
                          "musdc", "oracle", "timelock", "timelock_base", "usdc", "vesting", "votes", "erc20"})


@dataclass
class MutantFate:
    """What became of one mutant: ``caught_by`` is ``check`` (stillborn),
    ``covers``, ``simulation``, ``conform``, ``witnesses`` or ``prove``, or None (survived);
    ``detail`` says what caught it."""

    mutant: Any
    caught_by: str | None
    detail: str = ""
    equivalent: str | None = None  # the recorded argument, for a survivor recorded as equivalent
    unknown: bool = False
    seconds: float = 0.0  # what the checks took (shown, never a verdict)
    cpu: float = 0.0  # the CPU time of the process that ran them (shown, never a verdict)
    error: str | None = None  # an internal error ended its checks: no fate (not counted, not logged)

    @property
    def half(self) -> str:
        return "money market + governance" if Path(self.mutant.file).stem in MONEY_MARKET else "merchant"


@dataclass
class SpecMutationReport:
    """Every mutant's fate, and the catch rate of each half."""

    fates: list[MutantFate] = field(default_factory=list)

    def rate(self, half: str | None = None) -> tuple[int, int]:
        """(caught, counted): counted leaves out stillborn mutants and recorded equivalents."""
        counted = [f for f in self.fates if f.caught_by != "check" and (half is None or f.half == half)
                   and not (f.caught_by is None and f.equivalent) and f.error is None]
        return sum(1 for f in counted if f.caught_by is not None), len(counted)

    @property
    def survivors(self) -> list[MutantFate]:
        return [f for f in self.fates if f.caught_by is None and not f.equivalent and f.error is None]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``mutate``'s options for ``--spec``."""
    p.add_argument("--spec", action="store_true",
                   help="mutate the spec, not the contracts: drop a require, flip a comparison, swap +/-, a "
                        "constant off by one or x10, swap mul_div_down/up, drop an assignment, swap call "
                        "arguments, change a phase list; then run check, the witness replay, conform and the "
                        "witnesses on the EVM (where the binding implements the module), prove and covers on each")
    p.add_argument("--operator", action="append", metavar="OP",
                   help="with --spec: only these operators (repeatable): drop-require, compare, add-sub, const, "
                        "rounding, drop-assign, swap-args, phases")
    p.add_argument("--file", action="append", metavar="NAME",
                   help="with --spec: only mutants of these spec files (e.g. reserve.imo; repeatable)")
    p.add_argument("--no-conform", action="store_true", help="with --spec: leave out the conformance campaigns")
    p.add_argument("--no-prove", action="store_true", help="with --spec: leave out the proofs")
    p.add_argument("--quick-prove", action="store_true",
                   help="with --spec: prove only the `ensures` of the mutated module's actions (a few queries "
                        "each), not every rule; a mutant that only a rule would catch is then counted a survivor")
    p.add_argument("--stages", metavar="LIST",
                   help="with --spec: only these stages, comma-separated, in the default order (replay, conform, "
                        "witnesses, ensures, covers, prove; check always runs); e.g. --stages "
                        "replay,conform,witnesses,ensures for a cheap first pass whose survivors a later --rerun "
                        "runs in full. witnesses: the unmutated spec's witness runs (its covers' traces, a "
                        "`fails` one for each require) run on the EVM against the mutant's model, every step "
                        "compared as conform compares it (left out with --no-conform too)")


STAGES = ("replay", "conform", "witnesses", "ensures", "covers", "prove")


def cmd_mutate_spec(args: argparse.Namespace) -> int:
    """Run spec mutation; 0 when it ran (the catch rate is the result), 1 on setup errors."""
    from conformance.binding import BindingError
    from conformance.witness import CoverSettings
    from imospec_cli import prove
    from spec.mutate import (
        EQUIVALENTS_FILE,
        OPERATORS,
        SpecMutationError,
        equivalent_argument,
        load_equivalents,
        sample,
        spec_mutants,
    )

    bad = [op for op in args.operator or () if op not in OPERATORS]
    if bad:
        print(f"error: unknown operator {bad[0]!r}; the operators are {', '.join(OPERATORS)}", file=sys.stderr)
        return 2
    stages = _stages(args)
    if stages is None:
        print(f"error: --stages takes a comma-separated list of {', '.join(STAGES)}", file=sys.stderr)
        return 2
    # each mutant proves in the process that runs it (no pool to start per mutant); --workers
    # runs that many mutants at a time
    args.jobs = 1
    options = prove.options_from(args)
    base = Pipeline.for_binding(args.impl, options=options)
    try:
        spec_dir = base.binding.spec_dir
        texts = base.sources.readable
        mutants = spec_mutants(texts)
        equivalents = load_equivalents(args.equivalents or Path(spec_dir) / EQUIVALENTS_FILE)
        base.spec  # noqa: B018  (the unmutated spec must check)
    except (BindingError, SpecMutationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    mutants = [m for m in mutants if (not args.operator or m.operator in args.operator)
               and (not args.file or Path(m.file).name in args.file)]
    if args.rerun is not None:
        # the survivors of an earlier --spec --json report (file, line, operator, new text)
        try:
            earlier = json.loads(Path(args.rerun).read_text(encoding="utf-8"))["mutants"]
            keys = {(e["file"], int(e["line"]), e["operator"], e["mutated"]) for e in earlier
                    if e["caught_by"] is None and not e.get("equivalent")}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: {args.rerun}: not a --spec report ({exc})", file=sys.stderr)
            return 64
        mutants = [m for m in mutants if m.key() in keys]
    chosen = sample(mutants, args.max_mutants if args.rerun is None else None, args.seed)
    # fates an earlier run with the same --log already found (same mutant of the same text)
    done = _logged(args.log, stages) if args.log is not None else {}
    # the walks check every rule as they go: a mutant whose model breaks one
    # on a walk (from deployment or a scenario) is caught with that trace
    covers = CoverSettings(seed=args.seed, walks=args.cover_walks, steps=args.cover_steps, check_rules=True)
    todo = [m for m in chosen if _fingerprint(m, texts) not in done]
    print(f"{len(mutants)} spec mutant(s) in all; running {len(todo)} of {len(chosen)} (seed {args.seed}; "
          f"{len(chosen) - len(todo)} already in the log)", file=sys.stderr, flush=True)
    baseline = _baseline(base, covers, args, stages) if todo else Baseline(None)
    report = SpecMutationReport()
    log = args.log.open("a", encoding="utf-8") if args.log is not None else None
    try:
        fates = _run_all(base, [m for m in chosen if _fingerprint(m, texts) not in done], covers, baseline, args,
                         stages)
        for i, m in enumerate(chosen, 1):
            fp = _fingerprint(m, texts)
            if fp in done:
                fate = _fate_from_log(m, done[fp])
            else:
                fate = next(fates)
                if log is not None and fate.error is None:
                    log.write(json.dumps({**_fate_json(fate), "fingerprint": fp, "stages": list(stages)}) + "\n")
                    log.flush()
            fate.equivalent = equivalent_argument(equivalents, m)
            report.fates.append(fate)
            word = {None: "EQUIV." if fate.equivalent else ("UNKNOWN " if fate.unknown else "SURVIVED"),
                    "check": "stillborn"}.get(fate.caught_by, f"caught by {fate.caught_by}")
            if fate.error is not None:
                word = f"ERROR ({fate.error})"
            print(f"  [{i}/{len(chosen)}] {word:<18} {m.describe()}" + (f"  ({fate.detail})" if fate.detail else "")
                  + (f"  [{fate.seconds:.1f} s, {fate.cpu:.1f} s CPU]" if fate.seconds else ""),
                  file=sys.stderr, flush=True)
    finally:
        if log is not None:
            log.close()
    print_report(report, sys.stdout)
    if args.json is not None:
        args.json.write_text(json.dumps(report_json(report), indent=2) + "\n", encoding="utf-8")
    return EXIT_OK


def _stages(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The stages to run, in :data:`STAGES`' order (None: a name that is not one)."""
    named = [x.strip() for x in (args.stages or ",".join(STAGES)).split(",") if x.strip()]
    if not named or any(x not in STAGES for x in named):
        return None
    left_out = {"conform", "witnesses"} if args.no_conform else set()
    if args.no_prove:
        left_out |= {"ensures", "prove"}
    if args.quick_prove:
        left_out.add("prove")
    return tuple(x for x in STAGES if x in named and x not in left_out)


@dataclass
class Baseline:
    """What the unmutated spec shows, once per run: its covers' search, every
    rule a walk or a replay of its witnesses breaks on it, and the replay's
    steps whose rules held (what a mutant's replay compares with, see
    :func:`conformance.witness.replay_witnesses`)."""

    covers: Any
    violations: set[str] = field(default_factory=set)
    steps: dict[Any, Any] = field(default_factory=dict)
    # with the witnesses stage: None when every witness run of the unmutated
    # spec conforms on the EVM (the stage's premise), else what diverged
    # there (the stage then catches nothing)
    witnesses: str | None = None
    witness_steps: int = 0  # the steps those runs took on both sides


#: Bumped when what the baseline cache holds changes shape.
BASELINE_FORMAT = "1"


def baseline_key(base: Pipeline, covers: Any) -> str:
    """What the unmutated spec's baseline depends on, hashed: every file of
    the spec's directory (the ``.imo`` files, ``scenarios.json``), the
    binding, the witness search's settings (seed and budgets: step counts,
    not time), the source of the code that computes it (the packages
    ``spec``, ``reference`` and ``conformance``, and ``imospec_cli/pipeline.py``)
    and the Python version. The covers' search is a deterministic function
    of these."""
    import hashlib
    import platform

    h = hashlib.sha256()
    for part in (BASELINE_FORMAT, platform.python_version(), repr(covers)):
        h.update(part.encode() + b"\0")
    files: list[Path] = []
    spec_dir = Path(base.binding.spec_dir)
    files += sorted(p for p in spec_dir.rglob("*") if p.is_file())
    if base.binding_path is not None:
        files.append(base.binding_path)
    root = Path(__file__).resolve().parent.parent
    for pkg in ("spec", "reference", "conformance"):
        files += sorted((root / pkg).rglob("*.py"))
    files.append(root / "imospec_cli" / "pipeline.py")
    for f in files:
        h.update(str(f.name).encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def _baseline(base: Pipeline, covers: Any, args: argparse.Namespace,
              stages: tuple[str, ...] = STAGES) -> Baseline:
    """The unmutated spec's :class:`Baseline`. Its covers' search (100 s and
    more) is read from the cache when one was made from the same inputs
    (:func:`baseline_key`; ``--no-cache`` neither reads nor writes it), else
    run and written there: it holds no prover verdict, so nothing in it
    depends on time. The replay of its witnesses (recorded for the mutants'
    replays to compare with; model states, which hold the generated
    model's functions and are not written to disk) runs every time."""
    import pickle

    from conformance.witness import goals_of, replay_witnesses
    from reference.model import Model
    from verification.cache import CACHE_DIR

    root = (Path(args.cache_dir) if getattr(args, "cache_dir", None) else CACHE_DIR).parent / "spec-baseline"
    path = root / f"{baseline_key(base, covers)}.pickle"
    use_cache = not getattr(args, "no_cache", False)
    report = None
    if use_cache and path.exists():
        Model.load_code(base.spec)  # (the witnesses' records are the model's classes)
        try:
            report = pickle.loads(path.read_bytes())
            print(f"the unmutated spec's covers: from {path}", file=sys.stderr, flush=True)
        except Exception:  # (a cache file cut short, or of another format: computed again)
            report = None
    if report is None:
        report = base.covers(covers)
        if use_cache:
            try:
                data = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                print(f"warning: the unmutated spec's covers not cached ({exc})", file=sys.stderr, flush=True)
            else:
                root.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(data)
                tmp.replace(path)
    baseline = Baseline(report)
    # the unmutated spec's witnesses replayed on itself: what a replay breaks there is no catch
    again = replay_witnesses(base.spec, goals_of(base.spec), report.met, binding=base._cover_binding(),
                             scenarios=base.scenarios, check_rules=True, record=baseline.steps)
    baseline.violations = set(report.violations) | set(again.violations)
    if "witnesses" in stages:
        baseline.witnesses, baseline.witness_steps = _witnesses_baseline(base, report, covers,
                                                                         root if use_cache else None)
        if baseline.witnesses is not None:
            print(f"warning: a witness run of the unmutated spec diverges on the EVM ({baseline.witnesses}): "
                  "the witnesses stage catches nothing in this run", file=sys.stderr, flush=True)
    return baseline


def _witnesses_baseline(base: Pipeline, report: Any, covers: Any, root: Path | None) -> tuple[str | None, int]:
    """Whether every witness run of the unmutated spec (``report``'s)
    conforms on the EVM (:func:`conformance.witness_conform.conform_witnesses`):
    None when it does, else the divergent goal and step; and how many steps
    ran on both sides. A divergence there
    would be no catch on a mutant, so the stage needs it to be None. The
    verdict (a deterministic function of the spec, its witnesses, the
    binding, the contracts and the code: no time in it) is kept in ``root``
    (None: neither read nor written), keyed by :func:`baseline_key` and
    every file of the binding's directory and of ``evm_backend``."""
    import hashlib

    from conformance.witness_conform import conform_witnesses

    h = hashlib.sha256(baseline_key(base, covers).encode())
    if base.binding_path is not None:
        here = Path(__file__).resolve().parent.parent
        for f in [*sorted(p for p in Path(base.binding_path).parent.rglob("*") if p.is_file()
                          and "node_modules" not in p.parts),
                  *sorted((here / "evm_backend").glob("*.py"))]:
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    path = None if root is None else root / f"{h.hexdigest()}.witnesses.json"
    if path is not None and path.exists():
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
            return kept["diverges"], int(kept["steps"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    result = conform_witnesses(base.spec, base.binding, report.met, scenarios=base.scenarios)
    verdict = None if result.ok else _witness_detail(result)
    print(f"the unmutated spec's witness runs on the EVM: {result.steps} steps from {result.deployments} "
          f"deployment(s), {'every one conforms' if result.ok else 'one diverges'} ({result.seconds:.1f} s)",
          file=sys.stderr, flush=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"diverges": verdict, "steps": result.steps}) + "\n", encoding="utf-8")
    return verdict, result.steps


def _witness_detail(result: Any) -> str:
    """A divergent witness run in one line: the goal it is the witness of, the step, the first difference."""
    last = result.divergence[-1]
    first = last.differences[0] if last.differences else None
    what = "" if first is None else f": {first.where} model {first.model!r}, evm {first.evm!r}"
    return f"{result.goal} from {result.start}, step {len(result.divergence)}{what}"


def reaching_steps(spec: Any, m: Any) -> frozenset[tuple[str, str]] | None:
    """The public actions (``module.action``) whose calls may run the code a
    mutant ``m`` changes, when it changes an action's body or gate: the
    action (in the mutated module, or in each module that extends the
    mutated template) and every public action that calls it, directly or
    not. None for any other mutant (of a ``fn``, a constant, an ``init``):
    then any step, or a view, may tell it. A run none of whose steps calls
    one of these runs the same on the mutant's model as on the unmutated
    spec's, step by step (same state, outcome, events and views: the model
    code that differs never runs), so it cannot diverge where the unmutated
    spec's runs conform."""
    from spec import ir
    from spec.analysis import _calls, analysis_of

    stem, _, decl = m.where.partition(".")
    modules = [x for x in spec.modules.values() if x.name == stem or stem in x.extends]
    if not modules or any(decl not in x.actions or decl in x.fns or decl in x.consts for x in modules):
        return None
    targets = {(x.name, decl) for x in modules}
    analysis = analysis_of(spec)
    for x in spec.modules.values():  # an init that runs the action: every deployment may differ
        for s in ir.walk(x.init):
            for call in _calls(spec, s):
                callee = (call.module or x.name, call.name)
                if callee in targets or targets & analysis.action_callees(*callee):
                    return None
    return frozenset((x.name, a.name) for x in spec.modules.values() for a in x.actions.values()
                     if not a.internal and ((x.name, a.name) in targets
                                            or targets & analysis.action_callees(x.name, a.name)))


def stale_checks(spec: Any, m: Any) -> frozenset[str]:
    """The rules (``module.rule``) and ensures (``ensures module.action``)
    whose text a mutant may change: those that read, through the functions,
    constants, phase thresholds and decays they read, the declaration the
    mutant edits (a ``fn`` or a ``const``) in its module or a module that
    extends it. A mutant of an action, ``init`` or gate changes none (a rule
    or an ensures cannot call an action); it changes the states, which a
    replay compares."""
    from spec.analysis import analysis_of

    stem, _, decl = m.where.partition(".")
    names = {stem, Path(m.file).stem}
    modules = [x.name for x in spec.modules.values() if x.name in names or names & set(x.extends)]
    edited = {(kind, mod, decl) for kind in ("fn", "const", "phases", "decay") for mod in modules}
    analysis = analysis_of(spec)
    out: set[str] = set()
    for mod in spec.modules.values():
        for r in mod.rules:
            if analysis.decls_read(r.expr) & edited:
                out.add(f"{mod.name}.{r.name}")
        for a in mod.actions.values():
            if any(analysis.decls_read(e) & edited for e in a.ensures):
                out.add(f"ensures {mod.name}.{a.name}")
    return frozenset(out)


def _fingerprint(m: Any, texts: dict[str, str]) -> str:
    """What identifies a mutant in a log: its place and edit, and a hash of
    the mutated file's text (a fate logged on another version of the spec
    does not match)."""
    import hashlib

    digest = hashlib.sha256(m.apply(texts[m.file] or "").encode()).hexdigest()[:16]
    file, line, operator, mutated = m.key()
    return f"{file}:{line}:{m.column}:{operator}:{mutated}:{digest}"


def _logged(path: Path, stages: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The fates in the log ``path`` (a missing file holds none) that stand
    for a run with ``stages``: a catch stands whatever stages found it; a
    survival only when its run had every stage of this one."""
    out: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
            fp = str(e["fingerprint"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short when a run was stopped, or another command's log
        if e.get("caught_by") is not None or set(stages) <= set(e.get("stages", ())):
            out[fp] = e
    return out


def _fate_from_log(m: Any, e: dict[str, Any]) -> MutantFate:
    return MutantFate(m, e.get("caught_by"), str(e.get("detail", "")), unknown=bool(e.get("unknown")),
                      seconds=float(e.get("seconds", 0.0)), cpu=float(e.get("cpu", 0.0)))


def run_one(base: Pipeline, m: Any, covers: Any, baseline: Baseline, args: argparse.Namespace,
            stages: tuple[str, ...] = STAGES) -> MutantFate:
    """Run the checks on one mutant, in the order of :data:`STAGES`; stop at the first that catches it."""
    import time

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        fate = _run_stages(base, m, covers, baseline, args, stages)
    except Exception as exc:  # a bug shown by one mutant: reported, and the run goes on (the log does not keep it)
        import traceback

        fate = MutantFate(m, None, error=f"{type(exc).__name__}: {exc}"[:200])
        print(f"internal error on {m.describe()}:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
    fate.seconds, fate.cpu = time.perf_counter() - t0, time.process_time() - c0
    return fate


#: What the worker processes of :func:`_run_all` run with (set before they fork).
_SHARED: dict[str, Any] = {}


def _run_shared(m: Any) -> MutantFate:
    """:func:`run_one` in a worker process, on what :data:`_SHARED` held when it forked."""
    sh = _SHARED
    return run_one(sh["base"], m, sh["covers"], sh["baseline"], sh["args"], sh["stages"])


def _run_all(base: Pipeline, todo: list[Any], covers: Any, baseline: Baseline, args: argparse.Namespace,
             stages: tuple[str, ...]) -> Iterator[MutantFate]:
    """The fates of ``todo``, in its order. With ``--workers N`` above 1,
    N forked processes run the mutants, one each at a time (each mutant's
    checks are a function of the mutant, the unmutated spec's baseline and
    the seed alone, so the fates are the same for any N); each process
    runs at most :data:`TASKS_PER_WORKER` mutants before a fresh one
    replaces it (what a mutant's run leaves in a process's caches goes
    with it)."""
    import multiprocessing

    from conformance.parallel import default_workers

    workers = getattr(args, "workers", None) or default_workers()
    if workers == 1 or len(todo) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for m in todo:
            yield run_one(base, m, covers, baseline, args, stages)
        return
    _SHARED.update(base=base, covers=covers, baseline=baseline, args=args, stages=stages)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(min(workers, len(todo)), maxtasksperchild=TASKS_PER_WORKER) as pool:
        yield from pool.imap(_run_shared, todo, chunksize=1)


#: Mutants a worker process of ``--workers N`` runs before a fresh one replaces it.
TASKS_PER_WORKER = 16


def _run_stages(base: Pipeline, m: Any, covers: Any, baseline: Baseline, args: argparse.Namespace,
                stages: tuple[str, ...]) -> MutantFate:
    from conformance.runner import CampaignSettings
    from conformance.witness import goals_of, replay_witnesses
    from evm_backend.errors import ExecutionFailed
    from reference.runtime import Revert
    from verification.outcome import Refuted, Unknown

    scenarios = base.scenarios
    p = Pipeline.for_binding(args.impl, options=base.options)
    texts = dict(base.sources.texts)
    texts[m.file] = m.apply(texts[m.file] or "")
    p.__dict__["sources"] = replace(base.sources, texts=texts)
    p.__dict__["scenarios"] = scenarios  # the file as the baseline read it, not as it is on disk now
    if not p.ok:
        first = p.checked.errors[0]
        return MutantFate(m, "check", f"{first.code}")
    # the mutated module, or every module that extends the mutated template
    stem = Path(m.file).stem
    modules = [x.name for x in p.spec.modules.values() if x.name == stem or stem in x.extends]
    replayed: set[str] = set()
    if "replay" in stages or "covers" in stages:
        # the unmutated spec's witnesses, replayed on the mutant with the rules checked
        try:
            again = replay_witnesses(p.spec, goals_of(p.spec), baseline.covers.met, binding=p._cover_binding(),
                                     scenarios=scenarios, check_rules=True, against=baseline.steps,
                                     stale=stale_checks(p.spec, m))
        except Revert as exc:
            # the mutant's init refuses the deployment the unmutated spec makes (its parameters):
            # no run of it starts, so every cover the unmutated spec meets is lost
            return MutantFate(m, "covers", f"the deployment reverts: {type(exc).__name__} {exc}"[:120])
        replayed = set(again.met)
        broken = [k for k in again.violations if k not in baseline.violations]
        if broken and "replay" in stages:
            return MutantFate(m, "simulation", f"{broken[0]} (a replayed witness)")
    unknown = False
    for stage in stages:
        if stage == "conform":
            if any(x in p.binding.modules for x in modules):
                try:
                    result = p.campaign(CampaignSettings(backend="pyrevm", examples=args.examples or 20,
                                                         steps=args.steps, seed=args.seed))
                except ExecutionFailed as exc:
                    # the unchanged contracts refuse the deployment (parameters the mutant gives,
                    # a default it changed) that the mutant's init accepted in the replay above
                    return MutantFate(m, "conform", f"divergence at deployment: {exc}"[:120])
                if not result.ok:
                    return MutantFate(m, "conform", "divergence")
        elif stage == "witnesses":
            if baseline.witnesses is None and baseline.covers is not None \
                    and any(x in p.binding.modules for x in modules):
                from conformance.witness_conform import conform_witnesses

                try:
                    runs = conform_witnesses(p.spec, p.binding, baseline.covers.met, scenarios=scenarios,
                                             reaching=reaching_steps(base.spec, m))
                except ExecutionFailed as exc:
                    # the unchanged contracts refuse the parameters the mutant's model deploys with
                    return MutantFate(m, "witnesses", f"divergence at deployment: {exc}"[:120])
                if not runs.ok:
                    return MutantFate(m, "witnesses", _witness_detail(runs)[:200])
        elif stage == "covers":
            cov = p.covers(covers)
            # a goal the search happens to miss on the mutant is lost only
            # when no witness of the unmutated spec, replayed, meets it either
            base_unmet = {g.key for g in baseline.covers.unmet}
            lost = [g for g in cov.unmet if g.key not in base_unmet and g.key not in replayed]
            if lost:
                return MutantFate(m, "covers", f"{lost[0].code} {lost[0].key}")
            broken = [k for k in cov.violations if k not in baseline.violations]
            if broken:
                return MutantFate(m, "simulation", broken[0])
        elif stage in ("ensures", "prove"):
            if stage == "prove":
                p.cover_settings = covers  # the same runs answer the prover's vacuity checks
            for report in _proofs(p, modules, stage):
                refuted = [r for r in report.proofs if isinstance(r.outcome, Refuted)]
                if refuted:
                    r = refuted[0]
                    return MutantFate(m, "prove", f"refuted {r.job.rule_label} x {r.job.action_label}")
                if report.errors:
                    return MutantFate(m, "prove", report.errors[0][:80])
                unknown = any(isinstance(r.outcome, Unknown) for r in report.proofs)
    return MutantFate(m, None, "unknown" if unknown else "", unknown=unknown)


def _proofs(p: Pipeline, modules: list[str], stage: str) -> Iterator[Any]:
    """The prover's reports on a mutant: for ``stage`` "ensures", the
    ``ensures`` of the actions of ``modules`` (the mutated one, or those that
    extend the mutated template); for "prove", the whole spec."""
    from verification.runner import prove as prove_spec

    if stage == "prove":
        yield p.prove()
        return
    for module in modules:
        mod = p.spec.modules[module]
        if any(a.ensures for a in mod.actions.values()) or any(r.kind == "theorem" for r in mod.rules):
            # a refutation by the solver is a catch without a trace; a query
            # left unknown (a counterexample to induction, perhaps from a
            # state no run reaches) gets the bounded search from deployment
            # (the simulation from the binding's states is the full round's)
            yield prove_spec(replace(p.options, module=module, only_ensures=True, vacuity=False,
                                     binding=None, search_refuted=False), p.spec)


def print_report(report: SpecMutationReport, out: Any) -> None:
    """The catch rate of each half and overall, then every survivor."""
    print("\n== spec mutation", file=out)
    for half in ("merchant", "money market + governance", None):
        caught, counted = report.rate(half)
        rate = f"{100 * caught / counted:.0f}%" if counted else "n/a"
        print(f"  {half or 'all':<28} {caught} of {counted} caught ({rate})", file=out)
    stillborn = sum(1 for f in report.fates if f.caught_by == "check")
    equivalent = sum(1 for f in report.fates if f.caught_by is None and f.equivalent)
    by: dict[str, int] = {}
    for f in report.fates:
        if f.caught_by not in (None, "check"):
            by[f.caught_by] = by.get(f.caught_by, 0) + 1
    print(f"  {stillborn} stillborn (do not check), {equivalent} recorded equivalent; caught by "
          + ", ".join(f"{k} {v}" for k, v in sorted(by.items())), file=out)
    for f in report.survivors:
        print(f"  survived{' (unknown)' if f.unknown else ''}: {f.mutant.describe()}", file=out)
    for f in report.fates:
        if f.error is not None:
            print(f"  not run to the end (internal error, not counted): {f.mutant.describe()}: {f.error}", file=out)
    for f in report.fates:
        if f.caught_by not in (None, "check") and f.equivalent:
            print(f"  misjudged (recorded equivalent, caught by {f.caught_by}): {f.mutant.describe()}", file=out)


def _fate_json(f: MutantFate) -> dict[str, Any]:
    file, line, operator, mutated = f.mutant.key()
    return {"file": file, "line": line, "column": f.mutant.column, "operator": operator, "mutated": mutated,
            "where": f.mutant.where, "half": f.half, "caught_by": f.caught_by, "detail": f.detail,
            "equivalent": f.equivalent, "unknown": f.unknown, "seconds": round(f.seconds, 1),
            "cpu": round(f.cpu, 1), "error": f.error}


def report_json(report: SpecMutationReport) -> dict[str, Any]:
    """Every mutant and its fate, as JSON-ready data."""
    out: dict[str, Any] = {"mutants": [_fate_json(f) for f in report.fates]}
    for half in ("merchant", "money market + governance"):
        caught, counted = report.rate(half)
        out[half] = {"caught": caught, "counted": counted}
    return out
