"""Compile Solidity with the pinned solc-js (the npm ``solc`` package), caching artifacts on disk.

The compiler is the npm package ``solc`` at :data:`PINNED_SOLC_VERSION`,
installed by ``npm ci`` in ``evm_backend/solcjs/`` (its ``package.json`` and
``package-lock.json`` pin it); ``$IMOSPEC_SOLCJS`` may name another directory
holding ``node_modules/solc``. It runs under ``node``, on one standard-JSON
input per file, targeting :data:`evm_backend.fork.EVM_VERSION` like the
Vyper compiler, with the storage layout requested. Outputs are cached under
``.imospec-cache/solc/`` by the sha256 of the input, the imported files and
the compiler version.

A rejected contract raises :class:`~evm_backend.errors.CompileError` with
file, line, column and solc's message and rendering.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from evm_backend.compiler import CompiledContract, resolve_cache_dir
from evm_backend.errors import CompileError, CompilerVersionError
from evm_backend.fork import EVM_VERSION

#: The only solc release the project compiles with (npm ``solc``).
PINNED_SOLC_VERSION: Final = "0.8.28"

#: Environment variable naming a directory that holds ``node_modules/solc``.
SOLCJS_ENV: Final = "IMOSPEC_SOLCJS"

#: Where ``npm ci`` installs the pinned compiler.
SOLCJS_DIR: Final = Path(__file__).resolve().parent / "solcjs"

#: The optimizer settings every compilation uses.
OPTIMIZER: Final = {"enabled": True, "runs": 200}

_OUTPUTS: Final = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers",
                   "storageLayout"]
_IMPORT = re.compile(r'^\s*import\s+(?:[^"\']*\bfrom\s+)?["\']([^"\']+)["\']', re.MULTILINE)
_invocations = 0


def compiler_invocations() -> int:
    """How many times this process has actually run solc-js."""
    return _invocations


def solcjs_dir() -> Path:
    """The directory whose ``node_modules/solc`` is used."""
    env = os.environ.get(SOLCJS_ENV)
    return Path(env) if env else SOLCJS_DIR


def check_solc_version() -> str:
    """The installed solc-js version, if it is the pinned one.

    Raises:
        CompilerVersionError: node is missing, solc-js is not installed, or
            it is another version.
    """
    if shutil.which("node") is None:
        raise CompilerVersionError("compiling Solidity needs node (Node.js 18 or later) on the PATH")
    package = solcjs_dir() / "node_modules" / "solc" / "package.json"
    try:
        version = str(json.loads(package.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        raise CompilerVersionError(
            f"solc-js is not installed in {solcjs_dir()}; run: npm ci --prefix {SOLCJS_DIR}") from None
    if version != PINNED_SOLC_VERSION:
        raise CompilerVersionError(f"solc-js {version} is installed but imospec pins {PINNED_SOLC_VERSION}; "
                                   f"run: npm ci --prefix {SOLCJS_DIR}")
    return version


def standard_input(sources: Mapping[str, str]) -> dict[str, Any]:
    """solc's standard-JSON input for ``sources`` (unit name to text) at the pinned settings."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": OPTIMIZER,
            "outputSelection": {"*": {"*": _OUTPUTS}},
        },
    }


def compile_solidity(path: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None,
                     use_cache: bool = True) -> dict[str, CompiledContract]:
    """Compile the Solidity file at ``path`` (imports resolve from its
    directory); every contract it defines or imports, by contract name.

    Raises:
        CompileError: solc rejected the source (the first error).
        CompilerVersionError: node or the pinned solc-js is missing.
        OSError: the file cannot be read.
    """
    file = Path(path)
    sources = {file.name: file.read_text(encoding="utf-8")}
    _add_imports(sources, file.parent)
    output = compile_standard(sources, file.parent, cache_dir=cache_dir, use_cache=use_cache)
    return contracts_from_output(output, PINNED_SOLC_VERSION, source_dir=file.parent)


def compile_standard(sources: Mapping[str, str], base: Path, *, cache_dir: str | os.PathLike[str] | None = None,
                     use_cache: bool = True) -> dict[str, Any]:
    """solc's standard-JSON output for ``sources`` (unit name to text; other
    imports resolve from ``base``), at the pinned settings, from the cache when there.

    Raises:
        CompileError: solc rejected the sources (the first error).
        CompilerVersionError: node or the pinned solc-js is missing.
    """
    version = check_solc_version()
    request = standard_input(sources)
    blob = json.dumps({"input": request, "solc": version, "format": 1}, sort_keys=True, separators=(",", ":"))
    key = hashlib.sha256(blob.encode("utf-8")).hexdigest()
    cache = resolve_cache_dir(cache_dir).parent / "solc" / f"{key}.json"
    if use_cache:
        try:
            return dict(json.loads(cache.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
    output = _run_solcjs(request, base)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise _compile_error(errors[0], sources, base)
    if use_cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(output), encoding="utf-8")
        os.replace(tmp, cache)
    return output


def local_imports(path: str | os.PathLike[str]) -> list[Path]:
    """The files that the Solidity file at ``path`` imports, transitively,
    that exist relative to its directory (not ``path`` itself), in a fixed order.

    Raises:
        OSError: ``path`` cannot be read.
    """
    file = Path(path)
    sources = {file.name: file.read_text(encoding="utf-8")}
    _add_imports(sources, file.parent)
    return [file.parent / unit for unit in sorted(sources) if unit != file.name]


def _add_imports(sources: dict[str, str], base: Path) -> None:
    """Read every file the sources import (relative to ``base``), transitively."""
    pending = list(sources)
    while pending:
        unit = pending.pop()
        for name in _IMPORT.findall(sources[unit]):
            resolved = os.path.normpath(os.path.join(os.path.dirname(unit), name)) if name.startswith(".") else name
            if resolved not in sources and (base / resolved).is_file():
                sources[resolved] = (base / resolved).read_text(encoding="utf-8")
                pending.append(resolved)


def _run_solcjs(request: Mapping[str, Any], base: Path) -> dict[str, Any]:
    global _invocations
    _invocations += 1
    script = SOLCJS_DIR / "compile.js"
    env = dict(os.environ, NODE_PATH=str(solcjs_dir() / "node_modules"))
    done = subprocess.run(["node", str(script), str(base)], input=json.dumps(request), capture_output=True,
                          text=True, env=env, check=False)
    if done.returncode != 0:
        raise CompilerVersionError(f"solc-js failed to run: {done.stderr.strip()[-400:]}")
    result = json.loads(done.stdout)
    if not str(result.get("version", "")).startswith(PINNED_SOLC_VERSION + "+"):
        raise CompilerVersionError(f"solc-js reported {result.get('version')}, not {PINNED_SOLC_VERSION}")
    return dict(result["output"])


def _compile_error(error: Mapping[str, Any], sources: Mapping[str, str], base: Path) -> CompileError:
    where = error.get("sourceLocation") or {}
    unit = str(where.get("file", ""))
    line = column = end_column = None
    if unit in sources and isinstance(where.get("start"), int) and where["start"] >= 0:
        data = sources[unit].encode("utf-8")
        before = data[: where["start"]].decode("utf-8", "replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        end = where.get("end")
        if isinstance(end, int) and end > where["start"]:
            extent = data[where["start"]: end].decode("utf-8", "replace").split("\n")[0]
            end_column = column + len(extent)
    return CompileError(
        file=str(base / unit) if unit else str(base),
        line=line,
        column=column,
        message=str(error.get("message", "")),
        kind=str(error.get("type", "Error")),
        annotated=str(error.get("formattedMessage", "")),
        end_column=end_column,
        source=sources.get(unit),
    )


def contracts_from_output(output: Mapping[str, Any], version: str, *,
                          source_dir: Path | None = None) -> dict[str, CompiledContract]:
    """Every contract of solc's standard-JSON ``output``, by name (abstract
    contracts and interfaces, which have no bytecode, are left out)."""
    out: dict[str, CompiledContract] = {}
    for unit, contracts in output.get("contracts", {}).items():
        for name, c in contracts.items():
            code = c.get("evm", {}).get("bytecode", {}).get("object", "")
            if not code:
                continue
            out[name] = CompiledContract(
                name=name,
                abi=list(c.get("abi", [])),
                bytecode=bytes.fromhex(code),
                bytecode_runtime=bytes.fromhex(c["evm"].get("deployedBytecode", {}).get("object", "")),
                layout=dict(c.get("storageLayout") or {}),
                method_identifiers={sig: "0x" + h for sig, h in c["evm"].get("methodIdentifiers", {}).items()},
                vyper_version="",
                evm_version=EVM_VERSION,
                settings={"compiler": f"solc {version}", "optimizer": OPTIMIZER},
                source_path=str(source_dir / unit) if source_dir is not None else unit,
            )
    return out
