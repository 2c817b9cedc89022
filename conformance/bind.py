"""Binding a build to the spec: which contract, function, slot or event
implements each spec module, action, variable and event, and what is unmapped.

:func:`draft_binding` writes a first binding for a Foundry ``out/`` or a
Hardhat ``artifacts/`` directory: each spec module bound to the contract of
the same name (``pool`` to ``Pool``, ``mt`` to ``MT``, ``dcep_vault`` to
``DcepVault``), and each spec name the ABI or the storage layout has only in
camelCase (``balance_of`` as ``balanceOf``) renamed under ``names``.
:func:`check_binding` reads any binding (drafted, or written by hand) the way
the conformance harness will, and reports, for every spec module, where
each of its actions, variables, events and event fields lives in the
implementation, and which it cannot find. Nothing is deployed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.binding import Binding, BindingError, ModuleBinding, module_artifact
from conformance.harness.values import _variables
from evm_backend.abi import ContractAbi
from evm_backend.artifacts import ArtifactError
from evm_backend.compiler import CompiledContract
from evm_backend.errors import EvmBackendError
from evm_backend.storage import LayoutError
from spec import ir


@dataclass(frozen=True)
class Entry:
    """One spec name and where the implementation has it (``None``: nowhere found)."""

    kind: str  # "action", "variable", "event", "event field", "view", "custom error"
    spec: str
    impl: str | None
    optional: bool = False  # a view the implementation need not export

    @property
    def mapped(self) -> bool:
        return self.impl is not None


@dataclass(frozen=True)
class ModuleReport:
    """How one spec module is bound: its contract (or why there is none) and each of its names."""

    module: str
    contract: str | None
    problem: str | None = None
    entries: tuple[Entry, ...] = ()
    constructor: str | None = None  # a mismatch of the constructor's inputs, if any

    @property
    def unmapped(self) -> list[Entry]:
        """The required names the implementation does not have."""
        return [e for e in self.entries if not e.mapped and not e.optional]

    @property
    def complete(self) -> bool:
        return self.problem is None and self.constructor is None and not self.unmapped


@dataclass(frozen=True)
class BindReport:
    """Every bound module's :class:`ModuleReport`, the build's contracts no
    module uses, and the spec modules left out."""

    modules: tuple[ModuleReport, ...]
    unused_contracts: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()  # spec modules the binding does not bind

    @property
    def complete(self) -> bool:
        """Some module bound, and every bound module's actions, variables, events and fields found."""
        return bool(self.modules) and all(m.complete for m in self.modules)


def build_contracts(build_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Every contract artifact of a Foundry ``out/`` or Hardhat ``artifacts/``
    directory, by contract name (a name defined by several sources is left out).

    Raises:
        ArtifactError: the directory does not exist.
    """
    root = Path(build_dir)
    if not root.is_dir():
        raise ArtifactError(f"build directory {root} does not exist (run `forge build` or `npx hardhat compile`)")
    found: dict[str, list[Path]] = {}
    for p in sorted(root.rglob("*.json")):
        if p.parent.name.endswith(".sol") and "build-info" not in p.parts and not p.name.endswith(".dbg.json"):
            found.setdefault(p.stem, []).append(p)
    return {name: paths[0] for name, paths in found.items() if len(paths) == 1}


def _key(name: str) -> str:
    return name.replace("_", "").lower()


def camel(name: str) -> str:
    """``balance_of`` as ``balanceOf``."""
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _spec_names(m: ir.Module) -> Iterator[str]:
    """Every name of a module a binding's ``names`` may rename."""
    yield from (a for a, action in m.actions.items() if not action.internal)
    yield from m.fns
    for name, _, _ in _variables(m):
        yield name
    for name, e in m.events.items():
        yield name
        yield from (f for f, _ in e.fields)


def draft_binding(spec: ir.Spec, spec_dir: Path, build_dir: Path, out: Path) -> dict[str, Any]:
    """A binding (as JSON data) for the contracts of ``build_dir``, to be written at ``out``.

    Raises:
        ArtifactError: the build directory does not exist or an artifact cannot be read.
    """
    from evm_backend.artifacts import load_artifact

    contracts = build_contracts(build_dir)
    by_key = {_key(name): name for name in contracts}
    modules: dict[str, Any] = {}
    for module, m in spec.modules.items():
        contract = by_key.get(_key(module))
        if contract is None:
            continue
        art = load_artifact(contracts[contract], name=contract)
        known = _implementation_names(art)
        names = {n: camel(n) for n in dict.fromkeys(_spec_names(m))
                 if n not in known and camel(n) != n and camel(n) in known}
        entry: dict[str, Any] = {"contract": contract}
        if names:
            entry["names"] = names
        modules[module] = entry
    return {
        "name": build_dir.resolve().parent.name or "implementation",
        "spec": os.path.relpath(spec_dir.resolve(), out.resolve().parent),
        "build": os.path.relpath(build_dir.resolve(), out.resolve().parent),
        "modules": modules,
    }


def _implementation_names(art: CompiledContract) -> set[str]:
    """The names a contract has: functions, events, their inputs, storage variables."""
    out: set[str] = set()
    for entry in art.abi:
        if "name" in entry:
            out.add(str(entry["name"]))
        out.update(str(p.get("name", "")) for p in entry.get("inputs", ()))
    try:
        layout = art.storage
    except LayoutError:
        layout = None
    if layout is not None:
        out.update(layout.variables)
    return out


def check_binding(binding: Binding, spec: ir.Spec) -> BindReport:
    """Where the implementation has each bound module's names; what it lacks. Nothing is deployed.

    Spec modules the binding leaves out are listed as not bound (a binding may
    cover part of the spec, closed under imports); they are not checked.

    Raises:
        BindingError: the binding names an artifact or contract that cannot be
            read, or leaves out a module that a bound one imports.
        CompileError: a source the binding names does not compile.
        CompilerVersionError: a pinned compiler is missing.
    """
    from spec.analysis import restrict

    try:
        bound = restrict(spec, [m for m in binding.modules if m in spec.modules])
    except ValueError as exc:
        raise BindingError(f"binding {binding.name}: {exc}") from None
    unknown = sorted(set(binding.modules) - set(spec.modules))
    if unknown:
        raise BindingError(f"binding {binding.name}: no module {', '.join(unknown)} in the spec")
    reports = []
    used: set[str] = set()
    abis: list[ContractAbi] = []
    for module, m in bound.modules.items():
        b = binding.modules[module]
        try:
            art = module_artifact(binding, b)
        except BindingError as exc:
            reports.append(ModuleReport(module, b.contract, str(exc)))
            continue
        used.add(art.name)
        abi = ContractAbi(art.abi)
        abis.append(abi)
        reports.append(_check_module(binding, m, b, art, abi))
    declared = {e.signature: e for abi in abis for e in abi.custom_errors}
    errors = tuple(Entry("custom error", sig, next(
        (binding.errors[k] for k in (e.name, sig, "0x" + e.selector.hex()) if k in binding.errors), None))
        for sig, e in sorted(declared.items()))
    if errors:
        reports.append(ModuleReport("(custom errors)", None, None, errors))
    unused: tuple[str, ...] = ()
    if binding.build is not None and binding.build.is_dir():
        unused = tuple(sorted(set(build_contracts(binding.build)) - used))
    left_out = tuple(m for m in spec.modules if m not in bound.modules)
    return BindReport(tuple(reports), unused, left_out)


def _check_module(binding: Binding, m: ir.Module, b: ModuleBinding, art: CompiledContract,
                  abi: ContractAbi) -> ModuleReport:
    entries: list[Entry] = []
    for name, action in m.actions.items():
        if action.internal:
            continue  # called by other actions only, never from outside
        bound = b.actions.get(name)
        if bound is not None:
            calls = ", then ".join(f"{t}.{f}" for t, f, _ in bound.calls)
            entries.append(Entry("action", name, f"calls {calls}"))
            continue
        entries.append(Entry("action", name, _function(abi, b.name(name), len(action.params))))
    try:
        layout = art.storage
    except LayoutError:
        layout = None
    for name, _, _kind in _variables(m):
        over = b.state.get(name)
        if over is not None:
            at = f" of {over.at}" if over.at else ""
            where = (f"slot {over.slot}, bytes {over.offset}..{over.offset + over.size}{at}"
                     if over.slot is not None else f"getter {over.getter}{at}")
            entries.append(Entry("variable", name, f"{where} (binding)"))
            continue
        impl = b.name(name)
        if layout is not None and impl in layout:
            var = layout.variables[impl]
            offset = f", offset {var.offset}" if var.offset else ""
            entries.append(Entry("variable", name, f"storage `{impl}`: slot {var.slot}{offset}"))
        elif impl in abi.function_names:
            entries.append(Entry("variable", name, f"getter {abi.function(impl).signature}"))
        else:
            entries.append(Entry("variable", name, None))
    events = {e.name: e for e in abi.events}
    for name, e in m.events.items():
        found = events.get(b.name(name))
        entries.append(Entry("event", name, found.signature if found is not None else None))
        if found is None:
            continue
        inputs = {p.name for p in found.inputs}
        for f, _ in e.fields:
            impl = b.name(f) if b.name(f) in inputs else f
            entries.append(Entry("event field", f"{name}.{f}", f"{found.name}.{impl}" if impl in inputs else None))
    for name, fn in m.fns.items():
        entries.append(Entry("view", name, _function(abi, b.name(name), len(fn.params)), optional=True))
    return ModuleReport(m.name, art.name, None, tuple(entries), _constructor_problem(m, b, abi))


def _function(abi: ContractAbi, name: str, n_args: int) -> str | None:
    try:
        fn = abi.function(name, n_args)
    except EvmBackendError:
        return None
    return fn.signature if len(fn.inputs) == n_args else None


def _constructor_problem(m: ir.Module, b: ModuleBinding, abi: ContractAbi) -> str | None:
    """Why the constructor cannot take the arguments the binding gives it (None when it can)."""
    given = b.constructor if b.constructor is not None else (*m.params, *(f"@{i}" for i in m.imports))
    arity = len(abi.constructor_inputs)
    if arity == len(given):
        return None
    listed = ", ".join(str(g) for g in given) or "nothing"
    return (f"the constructor takes {arity} input(s), the binding gives {len(given)} ({listed}); "
            "write the module's `constructor` list")


def render(report: BindReport) -> str:
    """The report as text: one block a module, unmapped names marked."""
    lines: list[str] = []
    for m in report.modules:
        head = f"{m.module} -> {m.contract}" if m.contract else m.module
        lines.append(head + ("" if m.complete else "   (INCOMPLETE)"))
        if m.problem:
            lines.append(f"  UNMAPPED: {m.problem}")
        if m.constructor:
            lines.append(f"  constructor: {m.constructor}")
        for e in m.entries:
            if e.mapped:
                lines.append(f"  {e.kind:<12} {e.spec:<32} {e.impl}")
            elif e.optional:
                lines.append(f"  {e.kind:<12} {e.spec:<32} (not exported: not compared)")
            else:
                lines.append(f"  {e.kind:<12} {e.spec:<32} UNMAPPED")
    if report.left_out:
        lines.append("spec modules not bound (not checked): " + ", ".join(report.left_out))
    if report.unused_contracts:
        lines.append("contracts of the build no module uses: " + ", ".join(report.unused_contracts))
    missing = sum(len(m.unmapped) + (m.problem is not None) + (m.constructor is not None) for m in report.modules)
    lines.append("every action, variable, event and field of the bound modules is mapped" if report.complete
                 else f"{missing} unmapped: name them in the binding (`names`, `actions`, `state`, `errors`, "
                      "`constructor`; see docs/conformance.md)")
    return "\n".join(lines)


def binding_json(data: Mapping[str, Any]) -> str:
    """A binding as JSON text."""
    return json.dumps(data, indent=2) + "\n"
