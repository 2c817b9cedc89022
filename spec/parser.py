"""Stage 1: source text -> surface AST, or diagnostics.

The Lark grammar lives in ``grammar.lark``. No Lark exception leaves this
module: syntax errors become E001/E002 diagnostics (several per file, with
error recovery), unreadable input E003, over-deep nesting E004.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from spec import ast
from spec.diagnostics import Diagnostic, DiagnosticError, Span, did_you_mean

MAX_FILE_BYTES = 1 << 20
MAX_NESTING = 100
MAX_SYNTAX_ERRORS = 20

KEYWORDS = {
    "module", "abstract", "extends", "import", "const", "param", "governed", "state",
    "record", "event", "request", "nonce", "phases", "below", "decay", "levels",
    "periods", "init", "invariant", "lemma", "theorem", "fn", "action", "internal",
    "by", "when", "signed", "with", "ensures", "let", "require", "if", "else", "emit",
    "return", "govern", "for", "in", "range", "forall", "then", "and", "or", "not",
    "true", "false", "via", "uint256", "bool", "address", "bytes32", "signature",
    "map", "list", "cover", "succeeds", "where", "after",
}  # fmt: skip

# Friendly names for the terminals Lark reports as expected.
_TERMINAL_TEXT = {
    "NAME": "a name", "INT": "a number", "HEX": "a hex number", "STRING": "a string",
    "LPAR": "`(`", "RPAR": "`)`", "LBRACE": "`{`", "RBRACE": "`}`", "LSQB": "`[`",
    "RSQB": "`]`", "COMMA": "`,`", "COLON": "`:`", "DOT": "`.`", "EQUAL": "`=`",
    "ASSIGN_OP": "`=`", "COMP_OP": "a comparison", "SEMICOLON": "`;`", "$END": "end of file",
    "MORETHAN": "`>`", "LESSTHAN": "`<`", "ADD_OP": "`+`/`-`", "MUL_OP": "`*`/`/`",
}  # fmt: skip


@functools.cache
def _parser() -> Lark:
    grammar = resources.files("spec").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


@functools.cache
def _terminal_patterns() -> dict[str, str]:
    """Literal text of each fixed-string terminal (keywords, punctuation)."""
    out = {}
    for term in _parser().terminals:
        if type(term.pattern).__name__ == "PatternStr":
            out[term.name] = term.pattern.value
    return out


def _expected_text(expected: set[str]) -> str:
    literal = _terminal_patterns()
    names = set()
    for term in expected:
        if term in _TERMINAL_TEXT:
            names.add(_TERMINAL_TEXT[term])
        elif term in literal:
            names.add(f"`{literal[term]}`")
        else:
            names.add(term.lower())
    unique = sorted(names)
    if len(unique) > 6:
        return ", ".join(unique[:6]) + ", ..."
    return ", ".join(unique)


def _token_text(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    return f"`{token.value}`"


def _check_nesting(text: str, file: str) -> Diagnostic | None:
    depth = 0
    line, col = 1, 0
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                return Diagnostic(
                    "E004",
                    f"brackets nest more than {MAX_NESTING} levels deep",
                    Span(file, line, col, line, col + 1),
                    "split the expression with `let` bindings",
                )
        elif ch in ")]}":
            depth = max(0, depth - 1)
    return None


def _syntax_diagnostic(err: UnexpectedInput, file: str) -> Diagnostic:
    line = getattr(err, "line", 1) or 1
    column = getattr(err, "column", 1) or 1
    if line < 1:
        line, column = 1, 1
    if isinstance(err, UnexpectedCharacters):
        char = err.char if hasattr(err, "char") else "?"
        shown = repr(char)[1:-1]
        hint = None
        if char == "'":
            hint = 'strings use double quotes: "REASON"'
        elif char in "&|":
            hint = "use `and`, `or`"
        elif char == "!":
            hint = "use `not x` or `!=`"
        return Diagnostic("E002", f"unexpected character `{shown}`", Span(file, line, column, line, column + 1), hint)
    if isinstance(err, UnexpectedToken):
        token = err.token
        width = max(1, len(str(token.value))) if token.type != "$END" else 1
        expected = _expected_text(set(err.expected))
        hint = None
        if token.type == "NAME" and token.value not in KEYWORDS:
            hint = did_you_mean(token.value, KEYWORDS)
            if hint:
                hint = hint.replace("did you mean", "did you mean the keyword")
        if token.type == "$END":
            hint = "the file ends in the middle of a declaration; is a `}` missing?"
        return Diagnostic(
            "E001",
            f"unexpected {_token_text(token)}; expected {expected}",
            Span(file, line, column, line, column + width),
            hint,
        )
    if isinstance(err, UnexpectedEOF):
        return Diagnostic(
            "E001",
            "unexpected end of file",
            Span(file, line, column, line, column + 1),
            "the file ends in the middle of a declaration; is a `}` missing?",
        )
    return Diagnostic("E001", "syntax error", Span(file, line, column, line, column + 1))


DECLARATION_KEYWORDS = (
    "module", "abstract", "import", "const", "param", "governed", "state", "record", "event",
    "request", "phases", "decay", "init", "invariant", "lemma", "theorem", "cover", "fn", "action", "internal",
    "after",
)  # fmt: skip
_DECL_START = re.compile(r"^(?:" + "|".join(DECLARATION_KEYWORDS) + r")\b")


def _first_error(text: str, file: str) -> Diagnostic | None:
    """The first syntax error of ``text``, or None when it parses."""
    try:
        _parser().parse(text)
    except UnexpectedInput as err:
        return _syntax_diagnostic(err, file)
    except LarkError as err:  # defensive: any other Lark failure is still a diagnostic
        return Diagnostic("E001", f"syntax error: {type(err).__name__}", Span(file, 1, 1, 1, 2))
    return None


def _declaration_chunks(lines: list[str]) -> list[tuple[int, int]]:
    """Line ranges [start, end) of the top-level declarations: each starts at a
    line that begins, in column 1, with a declaration keyword."""
    starts = [i for i, line in enumerate(lines) if _DECL_START.match(line)] or [0]
    if starts[0] != 0:
        starts.insert(0, 0)
    return [(a, b) for a, b in zip(starts, [*starts[1:], len(lines)], strict=True)]


def _syntax_errors(text: str, file: str) -> list[Diagnostic]:
    """One syntax error per broken declaration, and none on correct ones.

    After an error an LALR parser cannot tell where the broken declaration ends,
    so every declaration is parsed on its own (the others blanked out, so that
    lines and columns stay true) and only its first error is reported.
    """
    lines = text.split("\n")
    chunks = _declaration_chunks(lines)
    head = next((c for c in chunks if _DECL_START.match(lines[c[0]] or "") and
                 lines[c[0]].split()[0] in ("module", "abstract")), None)
    found: list[Diagnostic] = []
    for chunk in chunks:
        keep = set(range(*chunk)) | (set(range(*head)) if head else set())
        piece = "\n".join(line if i in keep else "" for i, line in enumerate(lines))
        err = _first_error(piece, file)
        if err is None:
            continue
        # an error before the chunk starts belongs to the module head, reported once with it
        in_chunk = err.span is not None and (chunk == head or err.span.line - 1 >= chunk[0])
        if in_chunk or head is None:
            found.append(err)
        if len(found) >= MAX_SYNTAX_ERRORS:
            break
    return _dedupe(found) or [e for e in [_first_error(text, file)] if e is not None]


def parse_tree(text: str, file: str) -> Tree[Token]:
    """Parse ``text`` into a Lark tree.

    Raises:
        DiagnosticError: with every syntax error found (E001, E002, E004).
    """
    nesting = _check_nesting(text, file)
    if nesting is not None:
        raise DiagnosticError([nesting])
    try:
        return _parser().parse(text)
    except (UnexpectedInput, LarkError):
        pass
    except RecursionError:
        raise DiagnosticError(
            [Diagnostic("E004", "the input nests too deeply to parse", Span(file, 1, 1, 1, 2))]
        ) from None
    try:
        errors = _syntax_errors(text, file)
    except RecursionError:
        errors = [Diagnostic("E004", "the input nests too deeply to parse", Span(file, 1, 1, 1, 2))]
    raise DiagnosticError(errors)


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Keep the first diagnostic per line: later ones on it are mostly echoes."""
    seen: set[int] = set()
    out = []
    for d in diags:
        key = d.span.line if d.span else 0
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


# ----------------------------------------------------- tree -> AST


_COMMENT_LINE = re.compile(r"^\s*//\s?(.*)$")


class _Builder:
    """Turns a Lark tree into :mod:`spec.ast` nodes, collecting diagnostics."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.diagnostics: list[Diagnostic] = []

    # -- spans and docs
    def span(self, node: Tree[Token] | Token) -> Span:
        if isinstance(node, Token):
            line = node.line or 1
            col = node.column or 1
            return Span(self.file, line, col, node.end_line or line, node.end_column or col + 1)
        meta = node.meta
        if getattr(meta, "empty", True):
            return Span(self.file, 1, 1, 1, 2)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def doc_above(self, line: int) -> str:
        """The comment lines directly above ``line`` (1-based), joined."""
        out: list[str] = []
        i = line - 2
        while i >= 0:
            m = _COMMENT_LINE.match(self.lines[i])
            if not m:
                break
            out.append(m.group(1).rstrip())
            i -= 1
        return "\n".join(reversed(out)).strip()

    def module_doc(self, head_line: int) -> str:
        out = []
        for raw in self.lines[: head_line - 1]:
            m = _COMMENT_LINE.match(raw)
            if m:
                out.append(m.group(1).rstrip())
            elif raw.strip() == "":
                out.append("")
        return "\n".join(out).strip()

    # -- entry
    def module(self, tree: Tree[Token]) -> ast.Module:
        head = tree.children[0]
        assert isinstance(head, Tree)
        abstract = False
        names: list[Token] = []
        for child in head.children:
            if isinstance(child, Token) and child.type == "ABSTRACT":
                abstract = True
            elif isinstance(child, Token):
                names.append(child)
        decls = [self.decl(c) for c in tree.children[1:] if isinstance(c, Tree)]
        head_span = self.span(head)
        return ast.Module(
            name=str(names[0]),
            span=head_span,
            file=self.file,
            abstract=abstract,
            extends=str(names[1]) if len(names) > 1 else None,
            extends_span=self.span(names[1]) if len(names) > 1 else None,
            decls=decls,
            doc=self.module_doc(head_span.line),
        )

    def decl(self, t: Tree[Token]) -> ast.Decl:
        kind = t.data
        ch = t.children
        sp = self.span(t)
        doc = self.doc_above(sp.line)
        name = str(ch[0]) if ch and isinstance(ch[0], Token) else ""
        d: ast.Decl
        if kind == "import_decl":
            d = ast.Import(name, sp)
        elif kind == "const_decl":
            d = ast.Const(name, sp, self.type_(ch[1]), self.expr(ch[2]))
        elif kind == "param_decl":
            d = ast.Param(name, sp, self.type_(ch[1]), self.expr(ch[2]) if len(ch) > 2 else None)
        elif kind == "governed_decl":
            bounded = len(ch) > 3
            d = ast.Governed(
                name,
                sp,
                self.type_(ch[1]),
                self.expr(ch[2]) if bounded else None,
                self.expr(ch[3]) if bounded else None,
                self.expr(ch[4]) if bounded else None,
                str(ch[-1]),
                self.span(ch[-1]),
            )
        elif kind == "state_decl":
            d = ast.State(name, sp, self.type_(ch[1]), self.expr(ch[2]) if len(ch) > 2 else None)
        elif kind == "record_decl":
            d = ast.Record(name, sp, self.fields(ch[1]))
        elif kind == "event_decl":
            d = ast.Event(name, sp, self.fields(ch[1]))
        elif kind == "request_decl":
            d = ast.Request(name, sp, str(ch[1]), self.span(ch[1]), self.fields(ch[2]))
        elif kind == "phases_decl":
            bands = []
            for c in ch[1:]:
                if isinstance(c, Tree):
                    bands.append(ast.PhaseBand(str(c.children[0]), self.expr(c.children[1]), self.span(c)))
                else:
                    bands.append(ast.PhaseBand(str(c), None, self.span(c)))
            d = ast.Phases(name, sp, bands)
        elif kind == "decay_decl":
            d = ast.Decay(name, sp, self.expr(ch[1]), self.expr(ch[2]))
        elif kind == "init_decl":
            d = ast.Init("init", sp, self.block(ch[0]))
        elif kind in ("invariant_decl", "lemma_decl", "theorem_decl"):
            d = ast.Rule(name, sp, kind.removesuffix("_decl"), self.expr(ch[1]))
        elif kind == "cover_decl":
            if len(ch) > 1 and isinstance(ch[1], Token) and ch[1].type == "SUCCEEDS":
                where = self.expr(ch[3]) if len(ch) > 3 else None
                d = ast.Cover(name, sp, str(ch[2]), self.span(ch[2]), where)
            else:
                d = ast.Cover(name, sp, None, None, self.expr(ch[1]))
        elif kind == "fn_decl":
            d = ast.Fn(name, sp, self.fields(ch[1]), self.type_(ch[2]), self.block(ch[3]))
        elif kind == "action_decl":
            d = self.action(t, sp)
        elif kind == "hook_decl":
            target = f"{ch[0]}.{ch[1]}"
            first, last = self.span(ch[0]), self.span(ch[1])
            d = ast.GovernHook(f"after govern {target}", sp, str(ch[0]), str(ch[1]),
                               Span(first.file, first.line, first.column, last.end_line, last.end_column),
                               str(ch[2]), self.span(ch[2]))
        else:  # pragma: no cover - the grammar has no other declarations
            raise AssertionError(kind)
        d.doc = doc
        return d

    def action(self, t: Tree[Token], sp: Span) -> ast.Action:
        ch = list(t.children)
        internal = False
        if isinstance(ch[0], Token) and ch[0].type == "INTERNAL":
            internal = True
            ch = ch[1:]
        name = str(ch[0])
        params = self.fields(ch[1])
        rest = ch[2:]
        returns: ast.TypeExpr | None = None
        by: list[ast.ByClause] = []
        when: list[ast.WhenClause] = []
        signed: list[ast.SignedClause] = []
        ensures: list[ast.Expr] = []
        body: list[ast.Stmt] = []
        for c in rest:
            assert isinstance(c, Tree)
            if c.data == "block":
                body = self.block(c)
            elif c.data == "by_clause":
                by.append(ast.ByClause(self.expr(c.children[0]), self.span(c)))
            elif c.data == "when_clause":
                cc = c.children
                allowed = [(str(x), self.span(x)) for x in cc[2:] if isinstance(x, Token)]
                when.append(ast.WhenClause(str(cc[0]), self.expr(cc[1]), allowed, self.span(c)))
            elif c.data == "signed_clause":
                cc = c.children
                signed.append(ast.SignedClause(str(cc[0]), self.expr(cc[1]), str(cc[2]), self.span(c)))
            elif c.data == "ensures_clause":
                ensures.append(self.expr(c.children[0]))
            else:
                returns = self.type_(c)
        return ast.Action(name, sp, params, returns, internal, by, when, signed, ensures, body)

    def fields(self, t: Any) -> list[ast.FieldDecl]:
        out = []
        for f in t.children:
            out.append(ast.FieldDecl(str(f.children[0]), self.type_(f.children[1]), self.span(f)))
        return out

    def type_(self, t: Any) -> ast.TypeExpr:
        sp = self.span(t)
        kind = t.data
        if kind == "map_type":
            return ast.MapType(sp, self.type_(t.children[0]), self.type_(t.children[1]))
        if kind == "list_type":
            return ast.ListType(sp, self.type_(t.children[0]))
        if kind == "named_type":
            return ast.NamedType(sp, str(t.children[0]))
        return ast.PrimType(sp, kind.removesuffix("_type").replace("uint", "uint256"))

    def block(self, t: Any) -> list[ast.Stmt]:
        return [self.stmt(s) for s in t.children]

    def stmt(self, t: Tree[Token]) -> ast.Stmt:
        sp = self.span(t)
        ch = t.children
        kind = t.data
        if kind == "let_stmt":
            typ = self.type_(ch[1]) if len(ch) == 3 else None
            return ast.Let(sp, str(ch[0]), typ, self.expr(ch[-1]))
        if kind == "expr_stmt":
            target = self.expr(ch[0])
            if len(ch) == 3:
                return ast.Assign(sp, target, str(ch[1]), self.expr(ch[2]))
            return ast.ExprStmt(sp, target)
        if kind == "require_stmt":
            tok = ch[1]
            assert isinstance(tok, Token)
            return ast.Require(sp, self.expr(ch[0]), str(tok)[1:-1], self.span(tok))
        if kind == "if_stmt":
            orelse: list[ast.Stmt] = []
            if len(ch) == 3:
                other = ch[2]
                assert isinstance(other, Tree)
                orelse = self.block(other) if other.data == "block" else [self.stmt(other)]
            return ast.If(sp, self.expr(ch[0]), self.block(ch[1]), orelse)
        if kind == "emit_stmt":
            return ast.Emit(sp, str(ch[0]), self.args(ch[1]))
        if kind == "return_stmt":
            return ast.Return(sp, self.expr(ch[0]))
        if kind == "govern_stmt":
            return ast.Govern(sp, self.expr(ch[0]), self.expr(ch[1]), self.expr(ch[2]))
        if kind == "for_stmt":
            return ast.For(sp, str(ch[0]), self.expr(ch[1]), self.block(ch[2]))
        raise AssertionError(kind)  # pragma: no cover

    def args(self, t: Any) -> list[ast.Expr]:
        return [self.expr(a) for a in t.children]

    def expr(self, t: Any) -> ast.Expr:
        sp = self.span(t)
        if isinstance(t, Token):  # pragma: no cover - the grammar wraps every token
            return ast.Name(sp, str(t))
        kind = t.data
        ch = t.children
        if kind == "int_lit":
            return ast.IntLit(sp, int(str(ch[0]).replace("_", "")))
        if kind == "hex_lit":
            return ast.IntLit(sp, int(str(ch[0]).replace("_", ""), 16))
        if kind == "true_lit":
            return ast.BoolLit(sp, True)
        if kind == "false_lit":
            return ast.BoolLit(sp, False)
        if kind == "string_lit":
            return ast.StrLit(sp, str(ch[0])[1:-1])
        if kind == "name_ref":
            return ast.Name(sp, str(ch[0]))
        if kind == "member":
            return ast.Member(sp, self.expr(ch[0]), str(ch[1]))
        if kind == "index":
            return ast.Index(sp, self.expr(ch[0]), self.expr(ch[1]))
        if kind == "call":
            return ast.Call(sp, self.expr(ch[0]), self.args(ch[1]))
        if kind in ("binop", "compare"):
            return ast.BinOp(sp, str(ch[1]), self.expr(ch[0]), self.expr(ch[2]))
        if kind == "and_op":
            return ast.BinOp(sp, "and", self.expr(ch[0]), self.expr(ch[1]))
        if kind == "or_op":
            return ast.BinOp(sp, "or", self.expr(ch[0]), self.expr(ch[1]))
        if kind == "implies_op":
            return ast.BinOp(sp, "==>", self.expr(ch[0]), self.expr(ch[1]))
        if kind == "not_op":
            return ast.Not(sp, self.expr(ch[0]))
        if kind == "cond":
            return ast.Cond(sp, self.expr(ch[0]), self.expr(ch[1]), self.expr(ch[2]))
        if kind == "forall":
            binders = [ast.Binder(str(f.children[0]), self.type_(f.children[1]), self.span(f)) for f in ch[0].children]
            return ast.Forall(sp, binders, self.expr(ch[1]))
        if kind == "list_lit":
            return ast.ListLit(sp, self.args(ch[0]))
        raise AssertionError(kind)  # pragma: no cover


def parse_module(text: str, file: str) -> ast.Module:
    """Parse one module's source into its AST.

    Raises:
        DiagnosticError: on any syntax error (E001, E002), over-deep nesting (E004).
    """
    tree = parse_tree(text, file)
    builder = _Builder(file, text)
    try:
        return builder.module(tree)
    except RecursionError:
        raise DiagnosticError(
            [
                Diagnostic(
                    "E004",
                    "the input nests too deeply to read",
                    Span(file, 1, 1, 1, 2),
                    "split long expressions with `let` bindings",
                )
            ]
        ) from None
