"""The witness runs of one version of a spec, as conformance runs of another.

:func:`conform_witnesses` takes witness runs of the covers' search (found on
the unmutated spec's model, :mod:`conformance.witness`) and runs each on
both sides of a conformance harness (:class:`conformance.harness.Harness`)
built on another version of the spec (a mutant's model) and the unchanged
contracts: every step compared as a campaign compares it (success or revert
and the reason, return value, events, the state of every module, the
views). A ``fails`` goal's witness is a concrete call, from a concrete
reachable state, that fails with that ``require``'s reason: where a
mutant's model drops the check and the action reverts later with another
reason, or not at all, the contracts' reason differs from the model's.

Each witness runs from the deployment it was found on, with the same
parameters (the binding's and ``scenarios.json``'s, and for a witness of
one of ``scenarios.json``'s ``deployments`` its own), its steps from the
constructors on (the prelude and the scenario it started from are the
first steps of every witness). One harness is deployed per deployment;
witnesses that share their first steps share those steps' states (an EVM
snapshot where runs part), so each distinct step runs once. Deterministic.

A step with no EVM counterpart (a call as a module or the zero address,
which the search makes to meet ``by`` goals and no transaction can; a
signature by an address whose key no actor holds) ends that witness's run
there, and is counted (:attr:`WitnessConformance.cut`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.binding import Binding, at_deployment
from conformance.harness import Harness, Step, StepReport
from conformance.witness import Scenarios, TraceStep, Witness
from reference.codegen import attr
from reference.runtime import Revert, Signature
from spec import ir

#: The chain id of the covers' search (its model's deployment).
SEARCH_CHAIN_ID = 1
#: Steps between two sweeps of the whole state along a run (as a campaign's FULL_COMPARE_EVERY).
SWEEP_EVERY = 8


class Untranslatable(Exception):
    """A witness step that no transaction can make on the EVM: a call from
    a module's address or the zero address, or a signature that no actor's
    key can make. Raised by :func:`evm_step`; the run ends there."""


@dataclass
class WitnessConformance:
    """What running the witnesses on both sides found: the first divergence
    (the witness run up to the step that diverged, every step's report;
    None when every run conformed), the goal whose witness it is and the
    deployment it ran from; how many steps ran on both sides, on how many
    deployments, and how many runs were cut at a step with no EVM
    counterpart."""

    divergence: list[StepReport] | None = None
    goal: str | None = None
    start: str | None = None
    steps: int = 0
    deployments: int = 0
    runs: int = 0
    cut: int = 0
    # the deployments ``spec``'s model refuses (its ``init`` reverts on their parameters): not run
    refused: list[str] = field(default_factory=list)
    seconds: float = 0.0
    labels: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def render(self) -> str:
        """The divergent run, one numbered line a step, with what both sides did and the differences."""
        from conformance.runner import describe_report

        if self.divergence is None:
            return "every witness run conforms"
        lines = [f"witness of {self.goal}, from {self.start}:"]
        lines += [describe_report(i + 1, r) for i, r in enumerate(self.divergence)]
        return "\n".join(lines)


@dataclass
class _Node:
    """A step of the witness runs' tree: runs that share their first steps share their nodes."""

    step: TraceStep | None
    parent: _Node | None
    depth: int
    goal: str  # the first goal (in key order) whose witness runs through it
    ends: bool = False  # a witness ends here
    children: list[_Node] = field(default_factory=list)
    report: StepReport | None = None


def _tree(witnesses: list[tuple[str, Witness]]) -> _Node:
    """The runs as a tree (witnesses in a fixed order: the result does not
    depend on the order of the mapping they came in)."""
    root = _Node(None, None, 0, "")
    for key, w in sorted(witnesses, key=lambda kw: (repr(kw[1].steps), kw[0])):
        node = root
        for st in w.steps:
            nxt = next((c for c in node.children if c.step == st), None)
            if nxt is None:
                nxt = _Node(st, node, node.depth + 1, key)
                node.children.append(nxt)
            node = nxt
        node.ends = True
    return root


def deployments_of(witnesses: Mapping[str, Witness],
                   scenarios: Scenarios) -> dict[str | None, list[tuple[str, Witness]]]:
    """The witnesses by the deployment they start from: None for the
    binding's (runs from deployment and from the scenarios), else the name
    of one of ``scenarios.json``'s ``deployments``; the binding's first."""
    out: dict[str | None, list[tuple[str, Witness]]] = {None: []}
    for name in scenarios.deployments:
        out[name] = []
    for key, w in witnesses.items():
        other = w.start.removeprefix("deployment ") if w.start.startswith("deployment ") else None
        if other is not None and other not in out:
            continue  # (a deployment this scenarios file does not name: nothing to deploy it from)
        out[other].append((key, w))
    return {k: v for k, v in out.items() if v}


def deployment_binding(binding: Binding, scenarios: Scenarios, deployment: str | None) -> Binding:
    """The binding of the deployment the covers' search ran the witnesses
    from: ``scenarios.json``'s parameters under the binding's (as the search
    merges them), with ``deployment``'s own on top, and no prelude or
    scenario (every witness's steps start at the constructors)."""
    params = {**scenarios.params, **binding.params}
    if deployment is not None:
        params.update(scenarios.deployments[deployment][0])
    return at_deployment(replace(binding, params=params))


def evm_step(harness: Harness, st: TraceStep, labels: Mapping[int, str]) -> Step:
    """A witness step as a harness step: the search's addresses (an actor,
    the deployer, a module: named by the witness's ``labels``) as the
    harness's, records as tuples of their fields, and an abstract signature
    as one the signer's key makes over the same request, chain and contract.

    Raises:
        Untranslatable: the caller is a module or the zero address, or a
            signature's signer is no actor.
        KeyError: the step names an action the harness's spec does not have.
    """
    if st.module == "time":
        return Step("time", seconds=st.seconds, blocks=st.blocks)
    caller = labels.get(st.caller, "")
    if not (caller.startswith("actor:") or caller == "deployer"):
        raise Untranslatable(f"{st.module}.{st.action} called by {caller or hex(st.caller)}: no transaction")
    act = harness.spec.modules[st.module].actions[st.action]
    args = tuple(_value(harness, st.module, a, t, labels) for a, (_, t) in zip(st.args, act.params, strict=True))
    return Step("action", st.module, st.action, harness.resolve(caller), args)


def _address(harness: Harness, v: int, labels: Mapping[int, str]) -> int:
    label = labels.get(v)
    return int(harness.resolve(label)) if label is not None else v


def _value(harness: Harness, module: str, v: Any, t: ir.Type, labels: Mapping[int, str]) -> Any:
    if t == ir.ADDRESS and isinstance(v, int) and not isinstance(v, bool):
        return _address(harness, v, labels)
    if isinstance(t, ir.RecordT) and hasattr(v, "__dataclass_fields__"):
        rec = harness.spec.modules[t.module].records[t.name]
        return tuple(_value(harness, module, getattr(v, attr(n)), ft, labels) for n, ft in rec.fields)
    if t == ir.SIGNATURE and isinstance(v, Signature):
        return _signed(harness, module, v, labels)
    return v


def _signed(harness: Harness, module: str, sig: Signature, labels: Mapping[int, str]) -> Any:
    """``sig`` (the model's abstract signature) made by the signer's key:
    the same signer, request, request type, chain and verifying contract,
    high-s when it is not canonical, recovering to nobody when its signer is
    the zero address.

    Raises:
        Untranslatable: the signer is an address whose key no actor holds.
    """
    from conformance.signatures import SECP256K1_N, SignedValue, _bytes, sign, signer_address, typed_data

    rt = ir.RecordT(module, sig.request_type)
    values = _value(harness, module, sig.request, rt, labels)
    ctx = harness.signing
    signer = _address(harness, sig.signer, labels) if sig.signer else 0
    key = ctx.keys.get(signer) if signer else ctx.keys[min(ctx.keys)]
    if key is None:
        raise Untranslatable(f"a signature by {labels.get(sig.signer, hex(sig.signer))}, whose key no actor holds")
    chain = harness.backend.chain_id if sig.chain_id == SEARCH_CHAIN_ID else sig.chain_id
    contract = _address(harness, sig.verifying_contract, labels)
    v, r, s = sign(key, typed_data(ctx, harness.spec, module, sig.request_type, values, chain, contract))
    recovered = signer_address(key)
    if not sig.canonical:
        s, v = SECP256K1_N - s, 55 - v
    if not signer:
        r, recovered = 0, 0
    return SignedValue("witness", module, sig.request_type, values, recovered, chain, contract, sig.canonical,
                       _bytes(v, r, s))


def conform_witnesses(spec: ir.Spec, binding: Binding, witnesses: Mapping[str, Witness], *,
                      scenarios: Scenarios | None = None, backend: str = "pyrevm",
                      reaching: frozenset[tuple[str, str]] | None = None) -> WitnessConformance:
    """Run ``witnesses`` (goal key to witness run, found on another version
    of the spec) on the model of ``spec`` beside the contracts of
    ``binding``, one harness per deployment the witnesses start from (see
    :func:`deployment_binding`), comparing every step; stop at the first
    divergence (of a deployment, or of a step: a sweep of the whole state
    every :data:`SWEEP_EVERY` steps of a run and where a witness ends).
    With ``reaching`` (public actions, ``(module, action)``), only the
    witnesses with a step that calls one of them run (a deployment none of
    whose witnesses does is not deployed). A deployment that ``spec``'s
    model refuses is not run (:attr:`WitnessConformance.refused`).

    Raises:
        BindingError, CompileError: the implementation cannot be set up.
        ExecutionFailed: the contracts refuse a deployment's parameters
            (those ``spec``'s model deploys with).
    """
    t0 = time.perf_counter()
    scenarios = scenarios or Scenarios()
    out = WitnessConformance()
    if reaching is not None:
        witnesses = {k: w for k, w in witnesses.items()
                     if any((st.module, st.action) in reaching for st in w.steps)}
    for deployment, runs in deployments_of(witnesses, scenarios).items():
        where = "deployment" if deployment is None else f"deployment {deployment}"
        try:
            harness = Harness(spec, deployment_binding(binding, scenarios, deployment), backend)
        except Revert:
            out.refused.append(where)
            continue
        out.deployments += 1
        out.labels = harness_labels()
        if harness.deployment_differences:
            out.divergence = [StepReport(Step("time"), None, None, list(harness.deployment_differences))]
            out.goal, out.start = runs[0][0], where
            break
        labels = runs[0][1].labels
        if _run_tree(harness, _tree(runs), labels, out):
            out.start = where
            break
    out.seconds = time.perf_counter() - t0
    return out


def harness_labels() -> dict[int, str]:
    """The names the last harness deployed gives its addresses (for a divergence's trace)."""
    from conformance.harness.values import ADDRESS_LABELS

    return dict(ADDRESS_LABELS)


def _run_tree(harness: Harness, root: _Node, labels: Mapping[int, str], out: WitnessConformance) -> bool:
    """Run every node of the tree below ``root`` (depth first; a snapshot
    where runs part, gone back to for each later branch); True at the first
    divergence, with ``out`` telling it."""
    # (node, the state to go back to before running it: None to run it from where the last left off)
    todo: list[tuple[_Node, list[Any] | None]] = [(c, None) for c in reversed(root.children[:1])]
    if len(root.children) > 1:
        saved = [harness._save()]
        todo = [(c, saved) for c in reversed(root.children[1:])] + todo
    while todo:
        node, back = todo.pop()
        if back is not None:
            back[0] = harness._go_back(back[0])
        assert node.step is not None
        try:
            step = evm_step(harness, node.step, labels)
        except Untranslatable:
            out.cut += 1
            continue
        report = harness.run(step)
        out.steps += 1
        if not harness.full_compare and (node.ends or not node.children or node.depth % SWEEP_EVERY == 0):
            report.differences.extend(d for d in harness.sweep() if d not in report.differences)
        node.report = report
        if node.ends:
            out.runs += 1
        if not report.ok:
            trace: list[StepReport] = []
            at: _Node | None = node
            while at is not None and at.report is not None:
                trace.append(at.report)
                at = at.parent
            out.divergence, out.goal = trace[::-1], node.goal
            return True
        if len(node.children) > 1:
            here = [harness._save()]
            todo.extend((c, here) for c in reversed(node.children[1:]))
        todo.extend((c, None) for c in node.children[:1])
    return False


__all__ = ["Untranslatable", "WitnessConformance", "conform_witnesses", "deployment_binding", "deployments_of",
           "evm_step"]
