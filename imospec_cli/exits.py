"""Exit codes of every `imospec` command, defined once.

- 0: success (the spec is clean, every proof holds, no divergence);
- 1: the input or the implementation is wrong (diagnostics, refuted proofs,
  divergences);
- 2: inconclusive (a proof came back unknown) or a usage error;
- 3: an internal error of imospec itself (a bug: please report it), or a
  broken installation (a missing dependency).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_UNKNOWN = 2
EXIT_INTERNAL = 3

#: Where tracebacks of internal errors go (never to the screen).
CRASH_LOG = Path(".imospec-cache") / "crash.log"

WORDS = {EXIT_OK: "ok", EXIT_FAIL: "FAILED", EXIT_UNKNOWN: "inconclusive", EXIT_INTERNAL: "internal error"}


def worst(codes: Iterable[int]) -> int:
    """The exit code of several stages: internal error, else failure, else inconclusive, else ok."""
    seen = set(codes)
    for code in (EXIT_INTERNAL, EXIT_FAIL, EXIT_UNKNOWN):
        if code in seen:
            return code
    return EXIT_OK


def write_crash_log(text: str) -> str:
    """Write a traceback to the crash log; return " (traceback in PATH)", or "" when it cannot be written."""
    try:
        CRASH_LOG.parent.mkdir(exist_ok=True)
        CRASH_LOG.write_text(text)
    except OSError:
        return ""
    return f" (traceback in {CRASH_LOG})"
