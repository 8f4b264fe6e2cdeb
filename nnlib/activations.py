r"""Element-wise activation functions and their derivatives.

Each activation applies :math:`a = f(z)` to every entry of its input, so its backward
pass is an element-wise product with the derivative:

.. math:: \frac{\partial L}{\partial z} = \frac{\partial L}{\partial a} \odot f'(z)

All shapes are preserved: ``z``, ``a`` and both gradients are ``(N, d)``. With
``input_grad=False`` (the layer is first in the network) ``backward`` returns ``None``:
the product is the only thing it computes, and nothing upstream needs it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_number
from .layer import Layer


class ReLU(Layer):
    r"""Rectified linear unit: :math:`f(z) = \max(z, 0)`, :math:`f'(z) = [z > 0]`.

    A unit whose input is negative for every sample passes no gradient at all: it is
    "dead" and stops learning. He initialization and moderate learning rates keep that
    rare.
    """

    def __init__(self) -> None:
        super().__init__()
        self._active: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._active = x > 0
        return np.maximum(x, 0)

    def backward(
        self, grad_out: np.ndarray, *, input_grad: bool = True
    ) -> np.ndarray | None:
        return grad_out * self._cached(self._active) if input_grad else None

    def infer(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0)


class LeakyReLU(Layer):
    r"""Leaky ReLU: :math:`f(z) = z` for :math:`z > 0`, else :math:`\alpha z`.

    The derivative is 1 or :math:`\alpha`, never 0, so no unit can die.
    """

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = check_number(
            alpha, "alpha", low=0.0, high=1.0, high_inclusive=False
        )
        self._slope: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        # The local slope is 1 where z > 0 and alpha elsewhere; keep it for backward.
        self._slope = np.where(x > 0, x.dtype.type(1), x.dtype.type(self.alpha))
        return x * self._slope

    def backward(
        self, grad_out: np.ndarray, *, input_grad: bool = True
    ) -> np.ndarray | None:
        return grad_out * self._cached(self._slope) if input_grad else None

    def infer(self, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, x * x.dtype.type(self.alpha))

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class Sigmoid(Layer):
    r"""Logistic sigmoid: :math:`\sigma(z) = 1 / (1 + e^{-z})`.

    Its derivative is :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))`. Computed as
    :math:`\sigma(z) = \tfrac12 (1 + \tanh(z/2))`, an exact identity that never
    overflows (``np.exp(-z)`` does for ``z < -89`` in float32).
    """

    def __init__(self) -> None:
        super().__init__()
        self._derivative: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        s = 0.5 * (1.0 + np.tanh(0.5 * x))
        # Cache the local derivative s(1 - s), not s itself: the caller owns the
        # returned array and may change it in place, which must not change the gradient.
        self._derivative = s * (1.0 - s)
        return s

    def backward(
        self, grad_out: np.ndarray, *, input_grad: bool = True
    ) -> np.ndarray | None:
        return grad_out * self._cached(self._derivative) if input_grad else None

    def infer(self, x: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(0.5 * x))


class Tanh(Layer):
    r"""Hyperbolic tangent: :math:`f(z) = \tanh z`, :math:`f'(z) = 1 - \tanh^2 z`."""

    def __init__(self) -> None:
        super().__init__()
        self._derivative: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        t = np.tanh(x)
        self._derivative = 1.0 - t * t  # cached apart from the output, as in Sigmoid
        return t

    def backward(
        self, grad_out: np.ndarray, *, input_grad: bool = True
    ) -> np.ndarray | None:
        return grad_out * self._cached(self._derivative) if input_grad else None

    def infer(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x)


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
}
