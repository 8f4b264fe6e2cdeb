r"""Inverted dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_number
from .layer import Layer


class Dropout(Layer):
    r"""Inverted dropout (Srivastava et al., 2014).

    During training each entry is kept with probability :math:`1 - p` and scaled up so
    that its expectation does not change:

    .. math::
        m_{ij} \sim \text{Bernoulli}(1 - p), \qquad
        y = \frac{m \odot x}{1 - p}, \qquad \mathbb E[y] = x, \qquad
        \frac{\partial L}{\partial x}
            = \frac{m}{1 - p} \odot \frac{\partial L}{\partial y}

    At evaluation (``training=False``) it is the identity, so predictions need no
    rescaling.

    Parameters
    ----------
    p : probability of *dropping* a unit, in ``[0, 1)``.
    rng : seed or ``np.random.Generator`` for the masks.

    Attributes
    ----------
    scaled_mask : :math:`m / (1 - p)` of the last training forward, the shape of its
        input (``None`` after an evaluation forward): what backward multiplies by.
    """

    def __init__(self, p: float, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.p = check_number(p, "p", low=0.0, high=1.0, high_inclusive=False)
        self.rng = np.random.default_rng(rng)
        self.scaled_mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.p == 0.0:
            self.scaled_mask = None
            return x
        # Draw the uniforms in float32: half the memory of the default float64 draws.
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self.scaled_mask = keep * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.scaled_mask

    def backward(
        self, grad_out: np.ndarray, *, input_grad: bool = True
    ) -> np.ndarray | None:
        if not input_grad:
            return None
        if self.scaled_mask is None:  # evaluation mode (or p = 0): the identity
            return grad_out
        return grad_out * self.scaled_mask

    def infer(self, x: np.ndarray) -> np.ndarray:
        return x  # evaluation mode: the identity, and no mask is drawn

    def generators(self) -> dict[str, np.random.Generator]:
        return {"dropout": self.rng}  # the masks' generator, saved by checkpoints

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}
