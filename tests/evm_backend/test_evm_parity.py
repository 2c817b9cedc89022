"""The two EVMs must agree step by step, so either can back the conformance suite."""

from __future__ import annotations

import random
from typing import Any

from evm_backend import BACKEND_NAMES, CompiledContract, Receipt, get_backend


def _observe(receipt: Receipt) -> tuple[Any, ...]:
    return (
        receipt.success,
        receipt.return_value,
        receipt.revert_reason,
        receipt.revert_data,
        receipt.halted,
        [(log.address, log.event, log.args) for log in receipt.logs],
        receipt.gas_used,
        receipt.contract_address,
    )


def _run(name: str, artifact: CompiledContract, seed: int) -> list[Any]:
    rng = random.Random(seed)
    backend = get_backend(name)
    users = backend.create_accounts(3)
    trace: list[Any] = []
    deploy = backend.execute(users[0], None, artifact.bytecode + (5).to_bytes(32, "big"))
    trace.append(_observe(deploy))
    address = deploy.contract_address
    assert address is not None
    contract = backend.contract(address, artifact.abi)
    snapshots: list[int] = []
    for _ in range(60):
        sender = rng.choice(users)
        step = rng.randrange(8)
        if step == 0:
            amount = rng.choice([0, 1, 13, 2**255, 2**256 - 1, rng.randrange(1000)])
            trace.append(_observe(contract.transact("bump", amount, sender=sender)))
        elif step == 1:
            backend.set_timestamp(backend.timestamp + rng.randrange(1, 10_000))
            trace.append(_observe(contract.transact("stamp", sender=sender)))
        elif step == 2:
            trace.append(_observe(contract.transact("note", "x" * rng.randrange(33), sender=sender)))
        elif step == 3:
            snapshots.append(backend.snapshot())
        elif step == 4 and snapshots:
            index = rng.randrange(len(snapshots))
            backend.revert(snapshots[index])  # also uses up every later snapshot
            del snapshots[index:]
            trace.append("reverted")
        elif step == 5:
            value = rng.randrange(100)
            trace.append(_observe(contract.transact("deposit", sender=sender, value=value)))
        elif step == 6:
            backend.set_balance(rng.choice(users).address, rng.randrange(10**20))
        else:
            trace.append(_observe(contract.transact("tick", sender=sender, gas=50_000)))
        trace.append(
            (
                backend.timestamp,
                [backend.get_storage(address, slot) for slot in range(4)],
                [backend.get_balance(user.address) for user in users],
                [backend.get_nonce(user.address) for user in users],
                backend.get_balance(address),
            )
        )
    return trace


def test_backends_agree_step_by_step(counter_artifact: CompiledContract) -> None:
    for seed in range(4):
        traces = [_run(name, counter_artifact, seed) for name in BACKEND_NAMES]
        for step, (reference, other) in enumerate(zip(*traces, strict=True)):
            assert reference == other, f"seed {seed}, step {step}"
