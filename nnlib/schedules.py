r"""Learning-rate schedules.

A schedule is a callable ``factor = schedule(t)`` of the optimizer's step counter ``t = 0, 1, ...``
(one step per mini-batch); the optimizer uses :math:`\eta_t = \eta \cdot \text{factor}(t)`.
To think in epochs, multiply by the number of batches per epoch, ``ceil(N / batch_size)``.
"""

from __future__ import annotations

import math

from ._validation import check_number, check_positive_int


class StepDecay:
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps: :math:`\gamma^{\lfloor t / s \rfloor}`."""

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_positive_int(step_size, "step_size")
        self.gamma = check_number(
            gamma, "gamma", low=0.0, high=1.0, low_inclusive=False
        )

    def __call__(self, t: int) -> float:
        return self.gamma ** (t // self.step_size)

    def __repr__(self) -> str:
        return f"StepDecay(step_size={self.step_size}, gamma={self.gamma})"


class ExponentialDecay:
    r"""Shrink the rate smoothly: :math:`\gamma^{t}`."""

    def __init__(self, gamma: float) -> None:
        self.gamma = check_number(
            gamma, "gamma", low=0.0, high=1.0, low_inclusive=False
        )

    def __call__(self, t: int) -> float:
        return self.gamma**t

    def __repr__(self) -> str:
        return f"ExponentialDecay(gamma={self.gamma})"


class CosineDecay:
    r"""Half a cosine from 1 down to ``final_factor`` over ``total_steps``, then constant.

    .. math:: f(t) = f_{end} + (1 - f_{end}) \cdot \tfrac12 \left(1 + \cos(\pi \min(t, T) / T)\right)
    """

    def __init__(self, total_steps: int, final_factor: float = 0.0) -> None:
        self.total_steps = check_positive_int(total_steps, "total_steps")
        self.final_factor = check_number(
            final_factor, "final_factor", low=0.0, high=1.0
        )

    def __call__(self, t: int) -> float:
        progress = min(t, self.total_steps) / self.total_steps
        return self.final_factor + (1 - self.final_factor) * 0.5 * (
            1 + math.cos(math.pi * progress)
        )

    def __repr__(self) -> str:
        return f"CosineDecay(total_steps={self.total_steps}, final_factor={self.final_factor})"


#: The schedules known by name: ``make_schedule``, ``python -m nnlib train --schedule``.
SCHEDULE_NAMES = ("constant", "step", "cosine")


def make_schedule(
    name: str, epochs: int, steps_per_epoch: int
) -> StepDecay | CosineDecay | None:
    r"""The schedule called ``name`` for a run of ``epochs`` epochs.

    Schedules count optimizer steps (batches); ``steps_per_epoch`` (the number of
    batches per epoch, ``ceil(N / batch_size)``) converts the epochs below into steps.
    With :math:`E` = ``epochs`` and base rate :math:`\eta`:

    - ``"constant"``: :math:`\eta` throughout (returns ``None``, no schedule).
    - ``"step"``: tenfold smaller after every third of the run. With
      :math:`s = \lceil E/3 \rceil`, epochs :math:`1..s` use :math:`\eta`, epochs
      :math:`s+1..2s` use :math:`\eta/10`, later ones :math:`\eta/100`:
      ``StepDecay(s * steps_per_epoch, gamma=0.1)``.
    - ``"cosine"``: half a cosine from :math:`\eta` at the first step down to 0 at the
      end of epoch :math:`E`: ``CosineDecay(E * steps_per_epoch)``.
    """
    epochs = check_positive_int(epochs, "epochs")
    steps_per_epoch = check_positive_int(steps_per_epoch, "steps_per_epoch")
    if name == "constant":
        return None
    if name == "step":
        return StepDecay(math.ceil(epochs / 3) * steps_per_epoch, gamma=0.1)
    if name == "cosine":
        return CosineDecay(epochs * steps_per_epoch)
    raise ValueError(f"schedule must be one of {SCHEDULE_NAMES}, got {name!r}")
