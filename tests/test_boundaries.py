"""The package boundaries of ARCHITECTURE.md, enforced.

- import-linter contracts (pyproject.toml): spec imports no other imospec
  package; reference imports neither z3 nor py-evm; only verification imports z3.
- One module of evm_backend imports py-evm (`eth`), one imports pyrevm.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency: pip install -e '.[test]'"
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_only_one_module_imports_each_evm() -> None:
    for package, forbidden in (("eth", "py-evm"), ("pyrevm", "pyrevm")):
        users = [
            p.relative_to(ROOT).as_posix()
            for top in ("spec", "reference", "evm_backend", "verification", "conformance", "imospec_cli")
            for p in (ROOT / top).rglob("*.py")
            if package in _imports(p)
        ]
        assert len(users) <= 1, f"{forbidden} is imported by {users}; only one module may import it"
        for u in users:
            assert u.startswith("evm_backend/"), f"{forbidden} imported outside evm_backend: {u}"


def test_z3_only_in_verification() -> None:
    for top in ("spec", "reference", "evm_backend", "conformance", "imospec_cli"):
        for p in (ROOT / top).rglob("*.py"):
            assert "z3" not in _imports(p), f"{p} imports z3"
