"""The `imospec bind` command: bind a Foundry or Hardhat build to the spec, and say what is unmapped.

Exit codes: 0 every action, variable, event and field of the bound modules
is mapped; 1 something is unmapped, or the build, spec or binding cannot be read.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from imospec_cli.exits import EXIT_FAIL, EXIT_OK

DESCRIPTION = """\
Bind a build to the spec. BUILD is a Foundry out/ or Hardhat artifacts/
directory (built with the storage layout: Foundry's extra_output =
["storageLayout"], Hardhat's outputSelection with "storageLayout").

Without --binding, a binding is drafted: each spec module bound to the
contract of the same name (pool -> Pool, dcep_vault -> DcepVault), and each
spec name the contract has only in camelCase renamed (balance_of ->
balanceOf). With --binding FILE, that binding is checked against BUILD
instead (its own `build` is replaced by BUILD).

Either way, the report lists for every bound spec module where each action
(function, or call sequence), variable (storage slot and offset, or getter),
event and event field lives in the build, and marks what is UNMAPPED;
custom errors are listed with the spec reason the binding's `errors` gives
them. --write FILE saves the binding (drafted or checked, its paths made
relative to FILE) for `imospec conform --impl FILE`. Nothing is compiled or
deployed.
"""

def register(sub: Any) -> None:
    """Add `bind` to the command line's subparsers."""
    p = sub.add_parser("bind", help="bind a Foundry out/ or Hardhat artifacts/ build to the spec; report what is "
                       "unmapped", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build", type=Path, metavar="BUILD", help="a Foundry out/ or Hardhat artifacts/ directory")
    p.add_argument("--binding", type=Path, metavar="FILE",
                   help="check this binding against BUILD instead of drafting one")
    p.add_argument("--spec", type=Path, metavar="DIR",
                   help="the spec to draft a binding for (default: the bundled protocol, spec/protocol)")
    p.add_argument("--write", type=Path, metavar="FILE", help="write the binding to FILE")
    p.set_defaults(func=cmd_bind)


def _rebased(data: dict[str, Any], source: Path, target: Path, build: Path) -> dict[str, Any]:
    """A binding's data with its paths (relative to ``source``'s directory)
    made relative to ``target``'s, and its build directory ``build``."""
    here, there = source.resolve().parent, target.resolve().parent
    out = json.loads(json.dumps(data))
    out["spec"] = os.path.relpath((here / out.get("spec", ".")).resolve(), there)
    out["build"] = os.path.relpath(build.resolve(), there)
    for m in out.get("modules", {}).values():
        for key in ("vyper", "solidity", "artifact"):
            if isinstance(m, dict) and key in m:
                m[key] = os.path.relpath((here / m[key]).resolve(), there)
    return out


def cmd_bind(args: argparse.Namespace) -> int:
    """Draft or check a binding for a build; print where each spec name lives; 0 when all are mapped."""
    from conformance.bind import binding_json, check_binding, draft_binding, render
    from conformance.binding import BindingError, binding_from_data
    from imospec_cli.conform import _fail, setup_errors
    from imospec_cli.pipeline import BUNDLED_PROTOCOL, Pipeline

    build: Path = args.build
    target: Path = args.write or build.resolve().parent / "binding.json"
    try:
        if not build.is_dir():
            raise BindingError(f"build directory {build} does not exist (run `forge build` or `npx hardhat compile`)")
        if args.binding is not None:
            pipeline = Pipeline.for_binding(args.binding)
            binding, spec = dataclasses.replace(pipeline.binding, build=build.resolve()), pipeline.spec
            data = _rebased(json.loads(args.binding.read_text(encoding="utf-8")), args.binding, target, build)
        else:
            spec_dir = Path(args.spec or BUNDLED_PROTOCOL).resolve()
            spec = Pipeline([spec_dir]).spec
            data = draft_binding(spec, spec_dir, build, target)
            binding = binding_from_data(data, target)
        report = check_binding(binding, spec)
    except setup_errors() as exc:
        return _fail(exc)
    print(render(report))
    if args.write is not None:
        args.write.write_text(binding_json(data), encoding="utf-8")
        print(f"binding written to {args.write}; check the build with: imospec conform --impl {args.write}",
              file=sys.stderr)
    return EXIT_OK if report.complete else EXIT_FAIL
