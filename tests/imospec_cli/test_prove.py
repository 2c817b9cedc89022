"""``imospec prove``: exit codes, JSON records, no tracebacks for user errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from imospec_cli.main import main as imospec
from imospec_cli.prove import register
from tests.verification.conftest import SPECS


def main(argv: list[str]) -> int:
    """``imospec prove ARGV`` in-process."""
    return imospec(["prove", *argv])


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--jobs", "1", "--no-cache"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_all_proved_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(SPECS / "reserve_ok"))
    assert code == 0
    assert "reserve.floor_guarantee" in out and "proved" in out
    assert "0 refuted, 0 unknown" in out


def test_refuted_exits_1_and_prints_the_counterexample(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(SPECS / "vault_nocheck"))
    assert code == 1
    assert "refuted: vault.collateralized after vault.mint" in out
    assert "violated at" in out and "reachable from deployment in 1 step(s)" in out
    assert "reference model: confirmed" in out


def test_unknown_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(SPECS / "pool_ok"), "--invariant", "k_never_decreases", "--rlimit", "1",
                        "--no-vacuity")
    assert code == 2
    assert "unknown (rlimit)" in out
    # each unknown query is named with the command that retries it with a larger budget
    retry = f"imospec prove {SPECS / 'pool_ok'} --invariant pool.k_never_decreases --rlimit 4 --no-vacuity"
    assert "2 unknown queries; retry with a larger budget:" in out
    assert f"pool.k_never_decreases × pool.swap_a_for_b (rlimit): {retry}" in out


def test_json_has_one_record_per_query(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    code, _, _ = _run(capsys, str(SPECS / "reserve_topup"), "--json", str(target), "--module", "reserve")
    assert code == 1
    data = json.loads(target.read_text())
    assert data["exit_code"] == 1
    keys = {"module", "invariant", "action", "outcome", "time", "counterexample", "lemmas_used"}
    for rec in data["records"]:
        assert keys <= set(rec)
    bad = [r for r in data["records"] if r["outcome"] == "refuted"]
    assert len(bad) == 1
    assert bad[0]["invariant"] == "floor_guarantee" and bad[0]["action"] == "reserve.top_up"
    assert bad[0]["bmc"]["status"] == "reachable"
    assert bad[0]["counterexample"]["clause"]["at"].endswith("reserve.imo:42:28")


@pytest.mark.parametrize(("argv", "message"), [
    (["--module", "nope"], "no module `nope`"),
    (["--invariant", "floor_guarante"], "did you mean `floor_guarantee`"),
])
def test_selection_errors_are_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, _, err = _run(capsys, str(SPECS / "reserve_ok"), *argv)
    assert code == 64
    assert message in err


def test_spec_with_errors_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "broken.imo"
    bad.write_text("module broken\n\nstate x: uint256\n\ninvariant i: x >= y\n")
    code, _, err = _run(capsys, str(bad))
    assert code == 1
    assert "E010" in err and "imospec check" in err


def test_missing_path_is_a_setup_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(capsys, str(tmp_path / "nowhere"))
    assert code == 64
    assert "E003" in err


def test_bad_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([str(SPECS / "reserve_ok"), "--timeout", "-3"])
    assert exc.value.code == 64
    assert "Traceback" not in capsys.readouterr().err


def test_register_wires_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="imospec")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["prove", str(SPECS / "tiers_ok"), "--jobs", "1", "--no-cache", "--depth", "2"])
    assert args.depth == 2
    assert args.func(args) == 0
    assert "member.tier_backed" in capsys.readouterr().out


def test_an_unknown_shows_its_evidence(capsys: pytest.CaptureFixture[str]) -> None:
    """The table and the retry lines say whether a CTI was found, how far the search went, what budget ran out."""
    code, out, _ = _run(capsys, str(SPECS / "pool_ok"), "--invariant", "k_never_decreases", "--rlimit", "1000")
    assert code == 2
    assert "unknown (rlimit) (no CTI)" in out
    assert ("evidence: no counterexample to induction (CTI) found, so no search from deployment was run; "
            "the rlimit of 1,000 spent in") in out


def test_a_vacuity_check_that_ran_out_is_unknown_not_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(SPECS / "pool_ok"), "--rlimit", "1000")
    assert code == 2
    assert "vacuity check(s) unknown (not passed): pool.reserves_fit" in out
    assert "ok (vacuity)" not in out + err


def test_progress_is_silent_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, str(SPECS / "reserve_ok"))
    assert code == 0
    assert err == ""  # no [n/N] lines in a pipe or a CI log


def test_json_help_says_what_is_written() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["prove"]
    text = " ".join(sub.format_help().split())
    assert "one JSON document" in text and "one record per query under \"records\"" in text
    assert "gets the whole S, so a query may run several times S" in text  # how --timeout is spent
