"""The proof cache: verdicts on disk, one JSON file per query, keyed by what
determines the query (module text, job, budget, encoding, this package's code
and the Z3 version).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import z3

from spec import ir
from spec.analysis import Analysis
from verification.build import scope_modules
from verification.outcome import Budget, Job

CACHE_DIR = Path(".imospec-cache") / "proofs"


def query_key(solver: Any, lits: list[Any], budget: Budget, domain: str, extra: str = "") -> str:
    """A hash of the query's SMT-LIB text, the Z3 version and the budget
    (exact, but slow for large queries; see :func:`input_key`)."""
    h = hashlib.sha256()
    h.update(z3.get_full_version().encode())
    h.update(budget.key().encode())
    h.update(domain.encode())
    h.update(extra.encode())
    h.update(" ".join(str(lit) for lit in lits).encode())
    h.update(solver.sexpr().encode())
    return h.hexdigest()


_CODE_HASH: list[str] = []


# (id of the spec, modules) -> (the spec, hash): the spec kept to tell a new spec at a reused id
_SCOPE_HASH: dict[tuple[int, tuple[str, ...]], tuple[ir.Spec, str]] = {}


def code_fingerprint() -> str:
    """A hash of this package's source: a change to the encoder changes every key."""
    if not _CODE_HASH:
        h = hashlib.sha256()
        root = Path(__file__).resolve().parent
        for p in sorted(root.glob("*.py")):
            h.update(p.name.encode())
            h.update(p.read_bytes())
        _CODE_HASH.append(h.hexdigest())
    return _CODE_HASH[0]


def input_key(spec: ir.Spec, analysis: Analysis, job: Job, budget: Budget, domain: str, stage: str) -> str:
    """The cache key of a query, from what determines it: the text of the
    modules in scope (and of the templates they extend), the job, the budget,
    the encoding and stage, this package's code and the Z3 version. The
    encoding is deterministic, so equal inputs give the same query."""
    mods = scope_modules(spec, analysis, job)
    skey = (id(spec), mods)
    if skey not in _SCOPE_HASH or _SCOPE_HASH[skey][0] is not spec:
        h = hashlib.sha256()
        files: list[str] = []
        for m in mods:
            mod = spec.modules[m]
            for name in (m, *mod.extends):
                for f in spec.sources:
                    if Path(f).stem == name and f not in files:
                        files.append(f)
        for f in files:
            h.update(f.encode())
            h.update(spec.sources[f].encode())
        _SCOPE_HASH[skey] = (spec, h.hexdigest())
    h = hashlib.sha256()
    for part in (z3.get_full_version(), code_fingerprint(), _SCOPE_HASH[skey][1], repr(job), budget.key(),
                 domain, stage):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


class Cache:
    """Verdicts on disk, one JSON file per query hash."""

    def __init__(self, root: Path | None, enabled: bool = True) -> None:
        self.root = root if root is not None else CACHE_DIR
        self.enabled = enabled

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached value under ``key``, or None (also when caching is off or the file is unreadable)."""
        if not self.enabled:
            return None
        path = self.root / key[:2] / f"{key}.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store a JSON-ready value under ``key`` (atomically; an unwritable cache is ignored)."""
        if not self.enabled:
            return
        path = self.root / key[:2] / f"{key}.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{time.time_ns()}")
            tmp.write_text(json.dumps(value, sort_keys=True), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass
