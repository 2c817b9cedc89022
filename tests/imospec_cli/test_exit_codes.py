"""The one exit-code table: each row, for every kind of input that belongs to
it, and the table in every command's ``--help`` and in README.md.

0 holds; 1 wrong; 2 inconclusive; 3 internal error; 64 a usage or setup error
(nothing checked). Every usage error says what is wrong and gives a hint; none
prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from imospec_cli import main as main_module
from imospec_cli.exits import EXIT_FAIL, EXIT_INTERNAL, EXIT_OK, EXIT_TABLE, EXIT_UNKNOWN, EXIT_USAGE
from imospec_cli.main import build_parser
from tests.imospec_cli.test_cli import MINI, REPO, run
from tests.verification.conftest import SPECS

TINY_IMPL = REPO / "tests" / "conformance" / "fixtures" / "tiny" / "impl"


def assert_usage_error(code: int, out: str, err: str, *phrases: str) -> None:
    assert code == EXIT_USAGE, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    text = out + err
    assert "error" in text and "hint:" in text, text
    assert "Traceback" not in text and "internal error" not in err.replace("internal error of imospec", "")
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in:\n{text}"


def tiny_copy(tmp_path: Path) -> Path:
    """A copy of the tiny implementation (contracts and binding), its spec named by an absolute path."""
    impl = tmp_path / "impl"
    shutil.copytree(TINY_IMPL, impl)
    data = json.loads((impl / "binding.json").read_text())
    data["spec"] = str((TINY_IMPL / data.get("spec", ".")).resolve())
    (impl / "binding.json").write_text(json.dumps(data))
    return impl / "binding.json"


# --------------------------------------------------------------- 0, 1, 2, 3


def test_row_0_holds() -> None:
    code, out, err = run("check", str(MINI))
    assert code == EXIT_OK == 0, err
    code, out, err = run("prove", str(SPECS / "reserve_ok"), "--jobs", "1", "--no-cache")
    assert code == EXIT_OK, out + err


def test_row_1_wrong() -> None:
    code, out, _ = run("prove", str(SPECS / "vault_nocheck"), "--jobs", "1", "--no-cache")
    assert code == EXIT_FAIL == 1
    assert "refuted" in out


def test_row_1_wrong_for_a_spec_with_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.imo").write_text("module bad\nstate x: uint256\ninvariant i: x >= y\n")
    for command in ("check", "prove", "model"):
        code, out, err = run(command, *(["--emit", "bad"] if command == "model" else []), "bad.imo", cwd=tmp_path)
        assert code == EXIT_FAIL, f"{command}: {code}\n{out}{err}"
        assert "E010" in out + err


def test_row_2_inconclusive() -> None:
    code, out, _ = run("prove", str(SPECS / "pool_ok"), "--invariant", "k_never_decreases", "--rlimit", "1",
                       "--no-vacuity", "--jobs", "1", "--no-cache")
    assert code == EXIT_UNKNOWN == 2
    assert "unknown (rlimit)" in out


# A campaign too small to make every action of the tiny implementation succeed.
SMALL_CAMPAIGN = ("--backend", "pyrevm", "--examples", "2", "--steps", "3", "--seed", "0", "--workers", "1")


def tiny_with_own_spec(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the tiny implementation with its own copy of the spec (binding, spec directory)."""
    shutil.copytree(TINY_IMPL.parent / "spec", tmp_path / "spec")
    shutil.copytree(TINY_IMPL, tmp_path / "impl")
    return tmp_path / "impl" / "binding.json", tmp_path / "spec"


def never_succeeded_in(binding: Path, tmp_path: Path, *extra: str) -> tuple[int, str, list[str]]:
    """Exit code, stdout and the actions never succeeded of a small campaign of ``binding``."""
    report = tmp_path / "conform.json"
    code, out, err = run("conform", "--impl", str(binding), *SMALL_CAMPAIGN, "--json", str(report), *extra,
                         cwd=tmp_path)
    assert "Traceback" not in out + err, out + err
    return code, out, json.loads(report.read_text())["never_succeeded"]


def test_row_2_a_campaign_that_leaves_an_action_never_succeeding(tmp_path: Path) -> None:
    """No divergence, but a public action never succeeded: its success path was
    never compared, so the campaign is inconclusive, with a warning naming each."""
    code, out, never = never_succeeded_in(tiny_copy(tmp_path), tmp_path)
    assert never, "the test needs a campaign that leaves an action never succeeding"
    assert code == EXIT_UNKNOWN, out
    warning = next(ln for ln in out.splitlines() if ln.startswith("warning: "))
    assert f"{len(never)} action(s) never succeeded" in warning and all(a in warning for a in never)
    assert "inconclusive (exit 2)" in warning and "--allow-never-succeeded" in warning
    # an action no call reached counts too (vault.set_price is the owner's)
    ran = {ln.split()[0] for ln in out.splitlines() if ln.startswith("  ") and " ok " in ln}
    assert set(never) - ran, (never, ran)


def test_row_2_opt_out_by_flag_or_config(tmp_path: Path) -> None:
    """--allow-never-succeeded, or allow_never_succeeded = true in imospec.toml, keeps exit 0 (and the warning)."""
    binding = tiny_copy(tmp_path)
    code, out, never = never_succeeded_in(binding, tmp_path, "--allow-never-succeeded")
    assert never and code == EXIT_OK, out
    assert "allowed by --allow-never-succeeded" in out
    (tmp_path / "imospec.toml").write_text("[conform]\nallow_never_succeeded = true\n")
    code, out, never = never_succeeded_in(binding, tmp_path)
    assert never and code == EXIT_OK, out
    (tmp_path / "imospec.toml").write_text("allow_never_succeeded = false\n")
    assert never_succeeded_in(binding, tmp_path)[0] == EXIT_UNKNOWN


def test_row_2_not_for_an_action_the_spec_says_cannot_succeed(tmp_path: Path) -> None:
    """An action whose comment in the spec says no run can make it succeed
    (``uncovered: succeeds: <why>``) is a note, not a gap; a claim that a
    campaign contradicts is wrong (exit 1)."""
    binding, spec = tiny_with_own_spec(tmp_path)
    _, out, never = never_succeeded_in(binding, tmp_path)
    assert never
    succeeded = sorted({ln.split()[0] for ln in out.splitlines() if ln.startswith("  ") and " ok " in ln
                        and int(ln.split()[1]) > 0})
    assert succeeded, out

    def claim(actions: list[str]) -> None:
        for action in actions:
            module, name = action.split(".")
            path = next(p for p in spec.glob("*.imo") if f"action {name}(" in p.read_text()
                        and (p.stem == module or f"module {module} extends" in (spec / f"{module}.imo").read_text()))
            text = path.read_text()
            text = text.replace(f"\naction {name}(", f"\n// uncovered: succeeds: the test says so\naction {name}(", 1)
            path.write_text(text)

    claim(never)
    code, out, left = never_succeeded_in(binding, tmp_path)
    assert code == EXIT_OK and left == [], out
    assert all(f"note: {a} never succeeded, as the spec says: the test says so" in out for a in never), out
    claim(succeeded[:1])
    code, out, _ = never_succeeded_in(binding, tmp_path)
    assert code == EXIT_FAIL, out
    assert f"the spec says no run can make {succeeded[0]} succeed" in out


def test_row_3_internal_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A bug of imospec (here: a command that raises) is exit 3, a one-line message, the traceback in the log."""
    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setitem(main_module.COMMANDS, "errors", broken)
    code, out, err = run("errors", cwd=tmp_path)
    assert code == EXIT_INTERNAL == 3
    assert "internal error: RuntimeError: a bug" in err and "Traceback" not in out + err
    assert "RuntimeError" in (tmp_path / ".imospec-cache" / "crash.log").read_text()


# --------------------------------------------------------------- 64: arguments


@pytest.mark.parametrize(("argv", "phrase"), [
    (["conform", "--examples", "0"], "--examples: must be at least 1"),
    (["conform", "--examples", "-1"], "--examples: must not be negative"),
    (["conform", "--steps", "0"], "--steps: must be at least 1"),
    (["conform", "--workers", "0"], "--workers: must be at least 1"),
    (["conform", "--examples", "many"], "not a whole number"),
    (["conform", "--backend", "geth"], "invalid choice"),
    (["conform", "--json", "/no/such/dir/out.json"], "the directory /no/such/dir does not exist"),
    (["mutate", "--examples", "-1", "--max-mutants", "1"], "--examples: must not be negative"),
    (["mutate", "--max-mutants", "0"], "--max-mutants: must be at least 1"),
    (["mutate", "--steps", "0"], "--steps: must be at least 1"),
    (["verify", "--examples", "0"], "--examples: must be at least 1"),
    (["verify", "--steps", "-2"], "--steps: must not be negative"),
    (["prove", "--rlimit", "0"], "--rlimit: must be at least 1"),
    (["prove", "--timeout", "-3"], "--timeout: must be a positive number"),
    (["prove", "--depth", "-1"], "--depth: must not be negative"),
    (["prove", "--json", "/no/such/dir/out.json"], "does not exist"),
    (["chekc"], "invalid choice"),
    ([], "no command given"),
])
def test_row_64_bad_arguments(argv: list[str], phrase: str) -> None:
    code, out, err = run(*argv)
    assert_usage_error(code, out, err, phrase)


# --------------------------------------------------------------- 64: inputs


def test_row_64_missing_spec_path(tmp_path: Path) -> None:
    for command in ("check", "prove"):
        code, out, err = run(command, str(tmp_path / "nowhere"))
        assert_usage_error(code, out, err, "E003", "nowhere")


def test_row_64_no_imo_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for command in ("check", "prove"):
        code, out, err = run(command, str(tmp_path / "empty"))
        assert_usage_error(code, out, err, "E006", "no `.imo` file")


def test_row_64_unknown_module_or_invariant() -> None:
    code, out, err = run("prove", str(SPECS / "reserve_ok"), "--module", "nosuch", "--jobs", "1")
    assert_usage_error(code, out, err, "no module `nosuch`")
    assert "== covers" not in out, "a usage error checks nothing more (no cover search)"
    code, out, err = run("model", "--emit", "vaul", str(MINI))
    assert_usage_error(code, out, err, "did you mean `vault`?")


def test_row_64_missing_binding(tmp_path: Path) -> None:
    code, out, err = run("conform", "--impl", str(tmp_path / "binding.json"))
    assert_usage_error(code, out, err, "cannot read binding", str(tmp_path / "binding.json"), "docs/conformance.md")


def test_row_64_missing_binding_of_mutate(tmp_path: Path) -> None:
    """`mutate` takes --impl repeatedly; a missing second binding, or two with --spec, is a usage error."""
    first, second = str(tmp_path / "a.json"), str(tmp_path / "b.json")
    code, out, err = run("mutate", "--spec", "--impl", first)  # (--spec's own exit code for it is 1)
    assert code != 0 and f"cannot read binding {first}" in err and "Traceback" not in out + err
    code, out, err = run("mutate", "--spec", "--impl", first, "--impl", second)
    assert_usage_error(code, out, err, "--impl given more than once")
    code, out, err = run("mutate", "--impl", str(tiny_copy(tmp_path)), "--impl", second)
    assert_usage_error(code, out, err, "cannot read binding", second)


def test_row_64_malformed_binding(tmp_path: Path) -> None:
    (tmp_path / "binding.json").write_text('{"modules": {"vault": {"vyper": "v.vy"},}}')
    code, _out, err = run("conform", "--impl", str(tmp_path / "binding.json"))
    assert code == EXIT_USAGE
    assert f"{tmp_path / 'binding.json'}:1:" in err and "not JSON" in err


def test_row_64_binding_whose_contract_is_missing(tmp_path: Path) -> None:
    """The error names the file it looked for, and says paths are relative to the binding."""
    binding = tiny_copy(tmp_path)
    (binding.parent / "vault.vy").unlink()
    code, out, err = run("conform", "--impl", str(binding), "--examples", "1", "--steps", "1", "--workers", "1")
    assert_usage_error(code, out, err, "module `vault`: `vyper` names 'vault.vy'", str(binding.parent / "vault.vy"),
                       f"relative to the binding's own directory ({binding.parent})")


def test_row_64_copied_binding_whose_spec_is_not_there(tmp_path: Path) -> None:
    shutil.copy(TINY_IMPL / "binding.json", tmp_path / "binding.json")
    code, out, err = run("conform", "--impl", str(tmp_path / "binding.json"))
    assert_usage_error(code, out, err, "`spec` names", "when you copy a binding")


def test_row_64_vyper_syntax_error_in_a_bindings_contract(tmp_path: Path) -> None:
    binding = tiny_copy(tmp_path)
    vault = binding.parent / "vault.vy"
    vault.write_text(vault.read_text().replace("amount * WAD // floor_price", "amount * WAD // // floor_price", 1))
    code, out, err = run("conform", "--impl", str(binding), "--backend", "pyrevm", "--examples", "1",
                         "--steps", "1", "--workers", "1")
    assert code == EXIT_USAGE, out + err
    assert "vault.vy" in err and "Traceback" not in out + err


def test_row_64_replay_of_a_missing_fixture(tmp_path: Path) -> None:
    code, _out, err = run("replay", str(tmp_path / "trace.json"))
    assert code == EXIT_USAGE and "trace.json" in err and "Traceback" not in err


# --------------------------------------------------------------- the table


def test_every_commands_help_ends_with_the_exit_code_table() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"check", "prove", "conform", "mutate", "replay", "verify", "model", "errors"} <= set(sub.choices)
    for name in [None, *sub.choices]:
        code, out, _ = run(*([name] if name else []), "--help")
        assert code == 0
        assert out.rstrip().endswith(EXIT_TABLE.rstrip()), f"`imospec {name or ''} --help` lacks the table"


def test_readme_has_the_exit_code_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert EXIT_TABLE in readme
