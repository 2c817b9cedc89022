"""`imospec mutate` on Solidity sources: the Vyper kinds in Solidity's syntax
(conformance/solidity_mutants.py), and mutants of the tiny Solidity fixture
run through campaigns."""

from __future__ import annotations

from pathlib import Path

from conformance.binding import load_binding, load_implementation
from conformance.mutate import Mutant, mutations, run_mutants, targets
from conformance.solidity_mutants import code_lines

ROOT = Path(__file__).resolve().parents[2]
TINY_SOL = Path(__file__).resolve().parent / "fixtures" / "tiny" / "sol"
MERCHANT = ROOT / "evm_backend" / "contracts" / "solidity"


def _mutated(path: Path, kind: str, line: int | None = None) -> set[str]:
    return {m.mutated.strip() for m in mutations(path.stem.lower(), path)
            if m.kind == kind and (line is None or m.line == line)}


def test_only_function_bodies_and_constants_are_mutated(tmp_path: Path) -> None:
    source = tmp_path / "C.sol"
    source.write_text(
        "// SPDX-License-Identifier: MIT\n"
        "pragma solidity 0.8.28;\n"
        "interface I { function f(uint256 a) external returns (uint256); }\n"
        "/// a comment with 1 + 2\n"
        "contract C {\n"
        "    uint256 private constant WAD = 1e18;\n"
        "    uint256 public immutable cap = 10;\n"
        "    event E(address who, uint256 a, uint256 b);\n"
        "    function g(uint256 a,\n"
        "               uint256 b) external returns (uint256) {\n"
        '        require(a > 0, "A > 1");  // a > 0 here\n'
        "        emit E(msg.sender, a, b);\n"
        "        return a * b / WAD + (a % b == 0 ? 0 : 1);\n"
        "    }\n"
        "}\n")
    assert [no for no, _, _ in code_lines(source.read_text())] == [11, 12, 13]
    lines = {m.line for m in mutations("c", source)}
    assert lines == {6, 11, 12, 13}  # the constant, and the body: never the header, comment or immutable
    assert _mutated(source, "const", 6) == {f"uint256 private constant WAD = {v};" for v in
                                            ("2e18", "0e18", "1e19", "1e17")}
    assert _mutated(source, "assert") == {"{}  // a > 0 here"}
    # never inside the string or the comment
    assert all('"A > 1"' in m and "// a > 0 here" in m for m in _mutated(source, "op", 11))
    assert 'require(a >= 0, "A > 1");  // a > 0 here' in _mutated(source, "op", 11)
    assert _mutated(source, "event") == {"emit E(msg.sender, b, a);"}  # the address never swaps with a number
    assert _mutated(source, "op", 13) == {"return a / b / WAD + (a % b == 0 ? 0 : 1);",
                                          "return a * b * WAD + (a % b == 0 ? 0 : 1);",
                                          "return a * b / WAD - (a % b == 0 ? 0 : 1);",
                                          "return a * b / WAD + (a % b != 0 ? 0 : 1);"}
    assert "return a * b / WAD;" in _mutated(source, "round", 13)  # the round-up dropped


def test_the_merchant_contracts_mutate_in_every_kind() -> None:
    binding = load_binding(MERCHANT / "binding.json")
    files = [path.name for _, path in targets(binding)]
    # ERC20.sol, imported by three modules, once (under the first that imports it)
    assert files.count("ERC20.sol") == 1 and len(files) == 10
    kinds = {m.kind for module, path in targets(binding) for m in mutations(module, path)}
    assert kinds == {"op", "const", "assert", "round", "args", "event"}
    farm = MERCHANT / "Farm.sol"
    assert "uint256 private constant TIER_HOLD = 2 days;" in _mutated(farm, "const")
    assert "if (amount >= 10001e18) level++;" in _mutated(farm, "const")
    member = MERCHANT / "Member.sol"
    multi = [m for m in mutations("member", member) if m.kind == "assert" and "NOT_APPROVED" not in m.original
             and m.original.strip().startswith("require(msg.sender == holder || getApproved")]
    assert [m.mutated.strip()[:11] for m in multi] == ["if (false) "]  # a require over two lines, disabled
    assert not any("address(1)" in m.mutated for m in mutations("member", member))


def test_solidity_mutants_are_killed_or_stillborn(tmp_path: Path) -> None:
    binding, spec = load_implementation(TINY_SOL / "binding.json")
    vault = binding.modules["vault"].solidity
    assert vault is not None
    wanted = {
        ("op", "uint256 paid = q / floorPrice / WAD;"),
        ("event", "emit TopUp(msg.sender, added, amount);"),
        ("assert", "{}"),
    }
    chosen = [m for m in mutations("vault", vault) if (m.kind, m.mutated.strip()) in wanted
              and (m.kind != "assert" or "ZERO_AMOUNT" in m.original)]
    assert len(chosen) == 3
    report = run_mutants(spec, TINY_SOL / "binding.json", chosen, examples=60, steps=20, seed=1)
    assert sorted(m.kind for m in report.killed) == ["assert", "event", "op"], report.survived
    # a mutant that does not compile is stillborn, not killed (its campaign would fail at deployment)
    line = next(m for m in mutations("vault", vault) if "added = amount * WAD / floorPrice;" in m.original)
    broken = Mutant("vault", vault, line.line, "op", line.original, line.original.replace("floorPrice", "floorPrize"))
    report = run_mutants(spec, TINY_SOL / "binding.json", [broken], examples=4, steps=5, seed=1)
    assert report.stillborn == [broken] and not report.killed
