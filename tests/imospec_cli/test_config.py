"""The config file (imospec.toml, or [tool.imospec] in pyproject.toml): it sets
the commands' defaults, flags override it, and its mistakes are located
file:line:col with exit 64."""

from __future__ import annotations

from pathlib import Path

import pytest

from imospec_cli.config import ConfigError, apply, find_config, load_config
from imospec_cli.main import build_parser
from tests.imospec_cli.test_cli import run
from tests.verification.conftest import SPECS

POOL = str(SPECS / "pool_ok")
QUERY = ["--invariant", "k_never_decreases", "--no-vacuity", "--jobs", "1", "--no-cache"]


def parse(config_path: Path, *argv: str) -> object:
    parser = build_parser()
    apply(load_config(config_path), parser)
    return parser.parse_args(list(argv))


def test_the_config_sets_the_budget_and_a_flag_overrides_it(tmp_path: Path) -> None:
    (tmp_path / "imospec.toml").write_text("[prove]\nrlimit = 1\n")
    code, out, _ = run("prove", POOL, *QUERY, cwd=tmp_path)
    assert code == 2 and "unknown (rlimit)" in out  # the file's rlimit of 1 decided
    code, out, _ = run("prove", POOL, *QUERY, "--rlimit", "40000000", cwd=tmp_path)
    assert code == 0, out  # the flag won


def test_pyproject_table_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.imospec]\nrlimit = 1\n')
    (tmp_path / "sub").mkdir()
    assert find_config(tmp_path / "sub") == tmp_path / "pyproject.toml"
    code, out, _ = run("prove", POOL, *QUERY, cwd=tmp_path / "sub")
    assert code == 2 and "unknown (rlimit)" in out


def test_a_pyproject_without_the_table_is_no_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(tmp_path) is None


def test_common_keys_reach_every_command_and_a_commands_table_wins(tmp_path: Path) -> None:
    cfg = tmp_path / "imospec.toml"
    cfg.write_text('binding = "impl/b.json"\nseed = 7\nexamples = 3\n\n[conform]\nseed = 9\nbackend = "pyrevm"\n'
                   '\n[verify]\nbackend = ["pyrevm"]\n')
    args = parse(cfg, "conform")
    assert (args.seed, args.examples, args.backend) == (9, 3, "pyrevm")  # type: ignore[attr-defined]
    assert args.impl == (tmp_path / "impl" / "b.json").resolve()  # type: ignore[attr-defined]  # relative to the file
    args = parse(cfg, "mutate")
    assert (args.seed, args.examples) == (7, 3)  # type: ignore[attr-defined]
    args = parse(cfg, "verify")
    assert args.backends == ["pyrevm"] and args.seed == 7  # type: ignore[attr-defined]
    args = parse(cfg, "conform", "--seed", "1", "--examples", "5")
    assert (args.seed, args.examples) == (1, 5)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("text", "place", "phrase"), [
    ("[prove]\nrlimit = \n", ":2:", "not TOML"),
    ("seed = 1\n\n[prove]\nrlimitt = 5\n", ":4:1", "`imospec prove` has no option `rlimitt`"),
    ("[conform]\nexamples = 0\n", ":2:1", "must be at least 1"),
    ("[conform]\nbackend = \"geth\"\n", ":2:1", "is not one of py-evm, pyrevm"),
    ("nosuch = 3\n", ":1:1", "no command has an option `nosuch`"),
    ("[prove]\nno-cache = 3\n", ":2:1", "is a flag"),
    ("\n[proof]\nrlimit = 3\n", ":2:1", "no command `proof`"),
])
def test_mistakes_are_located_and_exit_64(tmp_path: Path, text: str, place: str, phrase: str) -> None:
    cfg = tmp_path / "imospec.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as caught:
        apply(load_config(cfg), build_parser())
    assert str(caught.value).startswith(f"{cfg}{place}"), str(caught.value)
    assert phrase in str(caught.value)
    code, out, err = run("check", "--quiet", str(SPECS / "reserve_ok"), cwd=tmp_path)
    assert code == 64 and f"{cfg}{place}" in err and "Traceback" not in out + err


def test_config_flag_names_a_file(tmp_path: Path) -> None:
    other = tmp_path / "ci.toml"
    other.write_text("[prove]\nrlimit = 1\n")
    code, out, _ = run("--config", str(other), "prove", POOL, *QUERY, cwd=tmp_path)
    assert code == 2 and "unknown (rlimit)" in out
    code, out, err = run("--config", str(tmp_path / "missing.toml"), "check", cwd=tmp_path)
    assert code == 64 and "missing.toml" in err and "hint:" in err


def test_an_impl_on_the_command_line_replaces_the_configs_for_mutate(tmp_path: Path) -> None:
    cfg = tmp_path / "imospec.toml"
    cfg.write_text('binding = "impl/b.json"\n')
    assert parse(cfg, "mutate").impl == [(tmp_path / "impl" / "b.json").resolve()]  # type: ignore[attr-defined]
    args = parse(cfg, "mutate", "--impl", "x.json", "--impl", "y.json")
    assert args.impl == [Path("x.json"), Path("y.json")]  # type: ignore[attr-defined]
