"""Compile Vyper contracts with the pinned compiler, caching artifacts on disk.

Every compilation targets :data:`evm_backend.fork.EVM_VERSION`.  Artifacts
are JSON files under ``.imospec-cache/vyper/`` named by the sha256 of
everything that can change the output: the source, the Vyper version, the EVM
version, the compiler settings, the contract's name, where the file sits among
the import search paths, and the path (relative to its search path) and
contents of every ``.vy``/``.vyi`` file in them. The key names no directory:
a copy of a set of contracts elsewhere (a mutant's copy of an implementation,
a test's) reuses their artifacts, each read back naming the copy's path as
its ``source_path``; an edit to any file of the copy is a new key.

A rejected contract raises :class:`~evm_backend.errors.CompileError` carrying
file, line, column and the compiler's message; no Vyper traceback escapes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from evm_backend.errors import CompileError, CompilerVersionError, MalformedArtifact
from evm_backend.fork import EVM_VERSION

if TYPE_CHECKING:
    from evm_backend.storage import StorageLayout

#: The only Vyper release the project compiles with.
PINNED_VYPER_VERSION: Final = "0.4.3"

#: Where artifacts go unless the caller says otherwise (relative to the cwd).
DEFAULT_CACHE_DIR: Final = Path(".imospec-cache") / "vyper"

#: Environment variable that overrides :data:`DEFAULT_CACHE_DIR`.
CACHE_DIR_ENV: Final = "IMOSPEC_VYPER_CACHE"

_OUTPUT_FORMATS: Final = ("bytecode", "bytecode_runtime", "abi", "layout", "method_identifiers")
# Bump when the artifact JSON changes shape, so stale files are not read.
_ARTIFACT_FORMAT: Final = 1

_invocations = 0


@dataclass(frozen=True)
class CompileSettings:
    """Compiler settings that take part in the cache key.

    Attributes:
        optimize: ``"gas"``, ``"codesize"`` or ``"none"``.
        experimental_codegen: use Vyper's Venom pipeline.
        enable_decimals: allow the ``decimal`` type.
    """

    optimize: str = "gas"
    experimental_codegen: bool = False
    enable_decimals: bool = False


@dataclass(frozen=True)
class CompiledContract:
    """The compiler output the rest of the project needs.

    Attributes:
        name: contract name (the file stem for files).
        abi: the JSON ABI.
        bytecode: init code (constructor arguments are appended at deploy).
        bytecode_runtime: the code stored on chain.
        layout: Vyper's ``layout`` output; ``layout["storage_layout"]`` maps
            each storage variable to ``{"type", "slot", "n_slots"}`` (module
            variables nest one level per imported module).
        method_identifiers: ``{"f(uint256)": "0x..."}``.
        vyper_version: compiler that produced it.
        evm_version: target hard fork.
        settings: the :class:`CompileSettings` used, as a dict.
        source_path: the file compiled, if any.
        cache_key: sha256 naming the cached artifact.
    """

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    bytecode_runtime: bytes
    layout: dict[str, Any]
    method_identifiers: dict[str, str]
    vyper_version: str
    evm_version: str
    settings: dict[str, Any]
    source_path: str | None = None
    cache_key: str = field(default="", compare=False)

    @property
    def storage_layout(self) -> dict[str, Any]:
        """The storage part of :attr:`layout` (empty if the contract has no storage)."""
        return dict(self.layout.get("storage_layout", {}))

    @functools.cached_property
    def storage(self) -> StorageLayout | None:
        """Where each storage variable lives, read from whichever compiler's
        layout this artifact carries (None when it carries none).

        Raises:
            LayoutError: the layout is malformed.
        """
        from evm_backend.layout import vyper_layout
        from evm_backend.solidity_layout import is_solidity_layout, solidity_layout

        if is_solidity_layout(self.layout):
            return solidity_layout(self.layout)
        if "storage_layout" in self.layout:
            return vyper_layout(self.layout)
        return None

    def storage_entry(self, name: str) -> dict[str, Any]:
        """Return the layout entry of storage variable ``name``.

        A variable of an imported module is named ``"module.variable"``.

        Raises:
            KeyError: no such storage variable.
        """
        node: Any = self.storage_layout
        for part in name.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"{self.name} has no storage variable {name!r}")
            node = node[part]
        if not isinstance(node, dict) or "slot" not in node:
            raise KeyError(f"{name!r} in {self.name} is a module, not a storage variable")
        return node

    def storage_slot(self, name: str) -> int:
        """Return the first slot of storage variable ``name``.

        Raises:
            KeyError: no such storage variable.
        """
        return int(self.storage_entry(name)["slot"])

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (bytes as ``0x`` hex)."""
        data = asdict(self)
        data["bytecode"] = "0x" + self.bytecode.hex()
        data["bytecode_runtime"] = "0x" + self.bytecode_runtime.hex()
        data["format"] = _ARTIFACT_FORMAT
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompiledContract:
        """Rebuild an artifact from :meth:`to_json` output.

        Raises:
            ValueError: the data has another format or is malformed.
        """
        if data.get("format") != _ARTIFACT_FORMAT:
            raise MalformedArtifact(f"artifact format {data.get('format')!r} != {_ARTIFACT_FORMAT}")
        try:
            return cls(
                name=str(data["name"]),
                abi=list(data["abi"]),
                bytecode=_hex_bytes(data["bytecode"]),
                bytecode_runtime=_hex_bytes(data["bytecode_runtime"]),
                layout=dict(data["layout"]),
                method_identifiers=dict(data["method_identifiers"]),
                vyper_version=str(data["vyper_version"]),
                evm_version=str(data["evm_version"]),
                settings=dict(data["settings"]),
                source_path=data.get("source_path"),
                cache_key=str(data.get("cache_key", "")),
            )
        except (KeyError, TypeError) as exc:
            raise MalformedArtifact(f"malformed artifact: {exc}") from None


def _hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def compiler_invocations() -> int:
    """How many times this process has actually run the Vyper compiler."""
    return _invocations


def installed_vyper_version() -> str:
    """Return the version of the importable ``vyper`` package (without build tag).

    Raises:
        CompilerVersionError: Vyper is not installed.
    """
    try:
        import vyper
    except ImportError:
        raise CompilerVersionError(f"Vyper is not installed; install vyper=={PINNED_VYPER_VERSION}") from None
    return str(vyper.__version__).split("+")[0]


def check_vyper_version() -> str:
    """Return the installed Vyper version if it is the pinned one.

    Raises:
        CompilerVersionError: another version (or none) is installed.
    """
    version = installed_vyper_version()
    if version != PINNED_VYPER_VERSION:
        raise CompilerVersionError(
            f"Vyper {version} is installed but imospec pins {PINNED_VYPER_VERSION}; "
            f"run: pip install vyper=={PINNED_VYPER_VERSION}"
        )
    return version


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return ``cache_dir``, else ``$IMOSPEC_VYPER_CACHE``, else :data:`DEFAULT_CACHE_DIR`."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env) if env else DEFAULT_CACHE_DIR


def compile_file(
    path: str | os.PathLike[str],
    *,
    settings: CompileSettings | None = None,
    search_paths: Sequence[str | os.PathLike[str]] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> CompiledContract:
    """Compile the Vyper file at ``path``; its stem names the contract.

    ``search_paths`` (default: the file's directory) is where imports resolve.

    Raises:
        CompileError: Vyper rejected the contract.
        CompilerVersionError: the installed Vyper is not the pinned version.
        OSError: the file cannot be read.
    """
    file_path = Path(path)
    source = file_path.read_text(encoding="utf-8")
    paths = [file_path.parent] if search_paths is None else [Path(p) for p in search_paths]
    return compile_source(
        source,
        name=file_path.stem,
        path=str(file_path),
        settings=settings,
        search_paths=paths,
        cache_dir=cache_dir,
        use_cache=use_cache,
    )


def compile_source(
    source: str,
    *,
    name: str = "Contract",
    path: str | None = None,
    settings: CompileSettings | None = None,
    search_paths: Sequence[str | os.PathLike[str]] = (),
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    runtime: bool = True,
) -> CompiledContract:
    """Compile Vyper ``source``, reusing a cached artifact when the key matches.

    ``path`` is only used in diagnostics; ``search_paths`` resolve imports.
    ``runtime=False`` leaves ``bytecode_runtime`` empty (the deployment
    bytecode is the same; Vyper assembles the runtime code a second time
    for it, a sixth of a compilation): for code that is only deployed.

    Raises:
        CompileError: Vyper rejected the contract.
        CompilerVersionError: the installed Vyper is not the pinned version.
    """
    version = check_vyper_version()
    chosen = settings or CompileSettings()
    roots = [Path(p) for p in search_paths]
    key = cache_key(source, name=name, path=path, settings=chosen, search_paths=roots, vyper_version=version)
    if not runtime:
        key = hashlib.sha256(f"{key}:without-runtime".encode()).hexdigest()
    directory = resolve_cache_dir(cache_dir)
    artifact_file = directory / f"{key}.json"
    if use_cache:
        cached = _read_artifact(artifact_file)
        if cached is not None:  # (maybe compiled from a copy elsewhere: named by this path)
            return cached if cached.source_path == path else replace(cached, source_path=path)
    artifact = _run_vyper(source, name=name, path=path, settings=chosen, search_paths=roots, version=version, key=key,
                          runtime=runtime)
    if use_cache:
        _write_artifact(artifact_file, artifact)
    return artifact


def cache_key(
    source: str,
    *,
    name: str,
    path: str | None,
    settings: CompileSettings,
    search_paths: Iterable[Path],
    vyper_version: str,
) -> str:
    """Return the sha256 that names the artifact of this compilation: of its
    content and of the files it can import, each named by its path relative to
    its search path (never the directory they are in, which changes no output)."""
    roots = [Path(p) for p in search_paths]
    imports = _IMPORTS.search(source) is not None  # (without an import statement no other file is read)
    dependencies = {
        where: hashlib.sha256(file.read_bytes()).hexdigest()
        for root_no, root in enumerate(roots) for where, file in _importable_files(root, root_no)
    } if imports else {}
    material = {
        "artifact_format": _ARTIFACT_FORMAT,
        "source": source,
        "name": name,
        "path": _place(path, roots) if imports else None,
        "vyper_version": vyper_version,
        "evm_version": EVM_VERSION,
        "settings": asdict(settings),
        "dependencies": dependencies,
    }
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# an import statement (`import a`, `from a import b`, `from . import c`): Vyper reads
# other files of the search paths only through one
_IMPORTS: Final = re.compile(r"^\s*(?:import|from)\s", re.MULTILINE)

_SKIPPED_DIRS: Final = frozenset({"__pycache__", "node_modules", "site-packages", "build"})


def _importable_files(root: Path, root_no: int) -> list[tuple[str, Path]]:
    """Every ``.vy``/``.vyi`` file under search path number ``root_no``
    (hidden and tool dirs skipped), each named ``"NO:relative/path"``."""
    files: list[tuple[str, Path]] = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in _SKIPPED_DIRS]
        for n in names:
            if n.endswith((".vy", ".vyi")):
                file = Path(directory) / n
                files.append((f"{root_no}:{file.relative_to(root).as_posix()}", file))
    return sorted(files)


def _place(path: str | None, roots: Sequence[Path]) -> str | None:
    """Where the compiled file sits, for the cache key: ``"NO:relative/path"``
    under the first search path holding it (what its relative imports
    resolve from), else the path as given."""
    if path is None:
        return None
    resolved = Path(path).resolve()
    for root_no, root in enumerate(roots):
        try:
            return f"{root_no}:{resolved.relative_to(root.resolve()).as_posix()}"
        except ValueError:
            continue
    return path


def _read_artifact(file: Path) -> CompiledContract | None:
    try:
        with file.open(encoding="utf-8") as handle:
            return CompiledContract.from_json(json.load(handle))
    except (OSError, ValueError):
        return None


def _write_artifact(file: Path, artifact: CompiledContract) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(artifact.to_json(), handle, indent=1, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _run_vyper(
    source: str,
    *,
    name: str,
    path: str | None,
    settings: CompileSettings,
    search_paths: Sequence[Path],
    version: str,
    key: str,
    runtime: bool = True,
) -> CompiledContract:
    global _invocations
    from vyper.compiler import compile_from_file_input, outputs_from_compiler_data
    from vyper.compiler.input_bundle import FileInput, FilesystemInputBundle
    from vyper.compiler.settings import OptimizationLevel, Settings
    from vyper.exceptions import VyperException, VyperInternalException

    display = path or f"{name}.vy"
    try:
        optimize = OptimizationLevel.from_string(settings.optimize)
    except ValueError as exc:
        raise MalformedArtifact(f"bad CompileSettings.optimize: {exc}") from None
    vyper_settings = Settings(
        optimize=optimize,
        evm_version=EVM_VERSION,
        experimental_codegen=settings.experimental_codegen,
        enable_decimals=settings.enable_decimals,
    )
    main_file = Path(display).resolve() if path else Path(display)
    file_input = FileInput(contents=source, source_id=0, path=Path(display), resolved_path=main_file)
    bundle = FilesystemInputBundle(list(search_paths))
    _invocations += 1
    try:
        if runtime:
            out = compile_from_file_input(file_input, input_bundle=bundle, settings=vyper_settings,
                                          output_formats=list(_OUTPUT_FORMATS))
        elif settings.experimental_codegen:  # (Venom reads both trees)
            out = compile_from_file_input(file_input, input_bundle=bundle, settings=vyper_settings,
                                          output_formats=[f for f in _OUTPUT_FORMATS if f != "bytecode_runtime"])
        else:
            out = outputs_from_compiler_data(_deploy_only_data(file_input, bundle, vyper_settings),
                                             [f for f in _OUTPUT_FORMATS if f != "bytecode_runtime"])
    except (VyperException, VyperInternalException) as exc:
        raise _compile_error(exc, display, main_file) from None
    return CompiledContract(
        name=name,
        abi=json.loads(json.dumps(out["abi"])),
        bytecode=_hex_bytes(out["bytecode"]),
        bytecode_runtime=_hex_bytes(out["bytecode_runtime"]) if runtime else b"",
        layout=json.loads(json.dumps(out["layout"])),
        method_identifiers=dict(out["method_identifiers"]),
        vyper_version=version,
        evm_version=EVM_VERSION,
        settings=asdict(settings),
        source_path=path,
        cache_key=key,
    )


def _deploy_only_data(file_input: Any, bundle: Any, settings: Any) -> Any:
    """Vyper's ``CompilerData`` for a compilation that asks for the deployment
    bytecode and no runtime bytecode.

    Vyper's legacy pipeline makes two IR trees, the deployment code's (which
    holds the runtime code's as a subtree) and the runtime code's alone, and
    runs its IR optimizer over each: the second pass, on the runtime tree, is
    about a fifth of a compilation and only the ``bytecode_runtime`` output reads
    it. Here the runtime tree is left as generated (the ABI output still
    reads its metadata); the deployment tree is made and optimized exactly
    as Vyper does, so the deployment bytecode is the same bytes
    (``tests/evm_backend/test_evm_compiler.py`` compares them). The optimizer builds new
    nodes and never changes the ones it is given, so skipping the second
    pass cannot change the first's result.
    """
    from functools import cached_property

    import vyper.codegen.core as codegen
    from vyper.codegen import module
    from vyper.compiler.phases import CompilerData
    from vyper.compiler.settings import anchor_settings, should_run_legacy_optimizer
    from vyper.ir import optimizer
    from vyper.ir.compile_ir import reset_symbols

    class DeployOnly(CompilerData):
        @cached_property
        def _ir_output(self) -> tuple[Any, Any]:
            codegen.reset_names()
            reset_symbols()
            with anchor_settings(self.settings):
                deploy, runtime = module.generate_ir_for_module(self.global_ctx)
            if should_run_legacy_optimizer(self.settings):
                deploy = optimizer.optimize(deploy)
            return deploy, runtime

    return DeployOnly(file_input, bundle, settings=settings)


def _compile_error(exc: Any, display: str, main_file: Path) -> CompileError:
    """Build a :class:`CompileError` from a Vyper exception.

    The error points into the imported module when that is where Vyper
    located it, else into ``display``.
    """
    line: int | None = getattr(exc, "lineno", None)
    column: int | None = getattr(exc, "col_offset", None)
    file = display
    for annotation in getattr(exc, "annotations", None) or ():
        node = annotation[1] if isinstance(annotation, tuple) else annotation
        if getattr(node, "lineno", None) is None:
            continue
        line, column = node.lineno, getattr(node, "col_offset", None)
        module = getattr(node, "module_node", None)
        resolved = getattr(module, "resolved_path", None) if module is not None else None
        if resolved not in (None, "<unknown>") and Path(str(resolved)) != main_file:
            file = str(resolved)
        break
    raw_message = getattr(exc, "message", None) or (exc.args[0] if exc.args else exc)
    message = str(raw_message)
    hint = getattr(exc, "hint", None)
    try:
        annotated = str(exc)
    except Exception:  # vyper's own rendering can fail on odd nodes
        annotated = message
    return CompileError(
        file=file,
        line=int(line) if line is not None else None,
        column=int(column) + 1 if column is not None else None,
        message=message,
        kind=type(exc).__name__,
        hint=str(hint) if hint else None,
        annotated=annotated,
    )
