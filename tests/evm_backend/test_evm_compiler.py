"""Vyper compilation: pinned version, fork target, disk cache, diagnostics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evm_backend import (
    EVM_VERSION,
    PINNED_VYPER_VERSION,
    CompiledContract,
    CompileError,
    CompilerVersionError,
    CompileSettings,
    compile_file,
    compile_source,
)
from evm_backend import compiler as compiler_module
from evm_backend.compiler import compiler_invocations

SMALL = """# pragma version 0.4.3
value: public(uint256)

@external
def set(v: uint256):
    self.value = v
"""

TYPE_ERROR = """# pragma version 0.4.3
value: public(uint256)

@external
def get() -> uint256:
    return self.missing
"""

SYNTAX_ERROR = """# pragma version 0.4.3

@external
def broken(:
    pass
"""


def test_artifact_contents(counter_artifact: CompiledContract) -> None:
    assert counter_artifact.name == "Counter"
    assert counter_artifact.vyper_version == PINNED_VYPER_VERSION
    assert counter_artifact.evm_version == EVM_VERSION
    assert counter_artifact.bytecode and counter_artifact.bytecode_runtime
    assert {entry["name"] for entry in counter_artifact.abi if entry["type"] == "event"} == {
        "Bumped",
        "Noted",
    }
    assert set(counter_artifact.storage_layout) == {"owner", "counter", "credits", "last_seen"}
    assert counter_artifact.storage_slot("counter") == 1
    assert counter_artifact.storage_entry("credits")["type"] == "HashMap[address, uint256]"
    assert "ticks" in json.dumps(counter_artifact.layout)  # transient layout is kept too
    with pytest.raises(KeyError):
        counter_artifact.storage_slot("nope")
    assert CompiledContract.from_json(counter_artifact.to_json()) == counter_artifact


def test_second_compile_hits_the_cache(tmp_path: Path) -> None:
    before = compiler_invocations()
    first = compile_source(SMALL, name="Small", cache_dir=tmp_path)
    assert compiler_invocations() == before + 1
    (cached_file,) = tmp_path.glob("*.json")
    assert cached_file.stem == first.cache_key
    mtime = cached_file.stat().st_mtime_ns

    second = compile_source(SMALL, name="Small", cache_dir=tmp_path)
    assert compiler_invocations() == before + 1  # vyper did not run again
    assert second == first
    assert cached_file.stat().st_mtime_ns == mtime

    compile_source(SMALL, name="Small", cache_dir=tmp_path, settings=CompileSettings("codesize"))
    assert compiler_invocations() == before + 2  # other settings, other key
    assert len(list(tmp_path.glob("*.json"))) == 2


SCALE_LIB = """# pragma version 0.4.3
@internal
@pure
def scale(x: uint256) -> uint256:
    return x * 2
"""

USES_SCALE = """# pragma version 0.4.3
import scale

@external
@pure
def get(x: uint256) -> uint256:
    return scale.scale(x)
"""


def test_a_copy_elsewhere_reuses_the_artifact_under_its_own_path(tmp_path: Path) -> None:
    # the key names no directory: a copy of a set of contracts (a mutant's, a
    # test's) compiles nothing again, and the artifact read names the copy
    cache = tmp_path / "cache"
    for where in ("a", "b"):
        (tmp_path / where).mkdir()
        (tmp_path / where / "Small.vy").write_text(SMALL)
        (tmp_path / where / "scale.vy").write_text(SCALE_LIB)
        (tmp_path / where / "main.vy").write_text(USES_SCALE)
    before = compiler_invocations()
    first = {name: compile_file(tmp_path / "a" / name, cache_dir=cache) for name in ("Small.vy", "main.vy")}
    assert compiler_invocations() == before + 2
    for name, artifact in first.items():
        copy = compile_file(tmp_path / "b" / name, cache_dir=cache)
        assert copy.source_path == str(tmp_path / "b" / name) and artifact.source_path == str(tmp_path / "a" / name)
        # the same output as a compilation of the copy itself
        assert copy == compile_file(tmp_path / "b" / name, cache_dir=cache, use_cache=False)
    assert compiler_invocations() == before + 4  # (the two use_cache=False compilations)


def test_an_edit_beside_a_contract_misses_the_cache_only_when_the_contract_imports(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (tmp_path / "Small.vy").write_text(SMALL)
    (tmp_path / "scale.vy").write_text(SCALE_LIB)
    (tmp_path / "main.vy").write_text(USES_SCALE)
    small, main = (compile_file(tmp_path / n, cache_dir=cache) for n in ("Small.vy", "main.vy"))
    (tmp_path / "scale.vy").write_text(SCALE_LIB.replace("x * 2", "x * 3"))
    before = compiler_invocations()
    assert compile_file(tmp_path / "Small.vy", cache_dir=cache) == small  # imports nothing: the same key
    assert compiler_invocations() == before
    edited = compile_file(tmp_path / "main.vy", cache_dir=cache)  # its import changed: compiled again
    assert compiler_invocations() == before + 1 and edited.bytecode != main.bytecode
    # and a file elsewhere among the same search path is another key: its relative imports resolve elsewhere
    relative = USES_SCALE.replace("import scale", "from . import scale")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "scale.vy").write_text(SCALE_LIB.replace("x * 2", "x * 5"))
    (tmp_path / "main.vy").write_text(relative)
    (tmp_path / "sub" / "main.vy").write_text(relative)
    top, below = (compile_file(tmp_path / f, search_paths=[tmp_path], cache_dir=cache)
                  for f in ("main.vy", "sub/main.vy"))
    assert top.bytecode != below.bytecode


def test_without_runtime_the_deployment_code_is_the_same_under_its_own_key(tmp_path: Path) -> None:
    full = compile_source(SMALL, name="Small", cache_dir=tmp_path)
    before = compiler_invocations()
    bare = compile_source(SMALL, name="Small", cache_dir=tmp_path, runtime=False)
    assert compiler_invocations() == before + 1  # not the full artifact from the cache
    assert bare.bytecode == full.bytecode and bare.abi == full.abi and bare.layout == full.layout
    assert bare.bytecode_runtime == b"" and full.bytecode_runtime
    # each from the cache under its own key: a later full compilation still has its runtime code
    assert compile_source(SMALL, name="Small", cache_dir=tmp_path) == full
    assert compile_source(SMALL, name="Small", cache_dir=tmp_path, runtime=False) == bare
    assert compiler_invocations() == before + 1


CONTRACTS = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts"


@pytest.mark.parametrize("name", ["vesting", "dmg"])
def test_without_runtime_a_bundled_contract_deploys_the_same_bytes(name: str, tmp_path: Path) -> None:
    """The deployment-only compilation skips Vyper's optimizer pass over the
    runtime tree alone: the deployment code (constructor, immutables,
    internal functions) is the same bytes as a full compilation's."""
    source = (CONTRACTS / f"{name}.vy").read_text(encoding="utf-8")
    path = str(CONTRACTS / f"{name}.vy")
    full = compile_source(source, name=name, path=path, use_cache=False)
    bare = compile_source(source, name=name, path=path, use_cache=False, runtime=False)
    assert bare.bytecode == full.bytecode
    assert (bare.abi, bare.layout, bare.method_identifiers) == (full.abi, full.layout, full.method_identifiers)
    assert bare.bytecode_runtime == b"" and full.bytecode_runtime in full.bytecode


def test_corrupt_cache_entry_is_recompiled(tmp_path: Path) -> None:
    first = compile_source(SMALL, name="Small", cache_dir=tmp_path)
    (tmp_path / f"{first.cache_key}.json").write_text("{not json")
    before = compiler_invocations()
    assert compile_source(SMALL, name="Small", cache_dir=tmp_path) == first
    assert compiler_invocations() == before + 1


def test_type_error_reports_location(tmp_path: Path) -> None:
    with pytest.raises(CompileError) as excinfo:
        compile_source(TYPE_ERROR, name="Bad", path="contracts/Bad.vy", cache_dir=tmp_path)
    error = excinfo.value
    assert (error.file, error.line, error.column) == ("contracts/Bad.vy", 6, 12)
    assert error.kind == "UndeclaredDefinition"
    assert "missing" in error.message
    assert str(error).startswith("contracts/Bad.vy:6:12: UndeclaredDefinition:")
    assert error.__cause__ is None and error.__suppress_context__
    assert list(tmp_path.iterdir()) == []  # failures are not cached


def test_syntax_error_reports_line(tmp_path: Path) -> None:
    with pytest.raises(CompileError) as excinfo:
        compile_source(SYNTAX_ERROR, name="Broken", cache_dir=tmp_path)
    assert excinfo.value.file == "Broken.vy"
    assert excinfo.value.line is not None and excinfo.value.line >= 4
    assert excinfo.value.kind == "SyntaxException"


def test_wrong_vyper_version_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiler_module, "installed_vyper_version", lambda: "0.3.10")
    with pytest.raises(CompilerVersionError, match=r"0\.3\.10.*0\.4\.3"):
        compile_source(SMALL, cache_dir=tmp_path)


LIB = """# pragma version 0.4.3
x: uint256

@internal
def get() -> uint256:
    return self.{name}
"""

MAIN = """# pragma version 0.4.3
import lib
initializes: lib

@external
def f() -> uint256:
    return lib.get()
"""


def test_imports_are_part_of_the_key_and_of_diagnostics(tmp_path: Path) -> None:
    sources, cache = tmp_path / "src", tmp_path / "cache"
    sources.mkdir()
    (sources / "main.vy").write_text(MAIN)
    (sources / "lib.vy").write_text(LIB.format(name="y"))
    with pytest.raises(CompileError) as excinfo:
        compile_file(sources / "main.vy", cache_dir=cache)
    assert (Path(excinfo.value.file).name, excinfo.value.line) == ("lib.vy", 6)

    (sources / "lib.vy").write_text(LIB.format(name="x"))
    first = compile_file(sources / "main.vy", cache_dir=cache)
    assert first.storage_slot("lib.x") == 0
    before = compiler_invocations()
    (sources / "lib.vy").write_text(LIB.format(name="x") + "\n# changed\n")
    compile_file(sources / "main.vy", cache_dir=cache)
    assert compiler_invocations() == before + 1
