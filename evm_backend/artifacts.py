"""Read contracts someone else built: Foundry's ``out/``, Hardhat's ``artifacts/``, or a plain JSON.

Nothing is compiled here. A build directory is searched for the contract's
artifact file:

- Foundry: ``out/<Source>.sol/<Contract>.json`` with ``abi``,
  ``bytecode.object``, ``deployedBytecode.object``, ``methodIdentifiers`` and,
  when ``extra_output = ["storageLayout"]`` is set, ``storageLayout``;
- Hardhat: ``artifacts/<path>/<Source>.sol/<Contract>.json`` with ``abi``,
  ``bytecode`` and ``deployedBytecode`` as hex strings; the storage layout,
  when ``outputSelection`` asks for it, is in the build info that the
  ``<Contract>.dbg.json`` next to it names
  (``output.contracts[sourceName][contractName].storageLayout``);
- a plain file: ``abi``, ``bytecode`` and optionally ``layout`` (Vyper's or
  solc's) or ``storageLayout``; or an imospec artifact (``format``).

Without a storage layout the conformance harness reads state through getters.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evm_backend.compiler import CompiledContract
from evm_backend.errors import EvmBackendError


class ArtifactError(EvmBackendError):
    """An artifact is missing, unreadable, or not in a known shape."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ArtifactError(f"cannot read artifact {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None


def _hex(value: Any, path: Path, what: str) -> bytes:
    if isinstance(value, Mapping):  # Foundry: {"object": "0x...", "sourceMap": ...}
        value = value.get("object")
    if not isinstance(value, str):
        raise ArtifactError(f"{path}: `{what}` is not hex")
    text = value.removeprefix("0x")
    if "__$" in text:
        raise ArtifactError(f"{path}: `{what}` has unlinked library references; link them first")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ArtifactError(f"{path}: `{what}` is not hex") from None


def load_artifact(path: str | os.PathLike[str], *, name: str | None = None) -> CompiledContract:
    """The contract in the artifact file at ``path`` (any shape the module docstring lists).

    Raises:
        ArtifactError: the file cannot be read or has no ABI and bytecode.
    """
    p = Path(path)
    data = _read_json(p)
    if not isinstance(data, dict):
        raise ArtifactError(f"{p}: an artifact is a JSON object")
    if "format" in data:
        try:
            return CompiledContract.from_json(data)
        except ValueError as exc:
            raise ArtifactError(f"{p}: {exc}") from None
    if "abi" not in data or "bytecode" not in data:
        raise ArtifactError(f"{p}: an artifact needs `abi` and `bytecode`")
    layout = data.get("layout") or data.get("storageLayout") or _hardhat_layout(p, data) or {}
    runtime = data.get("deployedBytecode") or data.get("bytecode_runtime") or ""
    identifiers = data.get("methodIdentifiers") or {}
    return CompiledContract(
        name=str(name or data.get("contractName") or p.stem),
        abi=list(data["abi"]),
        bytecode=_hex(data["bytecode"], p, "bytecode"),
        bytecode_runtime=_hex(runtime, p, "deployedBytecode") if runtime else b"",
        layout=dict(layout),
        method_identifiers={sig: "0x" + h.removeprefix("0x") for sig, h in identifiers.items()},
        vyper_version="",
        evm_version=str(data.get("evm_version", "")),
        settings={},
        source_path=str(data.get("sourceName", "")) or None,
    )


def _hardhat_layout(path: Path, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The storage layout in the Hardhat build info the artifact's ``.dbg.json`` names, if any."""
    if data.get("_format") != "hh-sol-artifact-1":
        return None
    debug = path.with_name(path.stem + ".dbg.json")
    if not debug.is_file():
        return None
    info_name = _read_json(debug).get("buildInfo")
    if not isinstance(info_name, str):
        return None
    info = _read_json((debug.parent / info_name).resolve())
    contract = info.get("output", {}).get("contracts", {}).get(data.get("sourceName"), {}).get(
        data.get("contractName"), {})
    layout = contract.get("storageLayout")
    return dict(layout) if isinstance(layout, Mapping) else None


def find_artifact(build_dir: str | os.PathLike[str], contract: str) -> Path:
    """The artifact file of ``contract`` in a Foundry ``out/`` or Hardhat ``artifacts/`` directory.

    Raises:
        ArtifactError: no such contract, or several sources define one by that name.
    """
    root = Path(build_dir)
    if not root.is_dir():
        raise ArtifactError(f"build directory {root} does not exist (run `forge build` or `npx hardhat compile`)")
    found = sorted(p for p in root.rglob(f"{contract}.json")
                   if p.parent.name.endswith(".sol") and "build-info" not in p.parts)
    if not found:
        raise ArtifactError(f"no artifact for contract {contract!r} under {root}")
    if len(found) > 1:
        shown = ", ".join(str(p.relative_to(root)) for p in found)
        raise ArtifactError(f"contract {contract!r} is defined by several sources under {root}: {shown}; "
                            "name the file with `artifact`")
    return found[0]
