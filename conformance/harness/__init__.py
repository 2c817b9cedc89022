"""Run the same actions on the reference model and on deployed contracts,
and compare everything observable after each step.

The harness deploys every module of the spec on an EVM backend (through the
binding) and the model at the same addresses with the same parameters. A
:class:`Step` is one top-level action (or a clock advance); :meth:`Harness.run`
executes it on both sides and returns a :class:`StepReport` with every
:class:`Difference` found in:

- success or revert, and the revert reason;
- the return value;
- the events, in order;
- the whole observable state of every module (parameters, governed
  parameters, state; maps at every key the model knows plus every actor).

One class, :class:`Harness`, built in layers, one file per job:

- ``values.py``: steps, differences, reports, value conversions;
- ``deploy.py``: deployment of both sides, snapshots, starting states;
- ``storage.py``: the storage index (where each observable lives, what changed);
- ``views.py``: view functions against the model's functions;
- ``compare.py``: outcome, events and state comparison of one step;
- ``step.py``: :meth:`Harness.run`, one step on both sides.
"""

from conformance.harness.step import Harness
from conformance.harness.values import (
    MAX_TIME_STEP,
    MAX_VIEW_BLOCK_AGE,
    MAX_VIEW_CALLS,
    VIEW_STATE_BLOCKS,
    VIEW_STATE_MOMENTS,
    Difference,
    Step,
    StepReport,
    create_address,
    normal,
    peek,
    to_abi,
    to_checksum,
)

__all__ = [
    "MAX_TIME_STEP", "MAX_VIEW_BLOCK_AGE", "MAX_VIEW_CALLS", "VIEW_STATE_BLOCKS", "VIEW_STATE_MOMENTS",
    "Difference", "Harness", "Step", "StepReport", "create_address", "normal", "peek", "to_abi", "to_checksum",
]
