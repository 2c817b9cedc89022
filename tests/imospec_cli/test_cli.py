"""The `imospec` command line: help, exit codes, `errors`, `model --emit`, `check`.

Most tests call ``imospec_cli.main.main`` in-process; a few run the installed
``imospec`` script to cover the entry point and real exit statuses.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imospec_cli.main import EXIT_FAIL, EXIT_OK, EXIT_USAGE, main
from spec.diagnostics import CATALOGUE, catalogue_markdown

REPO = Path(__file__).resolve().parents[2]
MINI = Path("tests", "spec", "fixtures", "mini")


def _script() -> list[str]:
    exe = Path(sys.executable).with_name("imospec")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("imospec")
    return [found] if found else [sys.executable, "-m", "imospec_cli.main"]


def run_script(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_script(), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100"})


def run(*args: str, cwd: Path = REPO) -> tuple[int, str, str]:
    """main(args) in-process; a SystemExit (argparse) becomes its exit code."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return code, out.getvalue(), err.getvalue()


def assert_no_traceback(text: str) -> None:
    assert "Traceback (most recent call last)" not in text
    assert "internal error" not in text


# ------------------------------------------------------------------- help


def test_top_level_help_via_script() -> None:
    proc = run_script("--help")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("usage: imospec")
    for command in ("check", "model", "errors"):
        assert command in out
    assert "docs/language.md" in out
    assert "64 usage or setup error" in " ".join(out.split())
    assert_no_traceback(proc.stderr)


@pytest.mark.parametrize(("command", "phrases"), [
    ("check", ["usage: imospec check", "PATH", "--quiet", "docs/errors.md", "Exit 0 only when clean"]),
    ("model", ["usage: imospec model", "PATH", "--emit", "--list", "reference model", "runtime"]),
    ("errors", ["usage: imospec errors", "catalogue"]),
])
def test_subcommand_help_explains(command: str, phrases: list[str]) -> None:
    code, out, err = run(command, "--help")
    assert code == 0
    flat = " ".join(out.split())
    for phrase in phrases:
        assert phrase in flat, f"`imospec {command} --help` does not mention {phrase!r}:\n{out}"
    assert err == ""


def test_no_subcommand_is_a_usage_error_with_help() -> None:
    code, _, err = run()
    assert code == EXIT_USAGE == 64
    assert err.startswith("usage: imospec")
    assert "no command given" in err


def test_no_subcommand_via_script_exits_64() -> None:
    proc = run_script()
    assert proc.returncode == 64
    assert "usage: imospec" in proc.stdout + proc.stderr
    assert_no_traceback(proc.stderr)


def test_unknown_subcommand_is_a_usage_error() -> None:
    code, _, err = run("chekc")
    assert code == EXIT_USAGE
    assert "invalid choice" in err
    assert_no_traceback(err)


# ------------------------------------------------------------------ errors


def test_errors_prints_the_catalogue() -> None:
    code, out, err = run("errors")
    assert code == EXIT_OK
    assert err == ""
    assert out == catalogue_markdown()
    for c in CATALOGUE:
        assert f"| {c} |" in out


def test_errors_md_is_up_to_date() -> None:
    assert (REPO / "docs" / "errors.md").read_text(encoding="utf-8") == catalogue_markdown()


# ------------------------------------------------------------------- model


def test_model_emit_prints_python_that_compiles() -> None:
    code, out, err = run("model", "--emit", "vault", str(MINI))
    assert code == EXIT_OK, err
    assert out.strip(), "no source printed"
    compile(out, "vault_model.py", "exec")
    assert "vault" in out


def test_model_emit_runtime_compiles() -> None:
    code, out, err = run("model", "--emit", "runtime", str(MINI))
    assert code == EXIT_OK, err
    compile(out, "runtime.py", "exec")


def test_model_emit_each_module_compiles() -> None:
    code, out, _ = run("model", "--list", str(MINI))
    assert code == EXIT_OK
    for name in out.split():
        code, src, err = run("model", "--emit", name, str(MINI))
        assert code == EXIT_OK, err
        compile(src, f"{name}_model.py", "exec")


def test_model_emit_all_prints_every_module() -> None:
    """`--emit all` prints the modules one after the other (each one a file of its own)."""
    code, out, err = run("model", "--emit", "all", str(MINI))
    assert code == EXIT_OK, err
    for name in ("cash", "lock", "vault"):
        assert f"Reference model of module `{name}`" in out


def test_model_list_names_the_modules() -> None:
    code, out, _ = run("model", "--list", str(MINI))
    assert code == EXIT_OK
    assert set(out.split()) == {"cash", "lock", "vault"}  # the abstract `token` is no deployed module


def test_model_emit_unknown_module_is_a_usage_error_with_hint() -> None:
    code, out, err = run("model", "--emit", "vaul", str(MINI))
    assert code == EXIT_USAGE
    assert out == ""
    assert "no module `vaul`" in err
    assert "did you mean `vault`?" in err
    assert_no_traceback(err)


def test_model_emit_unknown_module_via_script() -> None:
    proc = run_script("model", "--emit", "nosuchmodule", str(MINI))
    assert proc.returncode == 64
    assert "no module `nosuchmodule`" in proc.stderr
    assert_no_traceback(proc.stderr)


def test_model_of_a_bad_spec_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.imo").write_text("module bad\nstate x uint256\n")
    code, out, err = run("model", "--emit", "bad", "bad.imo", cwd=tmp_path)
    assert code == EXIT_FAIL
    assert out == ""
    assert "error[E001]" in err
    assert "imospec check" in err
    assert_no_traceback(err)


# ------------------------------------------------------------------- check


def test_check_missing_path_is_a_setup_error_with_E003() -> None:
    code, out, err = run("check", "no/such/dir")
    assert code == EXIT_USAGE
    assert "error[E003]" in out
    assert "no/such/dir" in out
    assert_no_traceback(out + err)


def test_check_missing_path_via_script() -> None:
    proc = run_script("check", "definitely-missing.imo")
    assert proc.returncode == 64
    assert "error[E003]" in proc.stdout
    assert "definitely-missing.imo" in proc.stdout
    assert_no_traceback(proc.stdout + proc.stderr)


def test_check_mini_is_ok() -> None:
    code, out, err = run("check", str(MINI))
    assert code == EXIT_OK
    assert err == ""
    assert out.splitlines()[-1] == "ok: 3 module(s), 12 action(s), 4 rule(s), 1 warning(s)"


def test_check_quiet_prints_only_diagnostics() -> None:
    code, out, _ = run("check", "--quiet", str(MINI))
    assert code == EXIT_OK
    assert "warning[W001]" in out
    assert "ok:" not in out


def test_check_a_single_file(tmp_path: Path) -> None:
    (tmp_path / "one.imo").write_text("// One module.\nmodule one\nstate s: uint256\n")
    code, out, _ = run("check", "one.imo", cwd=tmp_path)
    assert code == EXIT_OK
    assert out.strip() == "ok: 1 module(s), 0 action(s), 0 rule(s), 0 warning(s)"


def test_check_bad_spec_exits_1_with_summary(tmp_path: Path) -> None:
    (tmp_path / "bad.imo").write_text("module bad\nstate s: bool\naction a() {\n    s = 1\n}\n")
    code, out, err = run("check", "bad.imo", cwd=tmp_path)
    assert code == EXIT_FAIL
    assert err == ""
    assert out.startswith("bad.imo:4:9: error[E020]: ")
    assert out.splitlines()[-1] == "1 error(s), 0 warning(s) in 1 file(s)"


def test_check_binary_file_is_E003_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "bin.imo").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff")
    code, out, err = run("check", "bin.imo", cwd=tmp_path)
    assert code == EXIT_FAIL  # a spec file that is not text: the spec is wrong
    assert "error[E003]" in out
    assert_no_traceback(out + err)


def test_no_color_flag_is_accepted() -> None:
    code, _, _ = run("--no-color", "check", "--quiet", str(MINI))
    assert code == EXIT_OK


# ------------------------------------------------------- a broken install


def test_a_missing_dependency_is_a_clear_error_not_a_vanished_command(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    """Without Z3 the `prove` command is still offered, and running it says what is missing (exit 3)."""
    for name in [m for m in sys.modules if m == "verification" or m.startswith("verification.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "z3", None)  # `import z3` now raises ImportError
    code, out, _ = run("--help")
    assert code == 0 and "prove" in out
    code, out, err = run("prove", str(REPO / MINI), cwd=tmp_path)
    assert code == 3
    assert "`imospec prove` needs the Python package `z3`" in err and "pip install" in err
    assert "Traceback" not in out + err
