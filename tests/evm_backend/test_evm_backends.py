"""Behaviour every EVM backend must show; each test runs on py-evm and on pyrevm."""

from __future__ import annotations

import pytest

from evm_backend import (
    EVM_VERSION,
    AbiError,
    Backend,
    CallReverted,
    CompiledContract,
    Contract,
    DeploymentFailed,
    TestAccount,
    TransactionRejected,
    UnknownAddressAbiError,
    UnknownSnapshotError,
    get_backend,
    hashmap_slot,
)
from evm_backend.batch import BATCH_INIT, BATCH_RUNTIME, encode_batch, split_batch
from evm_backend.errors import EvmBackendError, OutOfRange
from evm_backend.factory import BACKEND_NAMES
from evm_backend.fork import DEFAULT_CHAIN_ID, GENESIS_BLOCK_NUMBER, GENESIS_TIMESTAMP

COUNTER_START = 5
UINT256_MAX = 2**256 - 1


@pytest.fixture
def counter(backend: Backend, accounts: list[TestAccount], counter_artifact: CompiledContract) -> Contract:
    return backend.deploy_contract(counter_artifact, COUNTER_START, sender=accounts[0])


def test_backend_runs_the_pinned_fork(backend: Backend) -> None:
    assert backend.evm_version == EVM_VERSION
    assert backend.name in ("py-evm", "pyrevm")


def test_deploy_and_call(
    backend: Backend, counter: Contract, accounts: list[TestAccount], counter_artifact: CompiledContract
) -> None:
    alice = accounts[0]
    assert counter.call("counter") == COUNTER_START
    assert counter.call("owner") == alice.address
    assert backend.get_code(counter.address) == counter_artifact.bytecode_runtime
    assert backend.get_nonce(alice.address) == 1


def test_deploy_with_raw_bytecode_and_abi(
    backend: Backend, accounts: list[TestAccount], counter_artifact: CompiledContract
) -> None:
    address = backend.deploy(counter_artifact.bytecode, counter_artifact.abi, [7], sender=accounts[1])
    assert address == backend.contract(address).address
    assert backend.call(address, "counter") == 7


def test_transact_changes_state_and_returns_value(
    backend: Backend, counter: Contract, accounts: list[TestAccount]
) -> None:
    bob = accounts[1]
    receipt = counter.transact("bump", 3, sender=bob)
    assert receipt.success
    assert receipt.return_value == COUNTER_START + 3
    assert receipt.revert_reason is None
    assert receipt.gas_used > 21_000
    assert counter.call("counter") == COUNTER_START + 3
    assert counter.call("credits", bob.address) == 3
    # Calls do not bump the sender's nonce; only creations do.
    assert backend.get_nonce(bob.address) == 0


def test_events_are_decoded_with_the_abi(counter: Contract, accounts: list[TestAccount]) -> None:
    bob = accounts[1]
    receipt = counter.transact("bump", 4, sender=bob)
    (log,) = receipt.logs
    assert log.address == counter.address
    assert log.event == "Bumped"
    assert log.args == {"who": bob.address, "amount": 4, "total": COUNTER_START + 4}

    noted = counter.transact("note", "hello", sender=bob)
    assert [(entry.event, entry.args) for entry in noted.logs] == [("Noted", {"key": bob.address, "note": "hello"})]
    assert noted.events("Noted") == list(noted.logs)


def test_revert_reason_is_decoded(counter: Contract, accounts: list[TestAccount]) -> None:
    receipt = counter.transact("bump", 13, sender=accounts[1])
    assert not receipt.success
    assert receipt.revert_reason == "REASON"
    assert not receipt.halted
    assert receipt.logs == ()
    assert receipt.return_value is None
    assert counter.call("counter") == COUNTER_START


def test_overflow_is_a_bare_revert(counter: Contract, accounts: list[TestAccount]) -> None:
    receipt = counter.transact("bump", UINT256_MAX, sender=accounts[1])
    assert not receipt.success
    assert receipt.revert_reason is None
    assert receipt.revert_data == b""
    assert not receipt.halted
    bare = counter.transact("fail_bare", sender=accounts[1])
    assert (bare.success, bare.revert_reason, bare.revert_data) == (False, None, b"")


def test_out_of_gas_is_a_halt(counter: Contract, accounts: list[TestAccount]) -> None:
    receipt = counter.transact("bump", 1, sender=accounts[1], gas=30_000)
    assert not receipt.success
    assert receipt.halted
    assert receipt.revert_reason is None
    assert receipt.gas_used == 30_000


def test_call_raises_on_revert(counter: Contract) -> None:
    with pytest.raises(CallReverted) as excinfo:
        counter.call("bump", 13)
    assert excinfo.value.reason == "REASON"


def test_call_changes_nothing(backend: Backend, counter: Contract) -> None:
    backend.set_timestamp(1_234)
    assert counter.call("stamp") == 1_234
    assert counter.call("last_seen") == 0
    assert counter.call("bump", 1) == COUNTER_START + 1
    assert counter.call("counter") == COUNTER_START


def test_raw_calldata(backend: Backend, counter: Contract, accounts: list[TestAccount]) -> None:
    calldata = counter.abi.function("counter").encode_call(())
    raw = backend.call(counter.address, calldata)
    assert raw == COUNTER_START.to_bytes(32, "big")
    receipt = backend.transact(counter.address, counter.abi.function("bump").encode_call((2,)), sender=accounts[1])
    assert receipt.success and receipt.return_value is None
    assert receipt.logs[0].event == "Bumped"


def test_bound_functions(counter: Contract, accounts: list[TestAccount]) -> None:
    assert counter["bump"].transact(1, sender=accounts[1]).return_value == COUNTER_START + 1
    assert counter["counter"].call() == COUNTER_START + 1
    assert counter.storage_var("counter") == COUNTER_START + 1


def test_snapshot_revert_restores_state(backend: Backend, counter: Contract, accounts: list[TestAccount]) -> None:
    bob = accounts[1]
    outer = backend.snapshot()
    counter.transact("bump", 10, sender=bob)
    backend.set_timestamp(GENESIS_TIMESTAMP + 100)
    backend.set_block_number(GENESIS_BLOCK_NUMBER + 7)
    inner = backend.snapshot()
    counter.transact("bump", 20, sender=bob)
    assert counter.call("counter") == COUNTER_START + 30

    backend.revert(inner)
    assert counter.call("counter") == COUNTER_START + 10
    assert backend.timestamp == GENESIS_TIMESTAMP + 100

    backend.revert(outer)
    assert counter.call("counter") == COUNTER_START
    assert counter.call("credits", bob.address) == 0
    assert backend.timestamp == GENESIS_TIMESTAMP
    assert backend.block_number == GENESIS_BLOCK_NUMBER
    assert counter.call("now") == GENESIS_TIMESTAMP
    with pytest.raises(UnknownSnapshotError):
        backend.revert(inner)


def test_revert_undoes_deployments_and_balances(
    backend: Backend, accounts: list[TestAccount], counter_artifact: CompiledContract
) -> None:
    alice, bob = accounts[0], accounts[1]
    with backend.anchor():
        deployed = backend.deploy_contract(counter_artifact, 1, sender=alice)
        backend.set_balance(bob.address, 5)
        assert backend.get_balance(bob.address) == 5
        deployed.transact("deposit", sender=alice, value=1_000)
        assert backend.get_balance(deployed.address) == 1_000
    assert backend.get_code(deployed.address) == b""
    assert backend.get_nonce(alice.address) == 0
    assert backend.get_balance(bob.address) == 10**24
    assert backend.get_balance(alice.address) == 10**24


def test_timestamp_and_block_number(backend: Backend, counter: Contract) -> None:
    assert counter.call("now") == GENESIS_TIMESTAMP
    backend.set_timestamp(2_000_000_000)
    backend.set_block_number(42)
    assert backend.timestamp == 2_000_000_000
    assert counter.call("now") == 2_000_000_000
    number, chain_id, sender = counter.call("env")
    assert (number, chain_id) == (42, DEFAULT_CHAIN_ID)
    assert sender == "0x0000000000000000000000000000000000000000"
    with pytest.raises(OutOfRange):
        backend.set_timestamp(-1)


def test_chain_id_option(counter_artifact: CompiledContract) -> None:
    for name in ("py-evm", "pyrevm"):
        chain = get_backend(name, chain_id=1337, timestamp=99)
        (alice,) = chain.create_accounts(1)
        contract = chain.deploy_contract(counter_artifact, 0, sender=alice)
        assert contract.call("env", sender=alice)[1:] == (1337, alice.address)
        assert contract.call("now") == 99


def test_get_storage_reads_layout_slots(
    backend: Backend,
    counter: Contract,
    accounts: list[TestAccount],
    counter_artifact: CompiledContract,
) -> None:
    bob = accounts[1]
    counter.transact("bump", 6, sender=bob)
    counter_slot = counter_artifact.storage_slot("counter")
    assert backend.get_storage(counter.address, counter_slot) == COUNTER_START + 6
    owner_word = backend.get_storage(counter.address, counter_artifact.storage_slot("owner"))
    assert owner_word == int(accounts[0].address, 16)
    credits = counter_artifact.storage_slot("credits")
    assert backend.get_storage(counter.address, hashmap_slot(credits, bob.address)) == 6


def test_set_storage_writes_a_word_the_contract_then_reads(
    backend: Backend,
    counter: Contract,
    accounts: list[TestAccount],
    counter_artifact: CompiledContract,
) -> None:
    counter.transact("bump", 1, sender=accounts[1])  # (the account is loaded and warm first)
    backend.set_storage(counter.address, counter_artifact.storage_slot("counter"), 41)
    assert counter.call("counter") == 41
    assert backend.get_storage(counter.address, counter_artifact.storage_slot("counter")) == 41
    counter.transact("bump", 1, sender=accounts[1])
    assert counter.call("counter") == 42
    with pytest.raises(OutOfRange):
        backend.set_storage(counter.address, 2**256, 1)
    with pytest.raises(OutOfRange):
        backend.set_storage(counter.address, 0, -1)


def test_transient_storage_is_cleared_between_transactions(counter: Contract, accounts: list[TestAccount]) -> None:
    for _ in range(3):
        assert counter.transact("tick", sender=accounts[1]).return_value == 1


def test_value_transfers_and_rejections(backend: Backend, counter: Contract, accounts: list[TestAccount]) -> None:
    poor = "0x00000000000000000000000000000000000000aa"
    assert counter.transact("deposit", sender=accounts[1], value=10).return_value == 10
    assert backend.get_balance(counter.address) == 10
    with pytest.raises(TransactionRejected):
        counter.transact("deposit", sender=poor, value=1)
    with pytest.raises(TransactionRejected):
        counter.transact("bump", 1, sender=accounts[1], gas=21_000)
    with pytest.raises(TransactionRejected):
        counter.transact("bump", 1, sender=accounts[1], gas=10**9)
    with pytest.raises(TransactionRejected):  # EIP-3607: contracts cannot send transactions
        counter.transact("bump", 1, sender=counter.address)


def test_failed_deployment(backend: Backend, accounts: list[TestAccount], counter_artifact: CompiledContract) -> None:
    with pytest.raises(DeploymentFailed) as excinfo:
        backend.deploy(b"\x60\x00\x80\xfd", [], sender=accounts[1])  # PUSH1 0 DUP1 REVERT
    assert excinfo.value.reason is None
    assert backend.get_nonce(accounts[1].address) == 1
    with pytest.raises(AbiError):
        backend.deploy_contract(counter_artifact, sender=accounts[1])


def test_abi_errors(backend: Backend, counter: Contract) -> None:
    with pytest.raises(AbiError):
        counter.call("no_such_function")
    with pytest.raises(AbiError):
        counter.call("bump", "not a number")
    with pytest.raises(UnknownAddressAbiError):
        backend.call("0x00000000000000000000000000000000000000bb", "counter")


def test_accounts_are_deterministic(backend: Backend) -> None:
    first = backend.create_accounts(2, balance=7)
    second = get_backend("py-evm").create_accounts(2, balance=7)
    assert [a.address for a in first] == [a.address for a in second]
    assert first[0].signer.address == first[0].address
    assert backend.get_balance(first[1].address) == 7


def test_call_raw_runs_calldata_and_says_what_it_read(
    backend: Backend,
    counter: Contract,
    accounts: list[TestAccount],
    counter_artifact: CompiledContract,
) -> None:
    index = backend.abi_of(counter.address)
    assert index is not None

    def raw(fn: str) -> bytes:
        return index.function(fn, 0).encode_call([])

    clock = backend.call_raw(counter.address, raw("now"))
    assert clock.success and int.from_bytes(clock.output, "big") == backend.timestamp
    failed = backend.call_raw(counter.address, index.function("bump", 1).encode_call([13]))
    assert not failed.success  # a revert is returned, not raised
    assert backend.receipt_of(failed).revert_reason == "REASON"
    if not backend.records_reads:
        assert clock.reads is None and clock.account_writes is None
        return
    assert clock.reads is not None and clock.reads.clock and not clock.reads.storage
    assert counter.address in clock.reads.accounts  # the code it ran
    env = backend.call_raw(counter.address, raw("env"))
    assert env.reads is not None and env.reads.clock  # block.number
    read = backend.call_raw(counter.address, raw("counter"))
    assert read.reads is not None and not read.reads.clock
    assert read.reads.storage == {(counter.address, counter_artifact.storage_slot("counter"))}
    # a transaction says which accounts it changed: none for a plain call, the
    # two ends of a value transfer
    bumped = counter.transact("bump", 1, sender=accounts[1])
    assert bumped.account_writes == frozenset()
    assert (counter.address, counter_artifact.storage_slot("counter")) in (bumped.storage_writes or ())
    paid = counter.transact("deposit", sender=accounts[1], value=10)
    assert {counter.address, accounts[1].address} <= (paid.account_writes or set())
    balance = backend.call_raw(counter.address, raw("deposit"))
    assert balance.reads is not None and counter.address in balance.reads.accounts  # SELFBALANCE


def test_a_read_only_call_answers_as_a_plain_call_and_leaves_the_gas_as_it_was(
    backend: Backend, counter: Contract, accounts: list[TestAccount]
) -> None:
    # call_raw(read_only=True) may run a view as a static call (py-evm does):
    # the slots it warmed are cold again for the next transaction, and it
    # gives the same answer, gas and reads as a plain call
    index = backend.abi_of(counter.address)
    assert index is not None
    calls = [index.function(fn, 0).encode_call([]) for fn in ("now", "env", "counter", "owner")]
    calls.append(index.function("credits", 1).encode_call([accounts[1].address]))  # a slot bump writes
    before = backend.snapshot()
    cold = counter.transact("bump", 1, sender=accounts[1])
    backend.revert(before)
    for data in calls:
        backend.call_raw(counter.address, data, read_only=True)
    warmed = counter.transact("bump", 1, sender=accounts[1])
    assert warmed.gas_used == cold.gas_used
    for data in calls:
        plain = backend.call_raw(counter.address, data)
        static = backend.call_raw(counter.address, data, read_only=True)
        assert plain.success and static.success
        assert (static.output, static.gas_used, static.reads) == (plain.output, plain.gas_used, plain.reads)
    assert counter.call("counter") == COUNTER_START + 1
    # a static call that tries to write halts (in a plain one the write is undone)
    stamp = index.function("stamp", 0).encode_call([])
    assert backend.call_raw(counter.address, stamp).success
    if backend.name == "py-evm":
        assert backend.call_raw(counter.address, stamp, read_only=True).halted


def test_call_views_answers_as_each_call_on_its_own(
    backend: Backend, counter: Contract, accounts: list[TestAccount]
) -> None:
    # call_views gives what call_raw(read_only=True) gives for each call: a
    # value, a revert with its reason, a bare revert; a call that halts in
    # the batch (a write in a static call) is asked again on its own, and the
    # calls after it still answered; and the gas of later transactions is
    # what it was (the batch warmed nothing for them)
    index = backend.abi_of(counter.address)
    assert index is not None
    bob = accounts[1].address
    counter.transact("bump", 3, sender=accounts[1])

    def data(fn: str, *args: object) -> bytes:
        return index.function(fn, len(args)).encode_call(list(args))

    calls = [(counter.address, d) for d in (
        data("now"), data("counter"), data("credits", bob), data("bump", 13), data("fail_bare"),
        data("stamp"), data("owner"), data("credits", accounts[2].address), data("counter"))]
    before = backend.snapshot()
    cold = counter.transact("bump", 1, sender=accounts[2])
    backend.revert(before)
    executions = []
    execute = backend._execute

    def counted(*args: object, **kwargs: object) -> object:
        executions.append(args[1])
        return execute(*args, **kwargs)  # type: ignore[arg-type]

    backend._execute = counted  # type: ignore[method-assign]
    answers = backend.call_views(calls)
    backend._execute = execute  # type: ignore[method-assign]
    alone = [backend.call_raw(address, d, read_only=True) for address, d in calls]
    assert [(a.success, a.output, a.halted) for a in answers] == [(a.success, a.output, a.halted) for a in alone]
    assert [a.success for a in answers] == [True, True, True, False, False, backend.name == "pyrevm", True, True, True]
    assert backend.receipt_of(answers[3]).revert_reason == "REASON"
    assert answers[4].output == b""
    if backend.batches_views:
        # one batch, the halted call on its own, one batch for the rest
        assert len(executions) == 3 and executions[1] == counter.address, executions
    warmed = counter.transact("bump", 1, sender=accounts[2])
    assert warmed.gas_used == cold.gas_used


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_the_batch_contract_runs_alike_on_both_evms(name: str, counter_artifact: CompiledContract) -> None:
    # the batch contract (evm_backend.batch) deployed and called like any
    # contract: its answers split into each call's, the same on both EVMs;
    # in it, msg.sender is the batch contract and tx.origin the caller
    backend = get_backend(name)
    alice = backend.create_accounts(1)[0]
    counter = backend.deploy_contract(counter_artifact, COUNTER_START, sender=alice)
    batch = backend.execute(alice, None, BATCH_INIT).contract_address
    assert batch is not None and backend.get_code(batch) == BATCH_RUNTIME
    index = backend.abi_of(counter.address)
    assert index is not None
    calls = [(counter.address, index.function(fn, len(args)).encode_call(list(args)))
             for fn, args in (("counter", ()), ("bump", (13,)), ("env", ()), ("credits", (alice.address,)))]
    raw = backend.call_raw(batch, encode_batch(calls))
    assert raw.success
    answers = split_batch(raw.output, len(calls))
    assert all(a.exact for a in answers)
    assert [a.success for a in answers] == [True, False, True, True]
    assert int.from_bytes(answers[0].output, "big") == COUNTER_START
    assert answers[1].output == backend.call_raw(counter.address, calls[1][1]).output  # Error("REASON")
    block, chain, sender = index.function("env", 0).decode_output(answers[2].output)
    assert (block, chain, sender) == (backend.block_number, backend.chain_id, batch)
    assert answers[3].output == bytes(32)
    with pytest.raises(EvmBackendError):
        split_batch(raw.output, len(calls) + 1)
