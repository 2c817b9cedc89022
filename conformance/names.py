"""Binding values and steps as model values: shared by the EVM harness and
the model-only run (:mod:`conformance.simulate`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from conformance.binding import Attack, Binding, BindingError, BindingStep
from spec import ir

if TYPE_CHECKING:
    from conformance.harness.values import Step
    from reference.model import Model


class BindingNames:
    """How a binding's values (``actor:N``, ``@module``, ``deployer``...) and
    steps turn into model values, given the deployment's accounts."""

    spec: ir.Spec
    binding: Binding
    deployer: int
    actors: list[int]
    addresses: dict[str, int]
    model: Model

    def resolve(self, token: Any, *, self_actor: int | None = None) -> Any:
        """Turn a binding value (``actor:N``, ``actor:self``, ``deployer``,
        ``@module``, a number) into a model value."""
        if isinstance(token, str):
            if token.startswith("actor:"):
                which = token.split(":", 1)[1]
                if which == "self":
                    if self_actor is None:
                        raise BindingError("`actor:self` is only meaningful in a prelude step for `actor:*`")
                    return self_actor
                return self.actors[int(which)]
            if token == "deployer":
                return self.deployer
            if token.startswith("@"):
                return self.addresses[token[1:]]
            if token.startswith("0x"):
                return int(token, 16)
            return int(float(token)) if "e" in token else int(token)
        if isinstance(token, float):
            return int(token)
        return token

    def _param_overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, m in self.spec.modules.items():
            for p in m.params.values():
                key = f"{name}.{p.name}"
                if key in self.binding.params:
                    out[key] = self.resolve(self.binding.params[key])
                elif p.default is None and p.type == ir.ADDRESS:
                    out[key] = self.actors[0]
            for g in m.governed.values():  # a governed address is a deployment argument too
                key = f"{name}.{g.name}"
                if g.type == ir.ADDRESS and key not in self.binding.params:
                    out[key] = self.actors[0]
        for key, value in self.binding.params.items():
            out.setdefault(key, self.resolve(value))
        return out

    def attack_steps(self, attack: Attack) -> Iterator[tuple[int, Step, str | None]]:
        """An attack's steps with actors resolved, each with the index of the
        attack's step it comes from and the reason it must revert with (None:
        it must succeed; a time step: None)."""
        for i, raw in enumerate(attack.steps):
            for step in self.binding_steps([raw]):
                yield i, step, attack.expected(i)

    def binding_steps(self, steps: Sequence[BindingStep]) -> Iterator[Step]:
        """Steps of a binding's prelude or scenario, with actors resolved. A
        signed request is written as a list of its fields followed by the
        word ``signed``: the request signed by its owner, as it is (its nonce
        and expiry too), for this chain and the module (:meth:`signed_args`).

        Raises:
            BindingError: ``signed`` in a step of an action without a ``signed`` clause.
        """
        from conformance.harness.values import Step

        for module, action, caller, args in steps:
            if module == "time":
                yield Step("time", seconds=int(caller), blocks=int(args[0]))
                continue
            callers = self.actors if caller == "actor:*" else [self.resolve(caller)]
            for c in callers:
                values = tuple(tuple(self.resolve(x, self_actor=c) for x in a) if isinstance(a, list)
                               else a if a == "signed" else self.resolve(a, self_actor=c) for a in args)
                if "signed" in values:
                    act = self.spec.modules[module].actions[action]
                    if act.signed_request is None:
                        raise BindingError(f"`signed` in a step of {module}.{action}, which has no `signed` clause")
                    values = self.signed_args(module, act, values)
                yield Step("action", module, action, c, values)

    def signed_args(self, module: str, act: ir.Action, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """A signed action's arguments with the request (a tuple of its
        fields) and ``signed`` as the model takes them: the request's record,
        and the abstract signature of its owner (the ``signed`` clause's
        field) over it, for this chain and ``module``'s address. The EVM
        harness signs with the owner's key instead (see its override)."""
        from conformance.signatures import _owner_field
        from reference.codegen import attr
        from reference.runtime import Signature

        r_index = next(i for i, (_, t) in enumerate(act.params) if isinstance(t, ir.RecordT)
                       and t.name == act.signed_request)
        rtype = act.params[r_index][1]
        assert isinstance(rtype, ir.RecordT)
        request = self.model.record(rtype.module, rtype.name, *values[r_index])
        owner = getattr(request, attr(_owner_field(act)))
        out = list(values)
        out[r_index] = request
        out[values.index("signed")] = Signature(owner, rtype.name, request, getattr(self, "chain_id", 1),
                                                self.addresses[module], True)
        return tuple(out)

