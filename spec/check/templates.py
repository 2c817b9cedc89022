"""Template expansion: a module's declarations after `extends`, by name."""

from __future__ import annotations

from spec import ast
from spec.check.base import (
    CheckerBase,
    _Abort,
    _kind_of,
    _ModuleDecls,
)
from spec.diagnostics import Span, did_you_mean


class TemplateChecker(CheckerBase):
    """Template expansion: a module's declarations after `extends`, by name."""

    # ------------------------------------------------------------ phase 1
    def expand(self) -> None:
        """Expand templates and index declarations per module."""
        for name, mod in self.asts.items():
            chain: list[str] = []
            decls: dict[str, ast.Decl] = {}
            order: list[ast.Decl] = []
            imports: dict[str, ast.Import] = {}
            layers = self._template_chain(mod, chain)
            for layer in reversed(layers):
                for d in layer.decls:
                    if isinstance(d, ast.Import):
                        if d.name in imports and layer is mod and imports[d.name] in mod.decls:
                            self.error("E011", f"`{d.name}` is imported twice", d.span)
                        imports[d.name] = d
                        continue
                    key = "init" if isinstance(d, ast.Init) else d.name
                    if key in decls:
                        prev = decls[key]
                        overriding = (
                            layer is not self._owner(prev, layers)
                            and isinstance(d, ast.Action | ast.Fn)
                            and type(prev) is type(d)
                        )
                        if overriding:
                            order[order.index(prev)] = d
                            decls[key] = d
                            continue
                        if isinstance(d, ast.Init) and layer is not self._owner(prev, layers):
                            # a module's own init runs after its template's
                            merged = ast.Init("init", d.span, [*prev.body, *d.body])  # type: ignore[attr-defined]
                            order[order.index(prev)] = merged
                            decls[key] = merged
                            continue
                        self.error(
                            "E011",
                            f"`{d.name}` is declared twice in module `{name}`",
                            d.span,
                            f"the first declaration is at {prev.span}",
                        )
                        continue
                    decls[key] = d
                    order.append(d)
            self.mods[name] = _ModuleDecls(mod, decls, order, imports, tuple(chain))
        for md in self.mods.values():
            for imp in md.imports.values():
                if imp.name not in self.asts:
                    self.error("E012", f"no module `{imp.name}` to import", imp.span, did_you_mean(imp.name, self.asts))
                elif self.asts[imp.name].abstract:
                    self.error(
                        "E014",
                        f"`{imp.name}` is abstract; it cannot be imported",
                        imp.span,
                        "extend it instead: `module x extends " + imp.name + "`",
                    )
            for d in md.order:
                if isinstance(d, ast.Governed):
                    self.governors.add(d.via)

    def instance_gap(self, n: str, module: str, span: Span | None) -> _Abort | None:
        """The error for a name that a template's declaration uses at ``span``
        and ``module``, the instance being checked, does not declare: one
        E016 at the instance's ``extends`` that names the instance and the
        template (once per instance and name; a later use only stops
        checking). ``None`` when the use is not in a template of ``module``.

        Raises nothing: returns the :class:`_Abort` to raise.
        """
        md = self.mods.get(module)
        if md is None or span is None:
            return None
        template = next((t for t in md.chain if self.asts[t].file == span.file), None)
        if template is None:
            return None
        if (module, n) in self._gaps:
            return _Abort()
        self._gaps.add((module, n))
        others = sorted(m for m, o in self.mods.items() if template in o.chain and m != module and n in o.decls)
        like = f" (as `{others[0]}` does: {_kind_of(self.mods[others[0]].decls[n])})" if others else ""
        kind = type(self.mods[others[0]].decls[n]) if others else ast.Decl
        own = [d.name for d in md.source.decls if isinstance(d, kind) and not isinstance(d, ast.Init | ast.Import)]
        close = did_you_mean(n, own)
        hint = (f"declare `{n}` in module `{module}`{like}; `{template}` uses it at {span}"
                + (f"; {close}" if close else ""))
        return self.fail(
            "E016",
            f"module `{module}` extends `{template}` but does not declare `{n}`, which the template uses",
            md.source.extends_span or md.source.span,
            hint,
        )

    def _owner(self, decl: ast.Decl, layers: list[ast.Module]) -> ast.Module | None:
        for layer in layers:
            if any(d is decl for d in layer.decls):
                return layer
        return None

    def _template_chain(self, mod: ast.Module, chain: list[str]) -> list[ast.Module]:
        layers = [mod]
        seen = {mod.name}
        cur = mod
        while cur.extends is not None:
            parent = self.asts.get(cur.extends)
            if parent is None:
                self.error(
                    "E012",
                    f"no module `{cur.extends}` to extend",
                    cur.extends_span,
                    did_you_mean(cur.extends, self.asts),
                )
                break
            if not parent.abstract:
                self.error(
                    "E014",
                    f"`{parent.name}` is not abstract, so it cannot be extended",
                    cur.extends_span,
                    f"declare it `abstract module {parent.name}`",
                )
                break
            if parent.name in seen:
                self.error("E014", f"templates extend each other in a cycle through `{parent.name}`", cur.extends_span)
                break
            seen.add(parent.name)
            chain.append(parent.name)
            layers.append(parent)
            cur = parent
        return layers

