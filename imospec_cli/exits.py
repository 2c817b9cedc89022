"""Exit codes of every `imospec` command, defined once.

- 0: holds (the spec is clean, every proof holds, no divergence);
- 1: wrong: the spec or the implementation is shown wrong (diagnostics,
  refuted proofs, divergences);
- 2: inconclusive, nothing wrong: a proof came back unknown, or a
  conformance campaign left a public action never succeeding, so its
  success path was never compared (a gap in coverage, not a finding;
  ``--allow-never-succeeded`` accepts it, and an ``uncovered: succeeds:
  <why>`` line in the action's comment says it cannot succeed);
- 3: an internal error of imospec itself (a bug: please report it), or a
  broken installation (a missing dependency);
- 64: a usage or setup error (as sysexits' EX_USAGE): bad arguments, a
  missing file or directory, no ``.imo`` file, an unknown ``--module``, a
  binding that cannot be read or whose contracts cannot be compiled or
  deployed, a broken config file. Nothing was checked.

:data:`EXIT_TABLE` is the text every ``--help`` and README.md print.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_UNKNOWN = 2
EXIT_INTERNAL = 3
EXIT_USAGE = 64

#: Where tracebacks of internal errors go (never to the screen).
CRASH_LOG = Path(".imospec-cache") / "crash.log"

WORDS = {EXIT_OK: "ok", EXIT_FAIL: "FAILED", EXIT_UNKNOWN: "inconclusive", EXIT_INTERNAL: "internal error",
         EXIT_USAGE: "usage or setup error"}

#: The one exit-code table (``--help`` of every command, README.md).
EXIT_TABLE = """\
exit codes (every command):
  0   holds: the spec checks, every proof holds, the model and the contracts agree
  1   wrong: a diagnostic in the spec, a refuted proof, a divergence
  2   inconclusive: nothing wrong, but a proof came back unknown, or a campaign left
      a public action never succeeding (conform, verify; --allow-never-succeeded)
  3   internal error of imospec (traceback in .imospec-cache/crash.log), or a broken install
  64  usage or setup error, nothing checked: bad arguments, a missing file or directory,
      no .imo file, an unknown --module, a broken binding or config file, a contract of
      the binding that does not compile or deploy"""


def worst(codes: Iterable[int]) -> int:
    """The exit code of several stages: internal error, else usage, else failure, else inconclusive, else ok."""
    seen = set(codes)
    for code in (EXIT_INTERNAL, EXIT_USAGE, EXIT_FAIL, EXIT_UNKNOWN):
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
