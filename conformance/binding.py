"""Bindings: how an implementation maps onto the spec.

An implementation is a set of contracts (Vyper sources, or compiled artifacts
from any compiler) plus the mapping from the spec's names to the ABI's names
and to storage. A binding is a JSON file::

    {
      "name": "tiny-vyper",
      "spec": "../spec",                        // spec directory, relative to this file
      "modules": {
        "cash":  {"vyper": "cash.vy"},
        "vault": {"vyper": "vault.vy",
                  "names": {"floor": "floor_price"},   // spec name -> implementation name
                  "constructor": ["floor", "bronze", "issue", "owner", "@cash"]}
      },
      "params": {"vault.owner": "actor:0"},       // deployment values, overriding spec defaults
      "prelude": [["cash", "mint", "actor:*", ["actor:self", 1e24]]],
      "scenarios": {"launched": [["vault", "open", "actor:0", []], ["time", 3600, 1]]}
    }

A step is ``[module, action, caller, [args...]]`` or ``["time", seconds, blocks]``.
The prelude runs (and is compared) once after deployment. Each scenario is a
further starting state: a campaign splits its sequences between the state
after the prelude and the state after each scenario, so that generated
sequences also start deep in the protocol's life (a launched pool, an open
window).

Defaults, so that a binding stays short:

- every action, state variable, parameter, event and event field keeps its spec
  name (``names`` overrides; one map for all of them);
- the constructor takes the module's parameters in spec order, then the
  address of each imported module in the order the IR lists imports
  (``@name`` in an explicit list);
- state is read from storage through the compiler's layout when the artifact
  has one and the variable is in it, else through the public getter.

An artifact module (``{"artifact": "x.json"}``) holds ``abi`` and
``bytecode`` (and optionally ``layout``), so a Solidity or other build is
checked with no change to the suite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec.driver import SpecHasErrors, load_spec

if TYPE_CHECKING:
    from spec import ir

__all__ = ["Binding", "BindingError", "BindingStep", "ModuleBinding", "SpecHasErrors", "load_binding",
           "load_implementation"]


class BindingError(Exception):
    """The binding file is missing, malformed, or disagrees with the spec."""


# (module, action, caller, args), or ("time", "", seconds, (blocks,))
BindingStep = tuple[str, str, str, tuple[Any, ...]]


def _steps(raw: Any, where: str, p: Path) -> tuple[BindingStep, ...]:
    if not isinstance(raw, list):
        raise BindingError(f"{p}: `{where}` is a list of steps")
    out: list[BindingStep] = []
    for step in raw:
        if (isinstance(step, list) and len(step) == 3 and step[0] == "time"
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in step[1:])):
            out.append(("time", "", str(step[1]), (step[2],)))
        elif isinstance(step, list) and len(step) == 4 and isinstance(step[3], list):
            out.append((str(step[0]), str(step[1]), str(step[2]), tuple(step[3])))
        else:
            raise BindingError(f"{p}: a step of `{where}` is [module, action, caller, [args...]] "
                               f"or [\"time\", seconds, blocks] with whole numbers, not {step!r}")
    return tuple(out)


@dataclass(frozen=True)
class ModuleBinding:
    """How one spec module is implemented."""

    module: str
    vyper: Path | None = None
    artifact: Path | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    constructor: tuple[str, ...] | None = None

    def name(self, spec_name: str) -> str:
        """The implementation's name for a spec name."""
        return self.names.get(spec_name, spec_name)


@dataclass(frozen=True)
class Binding:
    """An implementation of a whole spec."""

    name: str
    path: Path
    spec_dir: Path
    modules: Mapping[str, ModuleBinding]
    params: Mapping[str, Any] = field(default_factory=dict)
    prelude: tuple[BindingStep, ...] = ()
    scenarios: Mapping[str, tuple[BindingStep, ...]] = field(default_factory=dict)
    actors: int = 4

    @property
    def starts(self) -> list[str | None]:
        """The starting states of a campaign: after the prelude (None), then each scenario."""
        return [None, *self.scenarios]


def load_binding(path: str | Path) -> Binding:
    """Read a binding file.

    Raises:
        BindingError: the file cannot be read or has the wrong shape.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BindingError(f"cannot read binding {p}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise BindingError(f"{p}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        raise BindingError(f"{p}: a binding is an object with a `modules` object")
    base = p.parent
    modules: dict[str, ModuleBinding] = {}
    for name, m in data["modules"].items():
        if not isinstance(m, dict) or ("vyper" in m) == ("artifact" in m):
            raise BindingError(f"{p}: module `{name}` needs exactly one of `vyper` or `artifact`")
        ctor = m.get("constructor")
        modules[name] = ModuleBinding(
            module=name,
            vyper=base / m["vyper"] if "vyper" in m else None,
            artifact=base / m["artifact"] if "artifact" in m else None,
            names=dict(m.get("names", {})),
            constructor=tuple(ctor) if ctor is not None else None,
        )
    prelude = _steps(data.get("prelude", []), "prelude", p)
    scenarios_raw = data.get("scenarios", {})
    if not isinstance(scenarios_raw, dict):
        raise BindingError(f"{p}: `scenarios` maps names to lists of steps")
    scenarios = {name: _steps(steps, f"scenarios.{name}", p) for name, steps in scenarios_raw.items()}
    return Binding(
        name=str(data.get("name", p.stem)),
        path=p,
        spec_dir=(base / data.get("spec", ".")).resolve(),
        modules=modules,
        params=dict(data.get("params", {})),
        prelude=prelude,
        scenarios=scenarios,
        actors=int(data.get("actors", 4)),
    )


def load_implementation(path: str | Path) -> tuple[Binding, ir.Spec]:
    """The binding at ``path`` and the checked spec it names.

    Raises:
        BindingError: the binding file is missing or malformed.
        SpecHasErrors: the spec does not check.
    """
    binding = load_binding(path)
    return binding, load_spec([binding.spec_dir]).checked_spec(binding.spec_dir)
