"""Counterexamples and reports: from a Z3 model to what a person reads.

A counterexample is kept as a JSON-ready dict::

    {"env": {...}, "args": {...}, "params": {...}, "addresses": {...},
     "state": [{"name": "reserve.capacity", "before": 5, "after": 7}, ...],
     "witnesses": {...}, "clause": {"at": "file:line:col", "text": "..."}}

Values are ints and bools; addresses and bytes32 values are hex strings.
Only state the query read or wrote appears (the rule's and the action's).
"""

from __future__ import annotations

import re
from typing import Any

import z3

from spec import ir
from verification.build import Built
from verification.encode import Encoder, MapVal, Rep, StateKey, deploy_arg_type
from verification.outcome import BoundedSearch

MAX_ENTRIES = 12


def fmt_value(v: Any, t: ir.Type, enc: Encoder | None = None, addresses: dict[int, str] | None = None) -> Any:
    """A concrete value as JSON: addresses and bytes32 in hex, bands by name."""
    if t == ir.ADDRESS and isinstance(v, int):
        return f"0x{v:040x}"
    if t in (ir.BYTES32, ir.SIGNATURE) and isinstance(v, int):
        return f"0x{v:064x}"
    if isinstance(t, ir.EnumT) and isinstance(v, int) and enc is not None:
        bands = enc.spec.modules[t.module].phases[t.name].bands
        return bands[v] if 0 <= v < len(bands) else v
    return v


def concrete(model: Any, enc: Encoder, rep: Rep, t: ir.Type) -> Any:
    """Evaluate a value in a model; records become dicts, maps are skipped."""
    if isinstance(t, ir.RecordT):
        assert isinstance(rep, dict)
        return {n: concrete(model, enc, rep[n], ft) for n, ft in enc.record_fields(t)}
    if isinstance(t, ir.MapT):
        return "<map>"
    v = model.eval(rep, model_completion=True)
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    if z3.is_bv_value(v):
        return fmt_value(int(v.as_signed_long()), t, enc)
    if z3.is_int_value(v):
        return fmt_value(int(v.as_long()), t, enc)
    return str(v)


def raw_int(model: Any, term: Any) -> int | bool | str:
    """The integer a term has in a model (None when the model leaves it free)."""
    v = model.eval(term, model_completion=True)
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    if z3.is_bv_value(v):
        return int(v.as_signed_long())
    if z3.is_int_value(v):
        return int(v.as_long())
    return str(v)


def state_name(key: StateKey) -> str:
    """How a state entry is shown: ``module.name``."""
    kind, module, name = key
    if kind == "sum":
        return f"sum({module}.{name})"
    return f"{module}.{name}"


def state_entries(model: Any, enc: Encoder, key: StateKey, before: Rep | None, after: Rep | None,
                  t: ir.Type) -> list[dict[str, Any]]:
    """The entries of one state variable worth showing: the whole value for a
    scalar or record, and the entries at the keys the query touched for a map."""
    name = state_name(key)
    if not isinstance(t, ir.MapT):
        row: dict[str, Any] = {"name": name}
        if before is not None:
            row["before"] = concrete(model, enc, before, t)
        if after is not None:
            row["after"] = concrete(model, enc, after, t)
        return [row]
    rows: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for keys in enc.touched.get(key, []):
        concrete_keys = tuple(raw_int(model, k) for k in keys)
        if concrete_keys in seen:
            continue
        seen.add(concrete_keys)
        label = name
        vt: ir.Type = t
        b, a = before, after
        for k, ck in zip(keys, concrete_keys, strict=True):
            assert isinstance(vt, ir.MapT)
            label += f"[{_show_key(ck, vt.key, enc)}]"
            b = _select(enc, b, k)
            a = _select(enc, a, k)
            vt = vt.value
        if isinstance(vt, ir.MapT):
            continue
        row = {"name": label}
        if b is not None:
            row["before"] = concrete(model, enc, b, vt)
        if a is not None:
            row["after"] = concrete(model, enc, a, vt)
        rows.append(row)
        if len(rows) >= MAX_ENTRIES:
            break
    return rows


def _select(enc: Encoder, m: Rep | None, k: Any) -> Rep | None:
    if m is None:
        return None
    assert isinstance(m, MapVal)
    from verification.encode import tree_map

    leaves = tree_map(lambda arr: z3.Select(arr, k), m.arrays)
    return enc.wrap(m.value, leaves)


def _show_key(v: Any, t: ir.Type, enc: Encoder) -> str:
    shown = fmt_value(v, t, enc)
    if t == ir.ADDRESS and isinstance(v, int):
        return str(shown)
    return str(shown)


def key_type(enc: Encoder, key: StateKey) -> ir.Type:
    """The type of a map's keys at each level."""
    if key[0] == "sum":
        return ir.UINT
    return enc.state_type(key)


def quote(spec: ir.Spec, span: Any) -> dict[str, str]:
    """The source line of ``span`` with a caret under it."""
    if span is None:
        return {"at": "?", "text": ""}
    src = spec.sources.get(span.file)
    at = f"{span.file}:{span.line}:{span.column}"
    if src is None:
        return {"at": at, "text": ""}
    lines = src.splitlines()
    if not 1 <= span.line <= len(lines):
        return {"at": at, "text": ""}
    text = lines[span.line - 1].expandtabs(4)
    gutter = f"{span.line:>5} | "
    width = 1
    if span.end_line == span.line and span.end_column > span.column:
        width = span.end_column - span.column
    col = min(span.column, len(text) + 1)
    width = max(1, min(width, len(text) + 1 - col + 1))
    if span.end_line > span.line:
        width = max(1, len(text) - col + 1)
    caret = " " * (len(gutter) + col - 1) + "^" * width
    return {"at": at, "text": f"{gutter}{text}\n{caret}"}


def explain(built: Built, model: Any) -> dict[str, Any]:
    """Turn a model of a refuting query into a counterexample dict."""
    keys = list(built.pre_keys)
    if built.post is not None:
        keys += [k for k in built.post.vals if k not in keys]
    if built.pre is None and built.post is not None and built.rule is not None:
        from spec.analysis import Analysis

        keys = [k for k in sorted(Analysis(built.enc.spec).rule_reads(built.rule))]
        keys += [k for k in built.post.vals if k[0] == "sum" and k not in keys]
    return explain_parts(built.enc, model, built.env, built.args, built.arg_types, built.pre, built.post,
                         keys, built.clauses, built.rule, built.shown_params)


def explain_parts(enc: Encoder, model: Any, env: Any, args: dict[str, Rep], arg_types: dict[str, ir.Type],
                  pre: Any, post: Any, keys: list[StateKey], clauses: list[Any],
                  rule: ir.Rule | None, shown_params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The counterexample dict from its parts (see :func:`explain`); only the
    parameters in ``shown_params`` are listed, when given."""
    out: dict[str, Any] = {}
    if env is not None:
        out["env"] = {
            "caller": concrete(model, enc, env.caller, ir.ADDRESS),
            "now": concrete(model, enc, env.now, ir.UINT),
            "block_number": concrete(model, enc, env.block_number, ir.UINT),
            "chain_id": concrete(model, enc, env.chain_id, ir.UINT),
        }
    if args:
        out["args"] = {n: concrete(model, enc, v, arg_types[n]) for n, v in args.items()}
    params = enc.__dict__.get("param_vals", {})
    if shown_params is not None:
        params = {k: v for k, v in params.items() if k in shown_params}
    if params:
        out["params"] = {f"{m}.{n}": concrete(model, enc, v, deploy_arg_type(enc.spec, m, n))
                         for (m, n), v in params.items()}
    if enc.addr:
        out["addresses"] = {m: concrete(model, enc, a, ir.ADDRESS) for m, a in enc.addr.items()}
    rows: list[dict[str, Any]] = []
    for key in keys:
        if key[0] == "p":
            continue
        before = pre.get(key) if pre is not None else None
        after = post.get(key) if post is not None else None
        rows.extend(state_entries(model, enc, key, before, after, key_type(enc, key)))
    if rows:
        out["state"] = rows
    if enc.skolem:
        out["witnesses"] = {n: concrete(model, enc, c, enc.skolem_types.get(n, ir.UINT))
                            for n, c in enc.skolem.items()}
    failing = None
    for c in clauses:
        if z3.is_false(model.eval(c.holds, model_completion=True)):
            failing = c
            break
    if failing is None and clauses:
        failing = clauses[0]
    if failing is not None:
        out["clause"] = quote(enc.spec, failing.expr.span)
    elif rule is not None:
        out["clause"] = quote(enc.spec, rule.span)
    return out


# -------------------------------------------------------------- rendering


def _show(v: Any) -> str:
    from spec.numbers import show_number

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_show(x)}" for k, x in v.items()) + "}"
    if isinstance(v, int):
        return show_number(v)
    return str(v)


def render_counterexample(cex: dict[str, Any], indent: str = "    ", *, full: bool = False) -> str:
    """A counterexample as indented text: environment, arguments, state
    before and after (only what changed, or what the violated clause reads,
    unless ``full``), the violated clause. Numbers are shown by
    :func:`spec.numbers.show_number` (``2**256-1``, ``5e18``)."""
    if "error" in cex:
        return f"{indent}{cex['error']}"
    lines: list[str] = []
    if "clause" in cex and cex["clause"].get("text"):
        lines.append(f"{indent}violated at {cex['clause']['at']}:")
        for ln in cex["clause"]["text"].splitlines():
            lines.append(f"{indent}{ln}")
    names: dict[Any, str] = {}  # an address the counterexample gives a name: a module's, a parameter's
    for k, v in (cex.get("params") or {}).items():
        if isinstance(v, str) and v.startswith("0x") and len(v) == 42:
            names.setdefault(v, k.rsplit(".", 1)[-1])
    for k, v in (cex.get("addresses") or {}).items():
        names[v] = k

    def shown(v: Any) -> str:
        return names[v] if isinstance(v, str) and v in names else _show(v)

    # a state entry's address key by its name too, and the caller's as `caller`
    keys = {k.lower(): v for k, v in names.items() if isinstance(k, str)}
    caller = (cex.get("env") or {}).get("caller")
    if isinstance(caller, str):
        keys.setdefault(caller.lower(), "caller")

    def row_name(name: str) -> str:
        return re.sub(r"\[(0x[0-9a-fA-F]{40})\]", lambda m: f"[{keys.get(m.group(1).lower(), m.group(1))}]", name)

    if cex.get("witnesses"):
        lines.append(f"{indent}for " + ", ".join(f"{k} = {shown(v)}" for k, v in cex["witnesses"].items()))
    if cex.get("env"):
        lines.append(f"{indent}environment: " + ", ".join(f"{k}={shown(v)}" for k, v in cex["env"].items()))
    if cex.get("args"):
        lines.append(f"{indent}arguments:   " + ", ".join(f"{k}={shown(v)}" for k, v in cex["args"].items()))
    if cex.get("params"):
        lines.append(f"{indent}parameters:  " + ", ".join(f"{k}={_show(v)}" for k, v in cex["params"].items()))
    if cex.get("addresses"):
        lines.append(f"{indent}modules at:  " + ", ".join(f"{k}={_show(v)}" for k, v in cex["addresses"].items()))
    if cex.get("state"):
        clause = (cex.get("clause") or {}).get("text", "")
        rows = []
        for r in cex["state"]:
            before = shown(r["before"]) if "before" in r else "-"
            after = shown(r["after"]) if "after" in r else "-"
            read = r["name"].rsplit(".", 1)[-1].split("[", 1)[0] in clause
            if full or before != after or read:
                rows.append((row_name(r["name"]), before, after))
        hidden = len(cex["state"]) - len(rows)
        note = f"; {hidden} unchanged not shown (--full shows them)" if hidden else ""
        lines.append(f"{indent}state (before -> after; * changed{note}):")
        width = max((len(name) for name, _, _ in rows), default=0)
        for name, before, after in rows:
            mark = "" if before == after else "   *"
            lines.append(f"{indent}  {name:<{width}}  {before} -> {after}{mark}")
    return "\n".join(lines)


def _plain_addr(v: Any) -> str:
    return f"0x{v:040x}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def render_trace(search: BoundedSearch, indent: str = "    ") -> str:
    """A bounded search's verdict with its action sequence, as the prover
    prints it; callers that are a module's address or the deployer are named."""
    bmc = search.to_json()
    lines = []
    dep0 = bmc.get("deployment") or {}
    names = {v: k for k, v in (dep0.get("addresses") or {}).items() if isinstance(v, int)}
    if isinstance(dep0.get("deployer"), int):
        names.setdefault(dep0["deployer"], "deployer")

    def _addr(v: Any) -> str:
        return names[v] if v in names else _plain_addr(v)

    status = bmc.get("status")
    if status == "reachable":
        lines.append(f"{indent}reachable from deployment in {bmc['depth']} step(s):")
        dep = bmc.get("deployment", {})
        if dep:
            addrs = ", ".join(f"{k}={_plain_addr(v)}" for k, v in dep.get("addresses", {}).items())
            lines.append(f"{indent}  0. deploy by {_addr(dep.get('deployer'))} at now={_show(dep.get('now'))} "
                         f"block={_show(dep.get('block_number'))} chain={_show(dep.get('chain_id'))}"
                         + (f"; modules at {addrs}" if addrs else ""))
            shown_params = dep.get("shown_params", dep.get("params"))
            if shown_params:
                lines.append(f"{indent}     params: " + ", ".join(f"{k}={_show(v)}" for k, v in shown_params.items()))
        for i, step in enumerate(bmc.get("steps", []), 1):
            shown = step.get("shown", step.get("args", {}))
            args = ", ".join(f"{k}={_show(v)}" for k, v in shown.items())
            env = step.get("env", {})
            lines.append(f"{indent}  {i}. {step['action']}({args})  by {_addr(env.get('caller'))} "
                         f"at now={_show(env.get('now'))} block={_show(env.get('block_number'))}")
        rp = bmc.get("replay")
        if rp:
            detail = f" ({rp['detail']})" if rp.get("detail") else ""
            lines.append(f"{indent}  reference model: {rp.get('status')}{detail}")
    elif status == "unreachable":
        lines.append(f"{indent}not reachable within {bmc['depth']} step(s) from deployment: "
                     "a counterexample to induction only (strengthen with a lemma)")
    else:
        lines.append(f"{indent}bounded search: {status}" + (f" ({bmc.get('detail')})" if bmc.get("detail") else ""))
    return "\n".join(lines)
