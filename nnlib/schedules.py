r"""Learning-rate schedules.

A schedule is a callable ``factor = schedule(t)`` of the optimizer's step counter
``t = 0, 1, ...`` (one step per mini-batch); the optimizer uses
:math:`\eta_t = \eta \cdot \text{factor}(t)`. To think in epochs, multiply by the
number of batches per epoch, ``ceil(N / batch_size)``.
"""

from __future__ import annotations

import math

from ._validation import check_number, check_positive_int


class StepDecay:
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps.

    .. math:: f(t) = \gamma^{\lfloor t / s \rfloor}
    """

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
    r"""Half a cosine from 1 to ``final_factor`` over ``total_steps``, then constant.

    .. math::
        f(t) = f_{end} + (1 - f_{end}) \cdot
               \tfrac12 \left(1 + \cos(\pi \min(t, T) / T)\right)
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
        args = f"total_steps={self.total_steps}, final_factor={self.final_factor}"
        return f"CosineDecay({args})"
