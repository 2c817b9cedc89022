"""Stage 2: surface ASTs -> checked IR, collecting every diagnostic.

The checker resolves names, infers and checks types, expands templates, lowers
action clauses, folds constants, and applies the protocol-level checks
(immutability, phase ordering, decay schedules, signed requests, rules that
name no state, actions that can never succeed). It never stops at the first
problem: each declaration is checked on its own and errors are collected.

One class, :class:`Checker`, built in layers, one file per job:

- ``base.py``: scopes, the diagnostics, small helpers;
- ``templates.py``: template expansion (``extends``);
- ``expressions.py``: types, constants, expressions and calls;
- ``statements.py``: statements and assignment places;
- ``protocol.py``: declarations and the protocol-level checks.
"""

from spec.check.protocol import Checker, check_modules

__all__ = ["Checker", "check_modules"]
