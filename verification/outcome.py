"""Results of proof queries: a small sum type, never a bool.

- :class:`Proved`: the solver showed the query unsatisfiable (or the action
  provably cannot touch what the rule reads: ``method="frame"``).
- :class:`Refuted`: the solver found a counterexample; it is kept as plain
  JSON-ready data so that results can be cached and compared.
- :class:`Unknown`: neither, with the reason: ``timeout``, ``rlimit``
  (the deterministic resource budget ran out), ``incomplete`` (Z3 gave up on
  an undecidable fragment, e.g. nonlinear integer arithmetic) or
  ``unsupported`` (the encoder cannot express a construct).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from verification.search import SearchReport

UnknownReason = Literal["timeout", "rlimit", "incomplete", "unsupported"]


class NotAnOutcome(ValueError):
    """Data read back (from the cache) that is not an outcome."""


@dataclass(frozen=True)
class Proved:
    """The property holds. ``lemmas_used`` names the lemmas in the unsat core."""

    lemmas_used: tuple[str, ...] = ()
    method: str = "z3"
    encoding: str = "int"

    kind: Literal["proved"] = "proved"


@dataclass(frozen=True)
class Refuted:
    """The property fails for the counterexample (a JSON-ready dict)."""

    counterexample: dict[str, Any]
    encoding: str = "int"
    # what found it: "z3" (the query itself: a counterexample to induction
    # unless a search reached it), or the search method that found a trace
    # ("bmc-deployment", "simulation"; see verification.search.SearchMethod)
    method: str = "z3"

    kind: Literal["refuted"] = "refuted"


@dataclass(frozen=True)
class Unknown:
    """No verdict within the budget, or the query is outside what Z3 decides."""

    reason: UnknownReason
    detail: str = ""
    encoding: str = "int"

    kind: Literal["unknown"] = "unknown"


Outcome = Proved | Refuted | Unknown


def outcome_to_json(o: Outcome) -> dict[str, Any]:
    """A JSON-ready dict of an outcome (the inverse of :func:`outcome_from_json`)."""
    if isinstance(o, Proved):
        return {"outcome": "proved", "lemmas_used": list(o.lemmas_used), "method": o.method,
                "encoding": o.encoding}
    if isinstance(o, Refuted):
        return {"outcome": "refuted", "counterexample": o.counterexample, "encoding": o.encoding,
                "method": o.method}
    return {"outcome": "unknown", "reason": o.reason, "detail": o.detail, "encoding": o.encoding}


def outcome_from_json(d: dict[str, Any]) -> Outcome:
    """Rebuild an outcome from :func:`outcome_to_json`'s dict.

    Raises:
        NotAnOutcome: when the dict is no outcome.
    """
    kind = d.get("outcome")
    if kind == "proved":
        return Proved(tuple(d.get("lemmas_used", ())), d.get("method", "z3"), d.get("encoding", "int"))
    if kind == "refuted":
        return Refuted(dict(d["counterexample"]), d.get("encoding", "int"), d.get("method", "z3"))
    if kind == "unknown":
        return Unknown(d["reason"], d.get("detail", ""), d.get("encoding", "int"))
    raise NotAnOutcome(f"not an outcome: {kind!r}")


@dataclass(frozen=True)
class Job:
    """One query to run.

    ``kind`` is ``init`` (the rule after deployment), ``step`` (the rule
    across one action), ``ensures`` (clause ``clause`` of an action),
    ``theorem``, ``vacuity-action`` (can the action ever succeed?) or
    ``vacuity-rule`` (is the rule true of every state?).
    """

    kind: str
    module: str
    rule: str | None = None
    action: tuple[str, str] | None = None
    clause: int = 0

    @property
    def rule_label(self) -> str:
        """How the job's rule is shown: ``module.rule`` or ``module.action.ensures[n]``."""
        if self.kind == "ensures":
            return f"{self.module}.{self.action[1] if self.action else '?'}.ensures[{self.clause + 1}]"
        if self.kind == "vacuity-action":
            return "(vacuity)"
        return f"{self.module}.{self.rule}"

    @property
    def action_label(self) -> str:
        """How the job's action is shown: ``module.action``, ``init`` or ``-``."""
        if self.kind == "init":
            return "init"
        if self.kind in ("theorem", "vacuity-rule"):
            return "-"
        return f"{self.action[0]}.{self.action[1]}" if self.action else "-"


@dataclass(frozen=True)
class ModelReplay:
    """A bounded search's trace run through the reference model: ``confirmed``
    (the model breaks the rule too), ``mismatch`` (the prover and the model
    disagree: a bug in one of them) or ``unavailable``."""

    status: Literal["confirmed", "mismatch", "unavailable"]
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (``{"status", "detail"}``)."""
        return {"status": self.status, "detail": self.detail}


@dataclass
class BoundedSearch:
    """The search from deployment for a reachable violation of a refuted step.

    ``status`` is ``reachable`` (``depth`` steps lead to it: ``deployment``,
    ``steps`` and the violating ``counterexample``, replayed through the model
    in ``replay``), ``unreachable`` (no violation within ``depth`` steps: the
    refutation is a counterexample to induction) or ``unknown`` (``detail``
    says why). ``wall_clock`` is set when the timeout, not the rlimit, cut the
    search short: such a result is never cached.
    """

    status: Literal["reachable", "unreachable", "unknown"]
    depth: int
    actions: tuple[str, ...] = ()
    detail: str = ""
    deployment: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    counterexample: dict[str, Any] | None = None
    replay: ModelReplay | None = None
    seconds: float = 0.0
    wall_clock: bool = False
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data, as ``--json`` writes it and the cache keeps it."""
        out: dict[str, Any] = {"status": self.status, "depth": self.depth, "actions": list(self.actions)}
        if self.detail:
            out["detail"] = self.detail
        if self.status == "reachable":
            out.update(deployment=self.deployment, steps=self.steps, counterexample=self.counterexample)
        if self.replay is not None:
            out["replay"] = self.replay.to_json()
        out["time"] = round(self.seconds, 3)
        if self.wall_clock:
            out["wall_clock"] = True
        if self.cached:
            out["cached"] = True
        return out

    @staticmethod
    def from_json(d: dict[str, Any]) -> BoundedSearch:
        """Rebuild a search from :meth:`to_json`'s data.

        Raises:
            KeyError: a field is missing.
        """
        rp = d.get("replay")
        return BoundedSearch(
            d["status"], int(d.get("depth", 0)), tuple(d.get("actions", ())), str(d.get("detail", "")),
            dict(d.get("deployment") or {}), list(d.get("steps") or []), d.get("counterexample"),
            ModelReplay(rp["status"], rp.get("detail", "")) if rp else None, float(d.get("time", 0.0)),
            bool(d.get("wall_clock", False)), bool(d.get("cached", False)))


@dataclass
class Result:
    """A job, its outcome, and what happened around it."""

    job: Job
    outcome: Outcome
    seconds: float
    cached: bool = False
    bmc: BoundedSearch | None = None
    search: SearchReport | None = None  # the search before "unknown" (verification.search)
    warning: str | None = None
    conditional_on: tuple[str, ...] = field(default=())
    error: str | None = None
    crash: str | None = None  # the traceback, when the query raised (an internal error)
    # the Z3 resource units the solver spent on the query (Z3's "rlimit count" over its stages); None for a
    # frame-rule proof (no solver), a cached verdict, or a query that was not run
    rlimit_spent: int | None = None

    def to_json(self) -> dict[str, Any]:
        """One JSON record per query, as ``imospec prove --json`` writes it."""
        out: dict[str, Any] = {
            "kind": self.job.kind,
            "module": self.job.module,
            "invariant": self.job.rule if self.job.kind != "ensures" else self.job.rule_label,
            "action": self.job.action_label,
            **outcome_to_json(self.outcome),
            "time": round(self.seconds, 4),
            "cached": self.cached,
        }
        if self.job.kind.startswith("vacuity"):
            # a vacuity check is a warning or not: its solver answer is no verdict on a rule
            out["outcome"] = "warning" if self.warning else ("unknown" if isinstance(self.outcome, Unknown)
                                                             else "ok")
            out.pop("counterexample", None)
            out.pop("lemmas_used", None)
        out.setdefault("counterexample", None)
        out.setdefault("lemmas_used", [])
        if self.rlimit_spent is not None:
            out["rlimit_spent"] = self.rlimit_spent
        if self.bmc is not None:
            out["bmc"] = self.bmc.to_json()
        if self.search is not None:
            out["search"] = self.search.to_json()
        if self.warning:
            out["warning"] = self.warning
        if self.conditional_on:
            out["conditional_on"] = list(self.conditional_on)
        if self.error:
            out["error"] = self.error
        return out


#: The default per-query budget: the Z3 resource limit decides (the same
#: verdict on any machine, loaded or not); the wall-clock timeout is a safety
#: net, generous enough that it never binds before the rlimit on a busy machine.
DEFAULT_RLIMIT = 40_000_000
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Budget:
    """Per-query limits: Z3 resource units (the budget that decides) and
    wall-clock seconds (a safety net).

    A verdict reached within the rlimit is the same on every machine and is
    cached; one cut short by the timeout depends on the machine's load and is
    never cached.
    """

    timeout: float = DEFAULT_TIMEOUT
    rlimit: int = DEFAULT_RLIMIT

    def key(self) -> str:
        """What a cached verdict depends on: the rlimit only (a verdict the
        timeout decided is never cached)."""
        return f"r={self.rlimit}"

    def share(self, fraction: float) -> Budget:
        """A fraction of the rlimit, for one stage of a query; the safety net
        stays whole."""
        if fraction >= 1.0:
            return self
        return Budget(self.timeout, max(1, int(self.rlimit * fraction)))
