"""``imospec docs``: the spec as a document, from the checked IR and the spec's comments.

One page per module (its purpose, state, parameters with their bounds and who
governs them, each action with its preconditions, effects, revert reasons and
events, each rule with its proof status when an assurance report is given)
and one index; cross-linked; Markdown or self-contained HTML. The output
depends on the spec (and the report) alone: the same input gives the same
bytes.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imospec_cli.exits import EXIT_FAIL, EXIT_OK, EXIT_UNKNOWN
from imospec_cli.pipeline import Pipeline
from spec import ir
from spec.clauses import excerpt


def register(sub: Any) -> None:
    """Add ``docs`` to the command line's subparsers."""
    p = sub.add_parser(
        "docs",
        help="write the spec as a document (Markdown or HTML): modules, state, parameters, actions, rules",
        description="Write the spec as a readable document into directory OUT: an index and one page per "
        "module with its purpose, state, parameters (bounds, who governs them), each action (preconditions, "
        "effects, revert reasons, events) and each rule, cross-linked. With --report, each rule shows its "
        "proof status from an assurance report (`imospec verify --report DIR` writes DIR/assurance.json). "
        "The output is deterministic.",
    )
    p.add_argument("out", type=Path, metavar="OUT", help="directory to write the pages into (made if missing)")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="spec files or directories (default: the bundled protocol, spec/protocol)")
    p.add_argument("--format", choices=("md", "html"), default="md", help="Markdown (default) or HTML pages")
    p.add_argument("--report", type=Path, metavar="FILE",
                   help="an assurance report (assurance.json) whose verdicts the rules show")
    p.set_defaults(func=cmd_docs)


class ReportFileError(Exception):
    """An assurance report given to ``docs --report`` that cannot be read."""


def cmd_docs(args: argparse.Namespace) -> int:
    """Write the pages; 0 when written, 1 when the spec has errors or the report cannot be read."""
    from imospec_cli.main import run_check

    pipeline = Pipeline(args.paths or None)
    if not pipeline.ok:
        run_check(pipeline, quiet=True)
        print("no document: the spec has errors", file=sys.stderr)
        return EXIT_FAIL
    try:
        status = read_status(args.report) if args.report is not None else {}
    except ReportFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    pages = render(pipeline.spec, args.format, status)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(pages)} page(s) into {args.out} (start at {args.out / ('index.' + args.format)})")
    return EXIT_OK


def read_status(path: Path) -> dict[str, str]:
    """Each rule's verdict (by ``module.rule``) in an assurance report.

    Raises:
        ReportFileError: the file cannot be read or is no assurance report.
    """
    from imospec_cli.report.matrix import REPORT_FORMAT

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportFileError(f"{path}: cannot read the assurance report: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        raise ReportFileError(f"{path}: not an assurance report ({REPORT_FORMAT}); "
                              "write one with `imospec verify --report DIR`")
    return {r["id"]: r["verdict"] for r in data.get("rules", [])}


# ----------------------------------------------------------------- document


@dataclass
class _Doc:
    """A page under construction, written once as Markdown or HTML."""

    fmt: str
    parts: list[str] = field(default_factory=list)

    def heading(self, level: int, text: str, anchor: str) -> None:
        if self.fmt == "md":
            self.parts.append(f'{"#" * level} <a id="{anchor}"></a>{text}\n')
        else:
            self.parts.append(f'<h{level} id="{anchor}">{html.escape(text)}</h{level}>')

    def para(self, text: str) -> None:
        if text:
            self.parts.append(text + "\n" if self.fmt == "md" else f"<p>{_inline_html(text)}</p>")

    def items(self, rows: list[str]) -> None:
        if not rows:
            return
        if self.fmt == "md":
            self.parts.append("\n".join(f"- {r}" for r in rows) + "\n")
        else:
            self.parts.append("<ul>" + "".join(f"<li>{_inline_html(r)}</li>" for r in rows) + "</ul>")

    def table(self, head: list[str], rows: list[list[str]]) -> None:
        if not rows:
            return
        if self.fmt == "md":
            out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            out += ["| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in r) + " |" for r in rows]
            self.parts.append("\n".join(out) + "\n")
        else:
            out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
            out += ["<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in r) + "</tr>" for r in rows]
            self.parts.append("".join(out) + "</table>")

    def text(self, title: str) -> str:
        if self.fmt == "md":
            return "\n".join(self.parts)
        body = "\n".join(self.parts)
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")


_CSS = ("body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "code{background:#f3f3f3;padding:0 .2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}")


def _inline_html(text: str) -> str:
    """Markdown's inline code and links ([text](href)) as HTML; everything else escaped."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def render(spec: ir.Spec, fmt: str = "md", status: dict[str, str] | None = None) -> dict[str, str]:
    """The pages of the document, by file name (``index.md`` and one per module)."""
    status = status or {}
    ext = fmt
    pages = {f"index.{ext}": _index(spec, fmt, ext, status)}
    for m in spec.modules.values():
        pages[f"{m.name}.{ext}"] = _module_page(spec, m, fmt, ext, status)
    return pages


def _first_line(doc: str) -> str:
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _index(spec: ir.Spec, fmt: str, ext: str, status: dict[str, str]) -> str:
    d = _Doc(fmt)
    d.heading(1, "The protocol, module by module", "index")
    d.para(f"{len(spec.modules)} modules, "
           f"{sum(len(m.actions) for m in spec.modules.values())} actions, "
           f"{sum(len(m.rules) for m in spec.modules.values())} rules; generated from the spec by `imospec docs`.")
    d.table(["module", "purpose", "actions", "rules"],
            [[f"[{m.name}]({m.name}.{ext})", _first_line(m.doc), str(len(m.actions)), str(len(m.rules))]
             for m in spec.modules.values()])
    d.heading(2, "Index", "names")
    names: list[tuple[str, str]] = []
    for m in spec.modules.values():
        names += [(f"{m.name}.{a}", f"{m.name}.{ext}#action-{a}") for a in m.actions]
        names += [(f"{m.name}.{r.name}", f"{m.name}.{ext}#rule-{r.name}") for r in m.rules]
        names += [(f"{m.name}.{s}", f"{m.name}.{ext}#state-{s}") for s in m.state]
        names += [(f"{m.name}.{p}", f"{m.name}.{ext}#param-{p}") for p in (*m.params, *m.governed)]
    d.items([f"[{_code(n)}]({href})" for n, href in sorted(names)])
    if status:
        counts: dict[str, int] = {}
        for v in status.values():
            counts[v] = counts.get(v, 0) + 1
        d.para("Proof status from the assurance report: "
               + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) + ".")
    return d.text("imospec: the protocol")


def _module_page(spec: ir.Spec, m: ir.Module, fmt: str, ext: str, status: dict[str, str]) -> str:
    d = _Doc(fmt)
    d.heading(1, f"Module {m.name}", "top")
    d.para(f"[index](index.{ext}) · defined in {_code(Path(m.file).name)}"
           + (f" · extends {', '.join(_code(t) for t in m.extends)}" if m.extends else "")
           + (f" · imports {', '.join(f'[{i}]({i}.{ext})' for i in m.imports)}" if m.imports else ""))
    d.heading(2, "Purpose", "purpose")
    d.para(m.doc.strip() or "(no description in the spec)")
    governs = sorted(f"[{o.name}]({o.name}.{ext}#param-{g.name})" for o in spec.modules.values()
                     for g in o.governed.values() if g.via == m.name)
    if governs:
        d.para("Governs: " + ", ".join(governs) + ".")
    if m.params or m.governed:
        d.heading(2, "Parameters", "parameters")
        rows = []
        for p in m.params.values():
            default = excerpt(spec, p.default.span) if p.default is not None else "set at deployment"
            rows.append([f'<a id="param-{p.name}"></a>{_code(p.name)}', _code(str(p.type)), _code(default),
                         "fixed at deployment", p.doc.strip()])
        for g in m.governed.values():
            bounds = (f"in [{excerpt(spec, g.low.span)}, {excerpt(spec, g.high.span)}]" if g.default is not None
                      else "any address but zero")
            rows.append([f'<a id="param-{g.name}"></a>{_code(g.name)}', _code(str(g.type)),
                         _code(excerpt(spec, g.default.span)) if g.default is not None else "set at deployment",
                         f"governed via [{g.via}]({g.via}.{ext}), {_code(bounds)}", g.doc.strip()])
        d.table(["name", "type", "default", "who sets it", "meaning"], rows)
    if m.state:
        d.heading(2, "State", "state")
        d.table(["name", "type", "meaning"],
                [[f'<a id="state-{s.name}"></a>{_code(s.name)}', _code(str(s.type)), s.doc.strip()]
                 for s in m.state.values()])
    if m.events:
        d.heading(2, "Events", "events")
        d.table(["event", "fields", "meaning"],
                [[_code(e.name), _code(", ".join(f"{n}: {t}" for n, t in e.fields)), e.doc.strip()]
                 for e in m.events.values()])
    if m.actions:
        d.heading(2, "Actions", "actions")
        for a in m.actions.values():
            _action(d, spec, m, a, ext)
    if m.rules:
        d.heading(2, "Rules", "rules")
        for r in m.rules:
            d.heading(3, f"{r.kind} {r.name}", f"rule-{r.name}")
            d.para(r.doc.strip())
            d.para(_code(excerpt(spec, r.expr.span, limit=400)))
            facts = [f"reads {', '.join(sorted(f'{mod}.{name}' for mod, name in r.reads))}",
                     "relates each state to the one before it (uses `old`)" if r.transition else "a state invariant"]
            verdict = status.get(f"{m.name}.{r.name}")
            if verdict:
                facts.append(f"proof status: **{verdict}**" if fmt == "md" else f"proof status: {verdict}")
            d.items(facts)
    return d.text(f"imospec: module {m.name}")


def _action(d: _Doc, spec: ir.Spec, m: ir.Module, a: ir.Action, ext: str) -> None:
    sig = f"{a.name}({', '.join(f'{n}: {t}' for n, t in a.params)})"
    if a.returns != ir.NONE:
        sig += f" -> {a.returns}"
    d.heading(3, f"{'internal ' if a.internal else ''}action {sig}", f"action-{a.name}")
    d.para(a.doc.strip())
    pre: list[str] = []
    effects: list[str] = []
    events: list[str] = []
    calls: list[str] = []
    for s in ir.walk(a.body):
        if isinstance(s, ir.Require):
            pre.append(f"{_code(excerpt(spec, s.cond.span) or s.origin)} else reverts {_code(s.reason)}")
        elif isinstance(s, ir.Assign | ir.Govern):
            effects.append(_code(excerpt(spec, s.span)))
        elif isinstance(s, ir.Emit):
            events.append(_code(excerpt(spec, s.span)))
        for e in ir.stmt_exprs(s):
            for c in ir.action_calls(e):
                target = f"{c.module}.{ext}#action-{c.name}" if c.module != m.name else f"#action-{c.name}"
                calls.append(f"[{_code(f'{c.module}.{c.name}')}]({target})")
    if a.phase_gate:
        pre.insert(0, f"only in phase {', '.join(a.phase_gate[1])} of {_code(a.phase_gate[0])}")
    if a.signed_request:
        pre.insert(0, f"a signed {_code(a.signed_request)} request (expiry, nonce, signature)")
    facts = []
    if pre:
        facts.append("Preconditions, in the order they are checked:")
    d.para(facts[0] if facts else "No preconditions.")
    d.items(pre)
    if effects:
        d.para("Effects:")
        d.items(effects)
    if a.ensures:
        d.para("Guarantees (`ensures`, proved for every run that succeeds):")
        d.items([_code(excerpt(spec, e.span, limit=400)) for e in a.ensures])
    if calls:
        d.para("Calls: " + ", ".join(dict.fromkeys(calls)) + ".")
    if events:
        d.para("Events: " + ", ".join(dict.fromkeys(events)) + ".")
    d.para("Revert reasons: " + (", ".join(_code(r) for r in a.reasons) if a.reasons else "none of its own")
           + "; a bare revert on overflow, underflow or division by zero.")
