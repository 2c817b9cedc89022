"""Z3 proofs of the spec's rules: the only package that imports ``z3``.

Library use::

    from verification.runner import Options, prove
    report = prove(Options(paths=["spec/protocol"], module="reserve"))
    for r in report.results:
        print(r.job.rule_label, r.job.action_label, r.outcome)   # Proved | Refuted | Unknown
    report.exit_code()                                         # 0 proved, 1 refuted, 2 unknown

Command line: ``imospec prove`` (wired through :func:`verification.cli.register`)
or ``python -m verification``. See ``verification/README.md`` for the queries,
the encoding and why it is sound.

This module imports nothing, so that registering the command stays cheap.
"""
