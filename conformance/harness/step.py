"""One step on both sides: :class:`Harness`, the model and the contracts run
together and compared."""

from __future__ import annotations

from typing import Any

from conformance.calls import run_calls
from conformance.harness.compare import StepComparison
from conformance.harness.values import (
    Step,
    StepReport,
    to_checksum,
)
from evm_backend.records import Receipt
from spec import ir
from spec.analysis import write_set


class Harness(StepComparison):
    """The model and the contracts side by side, deployed identically.

Raises (from the constructor):
    BindingError: the binding names unknown modules or lacks one.
    CompileError: a Vyper source does not compile.
    DeploymentFailed: a constructor reverted."""

    def run(self, step: Step, *, compare_state: bool = True) -> StepReport:
        """Execute one step on both sides and compare.

        Raises:
            KeyError: the step names an unknown module or action.
        """
        if step.kind == "time":
            self.backend.set_timestamp(self.backend.timestamp + step.seconds)
            self.backend.set_block_number(self.backend.block_number + step.blocks)
            report = StepReport(step, None, None)
            if compare_state:
                # storage cannot change with the clock, but derived views can
                report.differences.extend(self.compare_views())
            return report

        decl = self.spec.modules[step.module].actions[step.action]
        env = self.env(step.caller)
        model_args = tuple(self.model_value(a, t) for a, (_, t) in zip(step.args, decl.params, strict=True))
        outcome = self.model.execute(step.module, step.action, env, *model_args, check_rules=self.check_rules)
        # (a signature's bytes are the drawn value's: the model's is abstract)
        abi_args = [self.abi_value(raw if t == ir.SIGNATURE else a, t)
                    for raw, a, (_, t) in zip(step.args, model_args, decl.params, strict=True)]
        receipt = self.transact(step, abi_args)
        if outcome.ok or receipt.success or receipt.halted:
            # a side's state may have changed (a step that reverted on both
            # sides changed nothing a view reads): the views are asked again,
            # the EVM's answers that read what the step wrote among them
            self.state_version += 1
            self.forget_answers(receipt)
            if receipt.success or receipt.halted:
                self.changed_modules(self._evm_scope(step, receipt))
        report = StepReport(step, outcome, receipt)
        report.differences.extend(self.compare_outcome(decl, outcome, receipt))
        if not compare_state:
            self._baseline_valid = False
            self.changed_everything()
        elif self.full_compare or not self._baseline_valid:
            self.changed_everything()
            report.differences.extend(self.compare_state(None))
        else:
            report.differences.extend(self.compare_changes(step, outcome, receipt))
        return report

    def _evm_scope(self, step: Step, receipt: Receipt) -> set[str]:
        """The modules whose contracts a transaction that succeeded may have
        written: those the spec lets the action write, those that logged,
        and those whose storage or account the receipt says it wrote (when
        the backend records it)."""
        module_at = self.module_at
        scope = set(write_set(self.spec, step.module, step.action))
        scope.update(m for m in (module_at.get(int(log.address, 16)) for log in receipt.logs) if m)
        for address, _slot in receipt.storage_writes or ():
            m = module_at.get(int(address, 16))
            if m:
                scope.add(m)
        for address in receipt.account_writes or ():
            m = module_at.get(int(address, 16)) if isinstance(address, str) else None
            if m:
                scope.add(m)
        return scope

    def transact(self, step: Step, abi_args: list[Any]) -> Receipt:
        """Run an action step on the EVM alone (its arguments already in ABI form)."""
        receipt = self._transact(step, abi_args)
        if receipt.success or receipt.halted:
            # any contract's storage may have changed: every module's watched
            # words are to be read again by the next sweep (storage.py)
            self._unread.update(self.spec.modules)
        return receipt

    def _transact(self, step: Step, abi_args: list[Any]) -> Receipt:
        decl = self.spec.modules[step.module].actions[step.action]
        b = self.binding.modules[step.module]
        address, sender = to_checksum(self.addresses[step.module]), to_checksum(step.caller)
        bound = b.actions.get(step.action)
        if bound is None:
            return self.backend.transact(address, b.name(step.action), abi_args, sender=sender)
        named = {n: v for (n, _), v in zip(decl.params, abi_args, strict=True)}
        return run_calls(self.backend, bound, sender=sender, self_address=address, args=named, resolve=self.resolve)
