"""``imospec fill`` and ``imospec consume``: the conformance cases as portable JSON fixtures.

``fill OUT`` writes one fixture per scenario and per attack of the implementation's binding
(and per trace given with ``--trace``), with the model's expectations;
``consume DIR --impl BINDING`` runs every fixture in DIR on an implementation
with no model and no hypothesis, and prints a readable diff of each
difference. The format is ``conformance/fixture.schema.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from imospec_cli.conform import BACKENDS, _fail, setup_errors
from imospec_cli.exits import EXIT_FAIL, EXIT_OK, EXIT_UNKNOWN
from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline


def register(sub: Any) -> None:
    """Add ``fill`` and ``consume`` to the command line's subparsers."""
    fill = sub.add_parser(
        "fill",
        help="write the conformance cases as portable JSON fixtures with the model's expectations",
        description="Run the binding's scenarios and attacks (any trace fixture given with --trace, and --sample N "
        "generated sequences) on the model beside "
        "the implementation and write one JSON fixture each into OUT: the deployment and its parameters, the "
        "state before, every transaction with its arguments and clock, its expected success or revert reason, "
        "return value and events, and the state after. Fails (exit 1) if the implementation and the model "
        "disagree: a fixture only holds what both agree on.",
    )
    fill.add_argument("out", type=Path, metavar="OUT", help="directory to write the fixtures into")
    fill.add_argument("--impl", type=Path, default=DEFAULT_BINDING, metavar="BINDING",
                      help="the reference implementation's binding (default: the bundled Vyper contracts)")
    fill.add_argument("--backend", choices=BACKENDS, default="pyrevm", help="EVM to fill on (default pyrevm)")
    fill.add_argument("--trace", type=Path, action="append", default=[], metavar="FIXTURE",
                      help="also fill a trace fixture (as `imospec conform` saves them); repeatable")
    fill.add_argument("--sample", type=int, default=0, metavar="N",
                      help="also fill N generated sequences, as a campaign draws them (default 0)")
    fill.add_argument("--steps", type=int, default=25, metavar="N", help="steps per generated sequence (25)")
    fill.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the generated sequences (0)")
    fill.set_defaults(func=cmd_fill)
    consume = sub.add_parser(
        "consume",
        help="run portable fixtures on an implementation, with no model",
        description="Run every fixture in DIR (written by `imospec fill`) on the implementation of BINDING: "
        "deploy it as the fixture says, run each transaction, and compare success or revert reason, return "
        "value, events and the state before and after. No model and no random generation. Exit 0 when every "
        "fixture passes, 1 on a difference (each printed as expected/got).",
    )
    consume.add_argument("dir", type=Path, metavar="DIR", help="a directory of fixtures (or one fixture file)")
    consume.add_argument("--impl", type=Path, required=True, metavar="BINDING", help="the implementation's binding")
    consume.add_argument("--backend", choices=BACKENDS, default="pyrevm", help="EVM to run on (default pyrevm)")
    consume.set_defaults(func=cmd_consume)


def cmd_fill(args: argparse.Namespace) -> int:
    """Fill fixtures; 0 when written, 1 when the implementation and the model disagree or it cannot be set up."""
    from conformance.fixtures import FillError, fill, write_fixtures

    pipeline = Pipeline.for_binding(args.impl)
    try:
        fixtures = fill(pipeline.spec, pipeline.binding, args.backend, [(p.stem, p) for p in args.trace],
                        sample=args.sample, steps=args.steps, seed=args.seed)
    except FillError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except setup_errors() as exc:
        return _fail(exc)
    paths = write_fixtures(fixtures, args.out)
    steps = sum(len(f["setup"]) + len(f["steps"]) for f in fixtures)
    print(f"wrote {len(paths)} fixture(s), {steps} step(s), into {args.out}")
    return EXIT_OK


def cmd_consume(args: argparse.Namespace) -> int:
    """Consume fixtures; 0 when all pass, 1 on a difference, 2 when there is nothing to run."""
    from conformance.fixtures import ConsumeError, consume, read_filled

    files = sorted(args.dir.glob("*.json")) if args.dir.is_dir() else [args.dir]
    if not files:
        print(f"error: no fixtures (*.json) in {args.dir}", file=sys.stderr)
        return EXIT_UNKNOWN
    pipeline = Pipeline.for_binding(args.impl)
    failed = 0
    for path in files:
        try:
            result = consume(read_filled(path), pipeline.spec, pipeline.binding, args.backend)
        except ConsumeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAIL
        except setup_errors() as exc:
            return _fail(exc)
        failed += not result.ok
        print(result.describe())
    print(f"{len(files) - failed} of {len(files)} fixture(s) passed on {args.backend}")
    return EXIT_OK if not failed else EXIT_FAIL
