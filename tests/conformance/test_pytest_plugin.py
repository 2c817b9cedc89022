"""The pytest plugin, run as a contract author would: a fresh directory outside
the repository, their own test using `imospec_system`, and
`pytest --imospec-impl BINDING` collecting the campaigns and fixtures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conformance.test_portable_fixtures import _run, _trace

USER_TEST = '''
from conformance.harness import Step


def test_my_top_up_agrees_with_the_model(imospec_system):
    h = imospec_system
    report = h.run(Step("action", "vault", "top_up", h.actors[0], (10**18,)))
    assert report.ok and report.model.ok, report.differences
    assert h.model.state("vault").reserve == 10**18
'''


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900, env=env, check=False)


def test_the_plugin_runs_campaigns_fixtures_and_the_authors_tests_outside_the_repo(
        tiny_binding_path: Path, tiny_mutant: object, tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    code, out, err = _run("fill", str(fixtures), "--impl", str(tiny_binding_path), "--backend", "pyrevm",
                          "--trace", str(_trace(tiny_binding_path, tmp_path)))
    assert code == 0, out + err
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_mine.py").write_text(USER_TEST)
    args = ("--imospec-impl", str(tiny_binding_path), "--imospec-fixtures", str(fixtures),
            "--imospec-examples", "6", "--imospec-steps", "6")
    done = _pytest(project, *args)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "6 passed" in done.stdout, done.stdout[-3000:]
    for name in ("imospec::campaign[py-evm]", "imospec::campaign[pyrevm]", "imospec::fixture[trace-pyrevm]",
                 "test_my_top_up_agrees_with_the_model[py-evm]", "test_my_top_up_agrees_with_the_model[pyrevm]"):
        assert name in done.stdout, (name, done.stdout[-3000:])
    # a broken implementation fails the fixture items, with the diff
    broken = tiny_mutant("vault.vy", "amount * WAD // floor_price", "amount * WAD // floor_price + 1")  # type: ignore[operator]
    done = _pytest(project, "--imospec-impl", str(broken), "--imospec-fixtures", str(fixtures),
                   "--imospec-backend", "pyrevm", "--imospec-examples", "2", "--imospec-steps", "2", "-k", "fixture")
    assert done.returncode == 1, done.stdout[-3000:]
    assert re.search(r"FAILED \S*imospec::fixture\[trace-pyrevm\]", done.stdout), done.stdout[-3000:]
    assert "post-state: vault.capacity" in done.stdout
