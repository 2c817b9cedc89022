"""Ways to draw a value, each usable two ways: as a hypothesis strategy, and
from a seeded pseudo-random generator.

The generator's strategies (:mod:`conformance.strategies`) are stated once,
as a tree of these :class:`Draw` nodes. A step's own caller and arguments are
drawn by hypothesis (``Draw.strategy``), which shrinks them when a sequence
fails. A step's extra draws (the callers and arguments it tries besides its
own and keeps only when their outcome on the model is rarer, see
``conformance.machine.MAX_RETRIES``) come from one seeded ``random.Random``
(``Draw.sample``): drawing them through hypothesis cost more than the step
itself, and shrinking them adds nothing, since the trace keeps only the one
that ran. Both ways draw from the same values with the same choices, the
PRNG with equal weights among the branches of a :class:`OneOf` and, for a
wide range of integers, as often a number of any bit length as a uniform one
(hypothesis also favours small numbers).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies._internal.lazy import unwrap_strategies

# Integer ranges at least this wide are sampled half the time by bit length.
WIDE = 2**16


class Named(st.SearchStrategy[Any]):
    """``inner`` under a short name: what it draws, and how (its choices,
    its span and label), are ``inner``'s.

    Hypothesis writes a state machine's rules, with every argument's
    strategy, into a note each time a rule it drew is not enabled (a
    precondition, swarm testing): with the spec's numbers in them that text
    ran to megabytes, copied and hashed at most steps."""

    def __init__(self, inner: st.SearchStrategy[Any], name: str) -> None:
        super().__init__()
        self.inner, self.name = inner, name

    @cached_property
    def _unwrapped(self) -> Any:
        return unwrap_strategies(self.inner)

    def __repr__(self) -> str:
        return self.name

    def calc_label(self) -> int:
        return int(self._unwrapped.label)

    def do_draw(self, data: Any) -> Any:
        return self._unwrapped.do_draw(data)

    def _invert(self, value: Any) -> Any:
        return self._unwrapped._invert(value)

    def do_validate(self) -> None:
        self.inner.validate()

    def calc_is_empty(self, recur: Any) -> bool:
        return bool(recur(self._unwrapped))

    def is_currently_empty(self, data: Any) -> bool:
        return bool(self._unwrapped.is_currently_empty(data))


class Draw:
    """A way to draw a value: :attr:`strategy` for hypothesis, :meth:`sample` from a PRNG."""

    @cached_property
    def strategy(self) -> st.SearchStrategy[Any]:
        """The hypothesis strategy of this draw (made once)."""
        return self._strategy()

    def _strategy(self) -> st.SearchStrategy[Any]:
        raise NotImplementedError

    def sample(self, rng: random.Random) -> Any:
        """One value drawn with ``rng``."""
        raise NotImplementedError


class Just(Draw):
    """Always ``value``."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def _strategy(self) -> st.SearchStrategy[Any]:
        return st.just(self.value)

    def sample(self, rng: random.Random) -> Any:
        return self.value


class Sampled(Draw):
    """One of ``values``, each as likely."""

    def __init__(self, values: Sequence[Any]) -> None:
        self.values = tuple(values)

    def _strategy(self) -> st.SearchStrategy[Any]:
        return st.sampled_from(self.values)

    def sample(self, rng: random.Random) -> Any:
        return self.values[rng.randrange(len(self.values))]


class Integers(Draw):
    """An integer from ``low`` to ``high`` (both included)."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def _strategy(self) -> st.SearchStrategy[Any]:
        return st.integers(self.low, self.high)

    def sample(self, rng: random.Random) -> Any:
        span = self.high - self.low
        if span >= WIDE and rng.getrandbits(1):
            # a number of a bit length drawn uniformly: small ones as often as huge ones
            bits = rng.randrange(span.bit_length() + 1)
            return self.low + min(rng.getrandbits(bits) if bits else 0, span)
        return self.low + rng.randrange(span + 1)


class Booleans(Draw):
    """False or True."""

    def _strategy(self) -> st.SearchStrategy[Any]:
        return st.booleans()

    def sample(self, rng: random.Random) -> Any:
        return bool(rng.getrandbits(1))


class OneOf(Draw):
    """A draw of one of ``parts``, each as likely (a part named twice, twice
    as likely; a :class:`Sampled` of no values, never)."""

    def __init__(self, *parts: Draw) -> None:
        self.parts = parts
        self.live = tuple(p for p in parts if not (isinstance(p, Sampled) and not p.values))

    def _strategy(self) -> st.SearchStrategy[Any]:
        return st.one_of(*(p.strategy for p in self.parts))

    def sample(self, rng: random.Random) -> Any:
        return self.live[rng.randrange(len(self.live))].sample(rng)


class Build(Draw):
    """``make`` applied to a draw of each of ``parts``."""

    def __init__(self, make: Callable[..., Any], *parts: Draw) -> None:
        self.make, self.parts = make, parts

    def _strategy(self) -> st.SearchStrategy[Any]:
        return st.builds(self.make, *(p.strategy for p in self.parts))

    def sample(self, rng: random.Random) -> Any:
        return self.make(*(p.sample(rng) for p in self.parts))


class Tuples(Draw):
    """A tuple of a draw of each of ``parts``."""

    def __init__(self, *parts: Draw) -> None:
        self.parts = parts

    def _strategy(self) -> st.SearchStrategy[Any]:
        return st.tuples(*(p.strategy for p in self.parts))

    def sample(self, rng: random.Random) -> Any:
        return tuple(p.sample(rng) for p in self.parts)
