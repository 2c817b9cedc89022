"""Raw EVM call rate of py-evm and pyrevm, measured in the same run.

Usage::

    .venv/bin/python benchmarks/evm_raw_rate.py [--calls N]

Both backends deploy the same trivial Vyper contract and run the same
pre-encoded calldata through :meth:`Backend.execute` (no ABI encoding in the
loop): a read-only ``get()`` and a state-changing ``set(v)``.  The script
prints calls per second for each backend and the ratio pyrevm / py-evm.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evm_backend import BACKEND_NAMES, Receipt, compile_source, get_backend

TRIVIAL = """# pragma version 0.4.3
value: uint256

@external
def set(v: uint256):
    self.value = v

@view
@external
def get() -> uint256:
    return self.value
"""


def _rate(run: Callable[[], Receipt], calls: int) -> float:
    for _ in range(min(200, calls)):  # warm caches before timing
        run()
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return calls / (time.perf_counter() - start)


def measure(name: str, calls: int) -> dict[str, float]:
    """Return ``{"call": rate, "transact": rate}`` in calls per second for backend ``name``."""
    artifact = compile_source(TRIVIAL, name="Trivial")
    backend = get_backend(name)
    (sender,) = backend.create_accounts(1)
    contract = backend.deploy_contract(artifact, sender=sender)
    get_data = contract.abi.function("get").encode_call(())
    set_data = contract.abi.function("set").encode_call((7,))
    assert backend.execute(sender, contract.address, set_data).success
    return {
        "call": _rate(lambda: backend.execute(sender, contract.address, get_data, persist=False), calls),
        "transact": _rate(lambda: backend.execute(sender, contract.address, set_data), calls),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5_000, help="timed calls per measurement")
    args = parser.parse_args(argv)
    results = {name: measure(name, args.calls) for name in BACKEND_NAMES}
    print(f"raw calls/s ({args.calls} calls each, same contract, same calldata)")
    print(f"{'path':<10}" + "".join(f"{name:>12}" for name in BACKEND_NAMES) + f"{'ratio':>14}")
    for path in ("call", "transact"):
        rates = [results[name][path] for name in BACKEND_NAMES]
        ratio = results["pyrevm"][path] / results["py-evm"][path]
        cells = "".join(f"{rate:>12,.0f}" for rate in rates)
        print(f"{path:<10}{cells}{ratio:>13.1f}x")
    print("ratio = pyrevm / py-evm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
