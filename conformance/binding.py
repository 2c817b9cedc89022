"""Bindings: how an implementation maps onto the spec.

An implementation is a set of contracts (Vyper sources, or compiled artifacts
from any compiler) plus the mapping from the spec's names to the ABI's names
and to storage. A binding is a JSON file::

    {
      "name": "tiny-vyper",
      "spec": "../spec",                        // spec directory, relative to this file
      "modules": {
        "cash":  {"vyper": "cash.vy"},
        "vault": {"vyper": "vault.vy",
                  "names": {"floor": "floor_price"},   // spec name -> implementation name
                  "constructor": ["floor", "bronze", "issue", "owner", "@cash"]}
      },
      "params": {"vault.owner": "actor:0"},       // deployment values, overriding spec defaults
      "prelude": [["cash", "mint", "actor:*", ["actor:self", 1e24]]],
      "scenarios": {"launched": [["vault", "open", "actor:0", []], ["time", 3600, 1]]},
      "labels": {"actor:1": "alice"},             // names in traces (default: actor:N, module names, roles)
      "attacks": "attacks.json",                  // named attack sequences (optional, see below)
      "focus": {"launched": ["vault.close"]}     // actions each sequence from a starting state begins with
    }

A step is ``[module, action, caller, [args...]]`` or ``["time", seconds, blocks]``.
The prelude runs (and is compared) once after deployment. Each scenario is a
further starting state: a campaign splits its sequences between the state
after the prelude and the state after each scenario, so that generated
sequences also start deep in the protocol's life (a launched pool, an open
window). ``focus`` names, for a starting state (a scenario, or ``"prelude"``
for the state after the prelude), the actions (``module.action``) it was
written for: each sequence that starts there begins with one step of each, in
order, drawn like any step of the action and, when every draw reverts on the
model, moved argument by argument toward a success (see
:mod:`conformance.machine`), so that a campaign of a few sequences per
starting state still makes them succeed where they can.

Defaults, so that a binding stays short:

- every action, state variable, parameter, event and event field keeps its spec
  name (``names`` overrides; one map for all of them);
- the constructor takes the module's parameters in spec order, then the
  address of each imported module in the order the IR lists imports
  (``@name`` in an explicit list);
- a module's signed requests are EIP-712 typed data under the domain
  ``"eip712": {"name": ..., "version": ...}`` (the module's name and ``"1"``
  by default), with the chain id and the module's address;
- state is read from storage through the compiler's layout when the artifact
  has one and the variable is in it, else through the public getter.

The attack file holds named attack sequences as data, in the same step
format, each from the state after the prelude or after one of the scenarios,
with the outcome the attack claims: ``reverts`` maps the index of a step (in
``steps``, counted from 0) to the reason it must revert with; every other
action must succeed::

    {"attacks": {"pool_front_run": {
        "doc": "nobody but the offering opens the pool",
        "scenario": null,
        "steps": [["pool", "add_liquidity", "actor:3", [1, 0, 0, 0, "actor:3", 1]]],
        "reverts": {"0": "UNAUTHORIZED"}}}}

``imospec fill`` writes one fixture per attack, and the attack tests run
the same data.

A module's contract comes from exactly one of:

- ``{"vyper": "x.vy"}``: compiled with the pinned Vyper;
- ``{"solidity": "X.sol", "contract": "X"}``: compiled with the pinned solc-js
  (``contract`` defaults to the file's stem);
- ``{"artifact": "x.json"}``: a build from any compiler, in Foundry's,
  Hardhat's or a plain shape (``abi``, ``bytecode``, optionally ``layout``);
- ``{"contract": "X"}`` with a top-level ``"build": "out"``: the artifact of
  contract ``X`` found in a Foundry ``out/`` or Hardhat ``artifacts/``
  directory, so that the user's own build is checked as it is.

For an ABI that differs from the spec beyond names:

- ``"actions": {"swap": [["@cash", "transfer", ["@pool", "$amount_in"]],
  ["self", "swap", [0, "$amount_out", "caller", "bytes:"]]]}`` runs a spec
  action as a short sequence of calls from the step's caller (reordered
  arguments are the one-call case). ``$name`` is the spec action's argument,
  ``caller`` the caller, ``self`` this module's contract, ``bytes:HEX`` a
  ``bytes`` value. The calls are atomic, as inside one transaction through a
  router: when one reverts, all are undone and its reason is the step's. The
  return value is the last call's (``{"calls": [...], "returns": i}`` picks
  another);
- ``"state": {"reserve_a": {"slot": 8, "offset": 0, "size": 14}}`` reads a
  spec variable from a slot (and byte offset and size: a packed value) of
  this contract, or of another (``"at": "@cash"``), with the compiler's rules
  for maps (``"rules": "solidity"`` or ``"vyper"``; default: those of the
  contract's own layout, else Solidity's); ``{"getter": "getReserves",
  "index": 0}`` reads it through a function (``"args"`` before the map keys,
  ``"index"`` picks one output of several).

Custom errors (Solidity's ``error Name(...)``) are allowed only where the
binding says which of the spec's revert reasons each one is:
``"errors": {"InsufficientBalance": "INSUFFICIENT_BALANCE",
"Expired()": "EXPIRED", "0x8baa579f": "UNAUTHORIZED"}`` maps an error of any
contract of the implementation, named by its name (as the ABIs declare it),
its signature, or its 4-byte selector, to a spec reason. A revert with a
mapped error compares as that reason; one with an unmapped custom error
never equals a spec reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec import ir
from spec.driver import SpecHasErrors, load_spec

if TYPE_CHECKING:
    from evm_backend.compiler import CompiledContract

__all__ = ["Attack", "Binding", "BindingError", "BindingStep", "ModuleBinding", "SpecHasErrors", "binding_from_data",
           "load_binding", "load_implementation"]


class BindingError(Exception):
    """The binding file is missing, malformed, or disagrees with the spec.

    ``hint`` (optional) says what to do about it.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _relative(p: Path, base: Path, raw: Any, what: str, *, directory: bool = False) -> Path:
    """A path the binding names, relative to the binding's own directory.

    Raises:
        BindingError: it is not a string, or nothing is there (naming the file looked for).
    """
    if not isinstance(raw, str) or not raw:
        raise BindingError(f"{p}: {what} is a path (a string), not {raw!r}")
    found = base / raw
    if not (found.exists() if directory else found.is_file()):
        kind = "directory or file" if directory else "file"
        raise BindingError(
            f"{p}: {what} names {raw!r}, but there is no {kind} {found.resolve()}",
            f"paths in a binding are relative to the binding's own directory ({base.resolve()}); "
            "when you copy a binding, copy what it names too or change the path")
    return found


# (module, action, caller, args), or ("time", "", seconds, (blocks,))
BindingStep = tuple[str, str, str, tuple[Any, ...]]


def _steps(raw: Any, where: str, p: Path) -> tuple[BindingStep, ...]:
    if not isinstance(raw, list):
        raise BindingError(f"{p}: `{where}` is a list of steps")
    out: list[BindingStep] = []
    for step in raw:
        if (isinstance(step, list) and len(step) == 3 and step[0] == "time"
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in step[1:])):
            out.append(("time", "", str(step[1]), (step[2],)))
        elif isinstance(step, list) and len(step) == 4 and isinstance(step[3], list):
            out.append((str(step[0]), str(step[1]), str(step[2]), tuple(step[3])))
        else:
            raise BindingError(f"{p}: a step of `{where}` is [module, action, caller, [args...]] "
                               f"or [\"time\", seconds, blocks] with whole numbers, not {step!r}")
    return tuple(out)


@dataclass(frozen=True)
class Attack:
    """A named attack sequence: ``steps`` from the state after the prelude (and
    ``scenario``), the steps at the indices of ``reverts`` reverting with their
    reason, every other action succeeding."""

    name: str
    steps: tuple[BindingStep, ...]
    scenario: str | None = None
    reverts: Mapping[int, str] = field(default_factory=dict)
    doc: str = ""

    def expected(self, index: int) -> str | None:
        """The reason step ``index`` must revert with; None: it must succeed."""
        return self.reverts.get(index)


def _attacks(path: Path, scenarios: Mapping[str, Any]) -> dict[str, Attack]:
    """The attacks of an attack file.

    Raises:
        BindingError: the file cannot be read or has the wrong shape.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BindingError(f"cannot read the attack file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise BindingError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("attacks"), dict):
        raise BindingError(f"{path}: an attack file is an object with an `attacks` object (name -> attack)")
    out: dict[str, Attack] = {}
    for name, raw in data["attacks"].items():
        where = f"attacks.{name}"
        if not isinstance(raw, dict) or set(raw) - {"doc", "scenario", "steps", "reverts"}:
            raise BindingError(f"{path}: `{where}` is an object with `steps` and optionally `scenario`, "
                               "`reverts` and `doc`")
        steps = _steps(raw.get("steps"), f"{where}.steps", path)
        scenario = raw.get("scenario")
        if scenario is not None and scenario not in scenarios:
            raise BindingError(f"{path}: `{where}` starts from scenario {scenario!r}, which the binding does not "
                               "have", f"the binding's scenarios: {', '.join(scenarios) or '(none)'}")
        reverts_raw = raw.get("reverts", {})
        reverts: dict[int, str] = {}
        if not isinstance(reverts_raw, dict):
            raise BindingError(f"{path}: `{where}.reverts` maps step indices (\"0\", \"3\") to revert reasons")
        for k, v in reverts_raw.items():
            if not (isinstance(k, str) and k.isdigit() and int(k) < len(steps) and steps[int(k)][0] != "time"
                    and isinstance(v, str)):
                raise BindingError(f"{path}: `{where}.reverts`: {k!r} is not the index of an action of its "
                                   f"{len(steps)} steps, with a reason (a string)")
            reverts[int(k)] = v
        out[name] = Attack(name, steps, scenario, reverts, str(raw.get("doc", "")))
    return out


# (target, function, argument tokens): one call of an action's sequence
BoundCall = tuple[str, str, tuple[Any, ...]]


@dataclass(frozen=True)
class ActionBinding:
    """A spec action run as a sequence of calls; ``returns`` is the call whose result is the action's."""

    calls: tuple[BoundCall, ...]
    returns: int = -1


@dataclass(frozen=True)
class StateBinding:
    """Where a spec variable is read when not where the layout or getter of its name says.

    Either a ``slot`` (with ``offset`` and ``size`` in bytes, and the map
    ``rules`` of a compiler) or a ``getter`` (called with ``args`` then the
    map keys; ``index`` picks one output), at the module's contract or at
    ``at``.
    """

    at: str | None = None
    slot: int | None = None
    offset: int = 0
    size: int = 32
    rules: str | None = None
    getter: str | None = None
    args: tuple[Any, ...] = ()
    index: int | None = None


@dataclass(frozen=True)
class ModuleBinding:
    """How one spec module is implemented."""

    module: str
    vyper: Path | None = None
    artifact: Path | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    constructor: tuple[Any, ...] | None = None
    solidity: Path | None = None
    contract: str | None = None
    actions: Mapping[str, ActionBinding] = field(default_factory=dict)
    state: Mapping[str, StateBinding] = field(default_factory=dict)
    # the EIP-712 domain of the module's signed requests: name and version
    eip712: Mapping[str, str] = field(default_factory=dict)

    def name(self, spec_name: str) -> str:
        """The implementation's name for a spec name."""
        return self.names.get(spec_name, spec_name)


@dataclass(frozen=True)
class Binding:
    """An implementation of a whole spec."""

    name: str
    path: Path
    spec_dir: Path
    modules: Mapping[str, ModuleBinding]
    params: Mapping[str, Any] = field(default_factory=dict)
    prelude: tuple[BindingStep, ...] = ()
    scenarios: Mapping[str, tuple[BindingStep, ...]] = field(default_factory=dict)
    actors: int = 4
    build: Path | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)  # address token ("actor:2", "@pool") -> trace name
    attacks: Mapping[str, Attack] = field(default_factory=dict)  # named attack sequences (the `attacks` file)
    focus: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # scenario -> the actions it is for

    @property
    def starts(self) -> list[str | None]:
        """The starting states of a campaign: after the prelude (None), then each scenario."""
        return [None, *self.scenarios]


def module_only_actions(spec: ir.Spec, binding: Binding) -> frozenset[str]:
    """The public actions (``module.action``) that only another module of this
    deployment may call: the action's ``by`` clause names a parameter that the
    binding sets to a module's address (``"timelock.admin": "@governor"``).
    No actor can make such an action succeed (and no EVM sends a transaction
    from a contract, EIP-3607): it runs inside the calls of the module that
    may call it (``governor.queue`` runs ``timelock.queue``), whose steps
    compare its effects, so campaigns neither generate it nor count it among
    the actions to make succeed. With an actor in that role (a timelock
    deployed alone), the action is an actor's like any other."""
    found: set[str] = set()
    for mname, m in spec.modules.items():
        for action in m.actions.values():
            by = next((s.cond for s in action.body if isinstance(s, ir.Require) and s.origin == "by"), None)
            if action.internal or not (isinstance(by, ir.Bin) and by.op == "==" and isinstance(by.right, ir.Ref)
                                       and by.right.kind == "param"):
                continue
            who = binding.params.get(f"{by.right.module}.{by.right.name}")
            if isinstance(who, str) and who.startswith("@") and who[1:] in spec.modules:
                found.add(f"{mname}.{action.name}")
    return frozenset(found)


def at_deployment(binding: Binding) -> Binding:
    """The same deployment (modules, parameters, actors) without its prelude
    and scenarios: runs start right after the constructors."""
    return replace(binding, prelude=(), scenarios={}, attacks={})


def load_binding(path: str | Path) -> Binding:
    """Read a binding file.

    Raises:
        BindingError: the file cannot be read or has the wrong shape.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BindingError(f"cannot read binding {p}: {exc.strerror} (looked for {p.resolve()})",
                           "--impl takes a binding file (JSON), e.g. evm_backend/contracts/binding.json; "
                           "docs/conformance.md describes the format") from None
    except json.JSONDecodeError as exc:
        raise BindingError(f"{p}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    return binding_from_data(data, p)


def binding_from_data(data: Any, p: Path) -> Binding:
    """The binding that ``data`` (a binding file's JSON) describes, its paths relative to ``p``'s directory.

    Raises:
        BindingError: the data has the wrong shape.
    """
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        raise BindingError(f"{p}: a binding is an object with a `modules` object")
    base = p.parent
    modules: dict[str, ModuleBinding] = {}
    build = base / data["build"] if "build" in data else None
    paths: list[tuple[Any, str, bool]] = [(data.get("spec", "."), "`spec`", True)]  # checked once the shape is
    for name, m in data["modules"].items():
        sources = [k for k in ("vyper", "solidity", "artifact") if isinstance(m, dict) and k in m]
        if isinstance(m, dict) and not sources and build is not None and "contract" in m:
            sources = ["build"]
        if len(sources) != 1:
            raise BindingError(f"{p}: module `{name}` needs exactly one of `vyper`, `solidity`, `artifact`, "
                               "or `contract` with a top-level `build` directory")
        ctor = m.get("constructor")
        paths.extend((m[k], f"module `{name}`: `{k}`", False) for k in ("vyper", "solidity", "artifact") if k in m)
        modules[name] = ModuleBinding(
            module=name,
            vyper=base / str(m["vyper"]) if "vyper" in m else None,
            artifact=base / str(m["artifact"]) if "artifact" in m else None,
            names=dict(m.get("names", {})),
            constructor=tuple(ctor) if ctor is not None else None,
            solidity=base / str(m["solidity"]) if "solidity" in m else None,
            contract=str(m["contract"]) if "contract" in m else None,
            actions={a: _action(a, raw, f"{p}: module `{name}`") for a, raw in m.get("actions", {}).items()},
            state={v: _state(v, raw, f"{p}: module `{name}`") for v, raw in m.get("state", {}).items()},
            eip712=_eip712(m.get("eip712", {}), f"{p}: module `{name}`"),
        )
    prelude = _steps(data.get("prelude", []), "prelude", p)
    scenarios_raw = data.get("scenarios", {})
    if not isinstance(scenarios_raw, dict):
        raise BindingError(f"{p}: `scenarios` maps names to lists of steps")
    scenarios = {name: _steps(steps, f"scenarios.{name}", p) for name, steps in scenarios_raw.items()}
    errors = data.get("errors", {})
    if not isinstance(errors, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in errors.items()):
        raise BindingError(f"{p}: `errors` maps custom errors (name, signature or 0x selector) to spec reasons")
    for raw, what, directory in paths:
        _relative(p, base, raw, what, directory=directory)
    attacks = _attacks(_relative(p, base, data["attacks"], "`attacks`"), scenarios) if "attacks" in data else {}
    spec_dir = base / str(data.get("spec", "."))
    return Binding(
        name=str(data.get("name", p.stem)),
        path=p,
        spec_dir=spec_dir.resolve(),
        modules=modules,
        params=dict(data.get("params", {})),
        prelude=prelude,
        scenarios=scenarios,
        actors=int(data.get("actors", 4)),
        build=build,
        errors=dict(errors),
        labels=_labels(data.get("labels", {}), p),
        attacks=attacks,
        focus=_focus(data.get("focus", {}), scenarios, p),
    )


#: The name ``focus`` gives the starting state after the prelude.
PRELUDE_START = "prelude"


def _focus(raw: Any, scenarios: Mapping[str, Any], p: Path) -> dict[str, tuple[str, ...]]:
    ok = isinstance(raw, dict) and all(
        isinstance(v, list) and all(isinstance(a, str) and "." in a for a in v) for v in raw.values())
    if not ok:
        raise BindingError(f"{p}: `focus` maps scenario names to lists of actions (\"module.action\")",
                           'e.g. "focus": {"launched": ["offering.claim"]}')
    unknown = sorted(set(raw) - set(scenarios) - {PRELUDE_START})
    if unknown:
        raise BindingError(f"{p}: `focus` names no such scenario: {', '.join(unknown)}",
                           f"the starting states are: {', '.join([PRELUDE_START, *scenarios])}")
    return {name: tuple(actions) for name, actions in raw.items()}


def _labels(raw: Any, p: Path) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise BindingError(f"{p}: `labels` maps address tokens (\"actor:2\", \"@pool\") to names",
                           'e.g. "labels": {"actor:0": "merchant", "actor:1": "alice"}')
    return dict(raw)


def _action(action: str, raw: Any, where: str) -> ActionBinding:
    returns = -1
    if isinstance(raw, dict):
        returns = raw.get("returns", -1)
        raw = raw.get("calls")
    ok = isinstance(raw, list) and raw and isinstance(returns, int) and all(
        isinstance(c, list) and len(c) == 3 and isinstance(c[0], str) and isinstance(c[1], str)
        and isinstance(c[2], list) for c in raw)
    if not ok or not -len(raw) <= returns < len(raw):
        raise BindingError(f"{where}: action `{action}` is a list of calls [target, function, [args...]] "
                           "(or {\"calls\": [...], \"returns\": i})")
    return ActionBinding(tuple((c[0], c[1], tuple(c[2])) for c in raw), returns)


def _eip712(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or set(raw) - {"name", "version"} or not all(
            isinstance(v, str) for v in raw.values()):
        raise BindingError(f"{where}: `eip712` is {{\"name\": ..., \"version\": ...}} with string values")
    return dict(raw)


def _state(var: str, raw: Any, where: str) -> StateBinding:
    if not isinstance(raw, dict) or ("slot" in raw) == ("getter" in raw):
        raise BindingError(f"{where}: state `{var}` needs exactly one of `slot` or `getter`")
    unknown = set(raw) - {"at", "slot", "offset", "size", "rules", "getter", "args", "index"}
    if unknown or raw.get("rules", "solidity") not in ("solidity", "vyper"):
        raise BindingError(f"{where}: state `{var}` has unknown fields {sorted(unknown)} or rules")
    return StateBinding(
        at=raw.get("at"), slot=raw.get("slot"), offset=int(raw.get("offset", 0)), size=int(raw.get("size", 32)),
        rules=raw.get("rules"), getter=raw.get("getter"), args=tuple(raw.get("args", ())), index=raw.get("index"),
    )


def module_artifact(binding: Binding, b: ModuleBinding) -> CompiledContract:
    """The contract that implements module ``b``: compiled (Vyper, Solidity) or read from a build.

    Raises:
        BindingError: the artifact cannot be read or found, or the Solidity
            file defines no such contract.
        CompileError: a source does not compile.
        CompilerVersionError: a pinned compiler is missing.
    """
    from evm_backend.artifacts import ArtifactError, find_artifact, load_artifact
    from evm_backend.compiler import compile_file
    from evm_backend.solc import compile_solidity

    if b.vyper is not None:
        return compile_file(b.vyper)
    if b.solidity is not None:
        contracts = compile_solidity(b.solidity)
        name = b.contract or b.solidity.stem
        if name not in contracts:
            raise BindingError(f"{b.solidity} defines no deployable contract {name!r} "
                               f"(it has {', '.join(sorted(contracts)) or 'none'})")
        return contracts[name]
    try:
        if b.artifact is not None:
            return load_artifact(b.artifact, name=b.contract)
        assert binding.build is not None and b.contract is not None
        return load_artifact(find_artifact(binding.build, b.contract), name=b.contract)
    except ArtifactError as exc:
        raise BindingError(f"module `{b.module}`: {exc}") from None


def load_implementation(path: str | Path) -> tuple[Binding, ir.Spec]:
    """The binding at ``path`` and the checked spec it names.

    Raises:
        BindingError: the binding file is missing or malformed.
        SpecHasErrors: the spec does not check.
    """
    binding = load_binding(path)
    return binding, load_spec([binding.spec_dir]).checked_spec(binding.spec_dir)
