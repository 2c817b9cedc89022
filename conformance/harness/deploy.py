"""Deploying the model and the contracts side by side, identically, and moving
both back and forth together (snapshots, starting states)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from conformance.binding import Binding, BindingError, ModuleBinding, module_artifact
from conformance.harness.values import (
    Difference,
    Step,
    StepReport,
    Where,
    _attr,
    _Saved,
    _variables,
    create_address,
    to_abi,
    to_checksum,
)
from conformance.names import BindingNames
from conformance.signatures import Domain, SigningContext
from evm_backend import get_backend
from evm_backend.abi import AbiFunction, ContractAbi
from evm_backend.compiler import CompiledContract
from evm_backend.interface import Backend
from evm_backend.records import Receipt
from reference.codegen import governed_bounds
from reference.model import Deployment, Model
from reference.runtime import Env, clone
from spec import ir
from spec.analysis import restrict


def _all_reasons(spec: ir.Spec) -> set[str]:
    """Every reason a step, a view or a deployment can revert with: the
    actions' own, and those of the spec's functions and ``init`` rules."""
    out = set(spec.reasons)
    for m in spec.modules.values():
        for body in (m.init, *(fn.body for fn in m.fns.values())):
            out.update(s.reason for s in ir.walk(body) if isinstance(s, ir.Require))
    return out


def custom_errors(binding: Binding, abis: Iterable[ContractAbi],
                  reasons: Iterable[str]) -> tuple[dict[bytes, str], dict[bytes, str]]:
    """(selector to spec reason, by the binding's ``errors``; selector to
    signature, of every custom error the contracts declare).

    Raises:
        BindingError: an entry names an error no contract declares (or a
            selector that is not 4 bytes), or a reason the spec does not have.
    """
    declared = {e.selector: e for abi in abis for e in abi.custom_errors}
    names = {s: e.signature for s, e in declared.items()}
    known = set(reasons)
    out: dict[bytes, str] = {}
    for key, reason in binding.errors.items():
        if reason not in known:
            raise BindingError(f"binding {binding.name}: `errors` maps {key} to {reason!r}, which is no revert "
                               f"reason of the spec ({', '.join(sorted(known))})")
        if key.startswith("0x"):
            try:
                selectors = [bytes.fromhex(key[2:])]
            except ValueError:
                selectors = []
            if len(selectors) != 1 or len(selectors[0]) != 4:
                raise BindingError(f"binding {binding.name}: `errors`: {key} is not a 4-byte selector")
        else:
            selectors = [s for s, e in declared.items() if key in (e.name, e.signature)]
            if not selectors:
                shown = ", ".join(sorted(names.values())) or "none"
                raise BindingError(f"binding {binding.name}: `errors` maps {key}, which no contract of the "
                                   f"implementation declares (declared: {shown})")
        for selector in selectors:
            out[selector] = reason
    return out, names


class DeployedPair(BindingNames):
    """The deployment layer: both sides deployed identically, moved back and forth together.

    This constructor is the only one of the harness's class tree: it sets
    every attribute. A subclass that deploys otherwise
    (:class:`conformance.fixtures.FixtureRunner`: the contracts alone, where
    a fixture says) overrides the hooks it calls, :meth:`_before_deployment`,
    :meth:`_deploy_model` and :meth:`_start`, and sets none of the harness's
    attributes itself: a new one set here is set on every subclass too. The
    hooks set only what needs the model, which such a subclass does not have:
    """

    model: Model  # (_deploy_model)
    _prelude: _Saved  # the state after the prelude, and the one reset returns to (_start)
    _base: _Saved

    def __init__(self, spec: ir.Spec, binding: Binding, backend: str = "py-evm", *,
                 check_rules: bool = False, full_compare: bool = False) -> None:
        try:
            # an implementation may cover part of the spec, closed under imports
            spec = restrict(spec, binding.modules)
        except ValueError as exc:
            raise BindingError(f"binding {binding.name}: {exc}") from None
        self.spec = spec
        self.binding = binding
        self.check_rules = check_rules
        self.full_compare = full_compare
        self.scenario: str | None = None  # the starting state's scenario (see start_from)
        self.rebases = 0  # how many times the state reset returns to was set (see rebase)
        self.backend: Backend = get_backend(backend)
        accounts = self.backend.create_accounts(1 + binding.actors)
        # the precompiles hold a wei, as on mainnet: a call to an empty one
        # (ecrecover, for a signed request) touches it and EIP-161 deletes it
        # again, which py-evm's snapshots cannot revert across
        for precompile in range(1, 11):
            self.backend.set_balance(f"0x{precompile:040x}", 1)
        self.deployer = int(accounts[0].address, 16)
        self.actors = [int(a.address, 16) for a in accounts[1:]]
        # the actors' keys sign requests (conformance.signatures)
        self.signing = SigningContext(
            keys={int(a.address, 16): a.private_key for a in accounts[1:]},
            chain_id=self.backend.chain_id,
            addresses={},
            domains={m: Domain(b.eip712.get("name", m), b.eip712.get("version", "1"), b.names)
                     for m, b in binding.modules.items()},
        )
        self.artifacts = {m: self._artifact(b) for m, b in binding.modules.items()}
        self.abis = {m: ContractAbi(art.abi) for m, art in self.artifacts.items()}
        self.error_reasons, self.error_names = custom_errors(binding, self.abis.values(), _all_reasons(spec))
        nonce = self.backend.get_nonce(to_checksum(self.deployer))
        self.scenario_successes: list[Step] = []
        self.addresses = {m: create_address(self.deployer, nonce + i) for i, m in enumerate(spec.modules)}
        self.module_at = {a: m for m, a in self.addresses.items()}
        self.signing = replace(self.signing, addresses=dict(self.addresses))
        self._before_deployment()
        self.deployed_at = (self.backend.timestamp, self.backend.block_number, self.backend.chain_id)
        self._deploy_model()
        self._deploy_contracts()
        self.known_addresses = sorted({0, self.deployer, *self.actors, *self.addresses.values()})
        self.label_addresses()
        # the incremental comparison (compare_changes): where each variable
        # lives, every storage slot the model has an entry for, and whether
        # the two sides were last compared in full and agreed
        self._state_types = {module: {name: t for name, t, kind in _variables(m) if kind != "param"}
                             for module, m in self.spec.modules.items()}
        self._attr_names = {module: {_attr(name): name for name in names}
                            for module, names in self._state_types.items()}
        self._locations: dict[tuple[str, str], Where] = {}
        # a slot holds one entry, or several packed together
        # (values are frozen, so that a saved copy of the index is never changed by a later step)
        self._index: dict[tuple[str, int], frozenset[tuple[str, str, tuple[int, ...]]]] = {}
        self._getter_vars = [(module, name) for module, names in self._state_types.items() for name in names
                             if self._location(module, name).layout is None]
        self._watch: dict[str, tuple[list[str], list[int], list[int]]] = {}
        self._watched = 0  # how many of the index's slots (in its order) are watched
        self._mixed_slots = False  # whether a slot holds entries of two modules (storage.py: watched_slots)
        # the modules whose watched words may be stale: a transaction succeeded
        # (or storage was written) since they were last read (storage.py)
        self._unread: set[str] = set()
        self._baseline_valid = False
        self.view_addresses = list(self.actors)
        # the views (views.py): how many times each side's state changed, when
        # the views last agreed, and the encoded calls and decoded answers
        self.state_version = 0
        self.views_called = 0
        self._views_agreed_at: tuple[Any, ...] | None = None
        # each view call's last agreement, and what it depended on (views.py)
        self._views_agreed: dict[tuple[str, str, tuple[int, ...]], tuple[Any, Any, Any]] = {}
        self._view_deps: dict[tuple[str, str], tuple[tuple[tuple[str, str], ...], tuple[str, ...], bool]] = {}
        self._variable_versions: dict[tuple[str, str], int] = {}
        self._module_versions: dict[str, int] = {}
        self._epoch = 0
        self._tick = 0  # the last version given (every change gets a new one)
        self._held: tuple[int, list[int]] = (-1, [])
        # (views.py: numbers_held) each module's numbers, and the versions of its variables then
        self._held_by_module: dict[str, tuple[Any, set[int]]] = {}
        self._module_variables = {module: [(module, name) for name in names]
                                  for module, names in self._state_types.items()}
        self._numbers_at: tuple[tuple[int, int, int] | None, list[int]] = (None, [])  # (views.py: _view_numbers)
        self._view_fns: dict[str, list[tuple[ir.Fn, AbiFunction]]] = {}
        self._view_fns_typed: dict[str, list[tuple[ir.Fn, AbiFunction, tuple[ir.Type, ...]]]] = {}
        # each view's calldata encoder, by its ABI function (views.py: _encoder)
        self._encoders: dict[int, tuple[AbiFunction, Callable[[tuple[int, ...]], bytes]]] = {}
        self._word_params: dict[int, tuple[AbiFunction, bool]] = {}  # (views.py: _one_word_params)
        self._batchable_fns: dict[tuple[str, str], bool] = {}  # (views.py: _batchable)
        self._encoded: dict[tuple[str, tuple[int, ...]], bytes] = {}
        self._decoded: dict[tuple[Any, ...], Any] = {}
        # the EVM's view answers kept while nothing they read changes (views.py),
        # by (address, calldata), and the calls that read each slot or account
        self._answers: dict[tuple[str, bytes], tuple[Any, tuple[int, int] | None]] = {}
        self._readers: dict[Any, set[tuple[str, bytes]]] = {}
        self.deployment_differences: list[Difference] = []
        self.prelude_reports: list[StepReport] = []
        self._start()

    # --- the constructor's hooks (a subclass that deploys otherwise overrides them, and sets no attribute)

    def _before_deployment(self) -> None:
        """Called once the accounts and the addresses are known, before
        anything is deployed: the place to check them or to move the clock."""

    def _deploy_model(self) -> None:
        """Deploy the model at the contracts' addresses, with the binding's parameters."""
        self.model = Model.deploy(self.spec, Deployment(
            addresses=self.addresses, params=self._param_overrides(), deployer=self.deployer,
            now=self.backend.timestamp, block_number=self.backend.block_number, chain_id=self.backend.chain_id,
        ), probes=True)

    def _start(self) -> None:
        """Once both sides are deployed: compare them, run the binding's
        prelude, and make the state after it the one :meth:`reset` returns to."""
        self.deployment_differences = self.compare_state(None, params=True)
        self.prelude_reports = [self.run(s) for s in self._prelude_steps()]
        self._sweep_setup(self.prelude_reports)
        self._prelude = self._save()
        self._base = self._save()

    def evm_reason(self, receipt: Receipt) -> str | None:
        """The reason of a reverted execution, as the spec names it: its
        ``Error(string)``, or the spec reason the binding maps its custom
        error to. An unmapped custom error gives a text that names it and is
        no spec reason; a bare revert, a panic or a halt gives ``None``."""
        if receipt.revert_reason is not None:
            return receipt.revert_reason
        selector = bytes(receipt.revert_data[:4])
        if len(selector) < 4:
            return None
        mapped = self.error_reasons.get(selector)
        if mapped is not None:
            return mapped
        name = self.error_names.get(selector)
        return None if name is None else f"{name} (a custom error the binding's `errors` maps to no spec reason)"

    def _artifact(self, b: ModuleBinding) -> CompiledContract:
        return module_artifact(self.binding, b)

    def label_addresses(self) -> None:
        """Name the addresses traces show: ``actor:N``, ``deployer``, each
        module's contract by the module's name, and an actor the binding
        makes a role (``"offering.merchant": "actor:0"``) by the role too
        (``actor:0/merchant``); a binding's ``labels`` (``{"actor:2":
        "alice"}``) override them."""
        from conformance.harness.values import ADDRESS_LABELS

        labels = {self.deployer: "deployer", 0: "0x0"}
        labels.update({a: f"actor:{i}" for i, a in enumerate(self.actors)})
        labels.update({a: m for m, a in self.addresses.items()})
        for key, value in self.binding.params.items():
            if isinstance(value, str) and value.startswith("actor:") and value[6:].isdigit() \
                    and int(value[6:]) < len(self.actors):
                a = self.actors[int(value[6:])]
                role = key.rsplit(".", 1)[-1]
                if role not in labels[a].split("/"):
                    labels[a] = f"{labels[a]}/{role}"
        for token, name in self.binding.labels.items():
            try:
                labels[int(self.resolve(token))] = name
            except (BindingError, KeyError, IndexError, ValueError):
                raise BindingError(f"{self.binding.path}: `labels` names {token!r}, which is no address of the "
                                   "deployment", "use actor:N (N below `actors`), deployer or @module") from None
        ADDRESS_LABELS.clear()
        ADDRESS_LABELS.update(labels)

    def _constructor_args(self, module: str) -> list[Any]:
        m = self.spec.modules[module]
        b = self.binding.modules[module]
        names = b.constructor if b.constructor is not None else (
            *m.params, *(f"@{i}" for i in m.imports))

        def value(n: Any) -> Any:
            if isinstance(n, list | tuple):  # a struct argument: its fields in order
                return tuple(value(x) for x in n)
            if isinstance(n, str) and n.startswith("@"):
                return to_checksum(self.addresses[n[1:]])
            if isinstance(n, str) and n in ("eip712.name", "eip712.version"):  # the domain the binding signs in
                return b.eip712.get(n[7:], module if n == "eip712.name" else "1")
            if n == "spec.module":  # the name of the spec's module this contract is (a template's instance)
                return module
            if isinstance(n, str) and n.startswith(("low.", "high.")) and n.split(".", 1)[1] in m.governed:
                low, high = governed_bounds(self.spec, module, n.split(".", 1)[1])  # a governed parameter's bounds
                return low if n.startswith("low.") else high
            if isinstance(n, str) and (n.startswith("actor:") or n == "deployer" or len(n) == 42):
                return to_checksum(self.resolve(n))  # an address: an actor, the deployer, or 0x + 40 digits
            if isinstance(n, str) and n in m.params:
                return to_abi(self.param_value(module, n), m.params[n].type)
            if isinstance(n, str) and n in m.governed:  # a governed parameter's value at deployment
                return to_abi(self.param_value(module, n), m.governed[n].type)
            return self.resolve(n)

        return [value(n) for n in names]

    def param_value(self, module: str, name: str) -> Any:
        """The value a parameter was deployed with (the model's)."""
        return getattr(self.model.state(module), _attr(name))

    def _deploy_contracts(self) -> None:
        deployer = to_checksum(self.deployer)
        for module in self.spec.modules:
            art = self.artifacts[module]
            address = self.backend.deploy(art.bytecode, art.abi, self._constructor_args(module), sender=deployer)
            if int(address, 16) != self.addresses[module]:
                raise BindingError(f"{module} deployed at {address}, expected {to_checksum(self.addresses[module])}")

    def _prelude_steps(self) -> Iterator[Step]:
        return self.binding_steps(self.binding.prelude)

    def signed_args(self, module: str, act: ir.Action, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """A binding step's signed request, signed by its owner's key as it
        is (:func:`conformance.signatures.sign_requests`, kind ``as_drawn``):
        the contract checks the EIP-712 signature, the model the abstract one."""
        from conformance.signatures import SigDraw, sign_requests

        drawn = tuple(SigDraw("as_drawn", 1) if v == "signed" else v for v in values)
        return sign_requests(drawn, module, act, self.spec, self.signing, None, self.backend.timestamp)

    def start_from(self, scenario: str | None) -> list[StepReport]:
        """Make the state after the prelude, then ``scenario``'s steps (if any),
        the state every later :meth:`reset` returns to. Returns the scenario's
        step reports (each compared like any step).

        Raises:
            KeyError: no such scenario in the binding.
        """
        self._prelude = self._go_back(self._prelude)
        self.scenario = scenario
        reports = []
        if scenario is not None:
            reports = [self.run(s) for s in self.binding_steps(self.binding.scenarios[scenario])]
            self._sweep_setup(reports)
        # the scenario's successful actions, which generated steps may repeat
        # (a transaction it queued, executed later)
        self.scenario_successes = [r.step for r in reports
                                   if r.step.kind == "action" and r.model is not None and r.model.ok]
        self.rebase()
        return reports

    def _sweep_setup(self, reports: list[StepReport]) -> None:
        """Before the state after a setup (the prelude, a scenario) is kept
        as one to return to: compare what its steps may have written beyond
        what each step compared, onto the last step's report. On a backend
        that does not record its writes a step compares the modules the spec
        lets it write, and a stray write elsewhere is left to a later sweep;
        but the first return to a kept state reads every watched word afresh
        as the agreed one, so without this, a stray write made by the setup
        would be agreed and never compared. (The views and the variables
        read through getters keep no baseline: the next sweep asks them
        all the same.)"""
        if reports and not self.full_compare and not self.backend.records_storage_writes:
            last = reports[-1].differences
            last.extend(d for d in self.sweep_storage(getters=False) if d not in last)

    def rebase(self) -> None:
        """Make the current state of both sides the one :meth:`reset` returns to."""
        self._base = self._save()
        self.rebases += 1

    def reset(self) -> None:
        """Return both sides to the starting state (after the prelude and the
        current scenario, see :meth:`start_from`)."""
        self._base = self._go_back(self._base)

    def _save(self) -> _Saved:
        return _Saved(self.backend.snapshot(), self.model.world.snapshot(),
                      (self.backend.timestamp, self.backend.block_number), self._baseline_valid, dict(self._index),
                      views=self.saved_views(), slots=self.watched_slots())

    def _go_back(self, saved: _Saved) -> _Saved:
        """Put both sides back in ``saved``; returns it with a fresh EVM
        snapshot (reverting to one uses it up)."""
        self.backend.revert(saved.snapshot)
        self.state_version += 1
        self.restore_views(saved.views)
        self.model.world.restore(clone(saved.model))
        self.backend.set_timestamp(saved.clock[0])
        self.backend.set_block_number(saved.clock[1])
        self._baseline_valid = saved.compared
        self._index = dict(saved.index)
        if saved.watch is None:
            self._rewatch(saved.slots)
            saved = replace(saved, watch=dict(self._watch))
        else:
            # (the same state as the first time: the words it read then)
            self._watch, self._watched = dict(saved.watch), len(self._index)
            self._unread = set()  # (the words read here, and the storage is as it was then)
        return replace(saved, snapshot=self.backend.snapshot())

    def env(self, caller: int) -> Env:
        return Env(caller, self.backend.timestamp, self.backend.block_number, self.backend.chain_id)

    # --- provided by the later layers (storage.py, compare.py, step.py)

    def _location(self, module: str, name: str) -> Where:
        raise NotImplementedError

    def _rewatch(self, slots: dict[str, tuple[list[str], list[int]]] | None = None) -> None:
        raise NotImplementedError

    def _watch_new(self) -> None:
        raise NotImplementedError

    def watched_slots(self) -> dict[str, tuple[list[str], list[int]]] | None:
        raise NotImplementedError

    def compare_state(self, modules: set[str] | None = None, *, params: bool = False,
                      views: bool = True) -> list[Difference]:
        raise NotImplementedError

    def sweep_storage(self, *, getters: bool = True) -> list[Difference]:
        raise NotImplementedError

    def run(self, step: Step, *, compare_state: bool = True) -> StepReport:
        raise NotImplementedError

    def forget_answers(self, receipt: Receipt | None) -> None:
        raise NotImplementedError

    def changed_everything(self) -> None:
        raise NotImplementedError

    def changed_modules(self, modules: Iterable[str]) -> None:
        raise NotImplementedError

    def saved_views(self) -> Any:
        raise NotImplementedError

    def restore_views(self, saved: Any) -> None:
        raise NotImplementedError
