"""The one place that fixes the EVM rules every part of the backend runs under.

The Vyper compiler, the py-evm backend and the pyrevm backend all read
:data:`EVM_VERSION`; change it here and nowhere else.

Why Cancun and not Prague: pyrevm 0.3.7 is built on revm 8.0.0 (April 2024).
Its ``SpecId`` enum has a ``PRAGUE`` entry, but that entry predates the final
Prague specification and implements none of its EIPs (no EIP-2537 BLS
precompiles, no EIP-7702, no EIP-2935, no EIP-7623 calldata floor).  Worse,
revm maps any spec name it does not know to ``LATEST`` without complaint.
Running py-evm's real ``PragueVM`` against that would compare two different
rule sets, so both backends and the compiler target Cancun, which both EVMs
implement completely.  Vyper 0.4.3 generates the same code for contracts that
use no Prague feature.
"""

from __future__ import annotations

from typing import Final

#: The hard fork for compilation and execution ("cancun" or "prague").
EVM_VERSION: Final = "cancun"

#: Value returned by the CHAINID opcode unless a backend is built with another.
DEFAULT_CHAIN_ID: Final = 1

#: Gas limit of the simulated block (GASLIMIT opcode) and the default gas of a call.
BLOCK_GAS_LIMIT: Final = 30_000_000

#: ``block.timestamp`` of a fresh backend (2023-11-14T22:13:20Z).
GENESIS_TIMESTAMP: Final = 1_700_000_000

#: ``block.number`` of a fresh backend.
GENESIS_BLOCK_NUMBER: Final = 1

#: Hard forks this backend knows how to run, oldest first.
SUPPORTED_EVM_VERSIONS: Final = ("cancun", "prague")

if EVM_VERSION not in SUPPORTED_EVM_VERSIONS:  # pragma: no cover - edit-time guard
    raise RuntimeError(f"unsupported EVM_VERSION {EVM_VERSION!r}")
