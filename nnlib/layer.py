"""The interface every layer shares.

A layer is a function ``y = f(x; θ)`` that can also run backwards: given the gradient of the loss
with respect to its output, ``∂L/∂y``, it returns the gradient with respect to its input, ``∂L/∂x``,
and stores the gradients with respect to its parameters ``θ`` in ``grads``.

The vocabulary is the same everywhere in ``nnlib``:

* ``forward(x, training=False)`` computes the output and caches what ``backward`` will need;
* ``backward(grad_out)`` uses that cache and returns ``grad_in``;
* ``params`` and ``grads`` are dicts with the same keys (``{"W": ..., "b": ...}`` for a dense
  layer, empty for a layer with nothing to learn). An optimizer updates ``params`` in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np


class Parameter(NamedTuple):
    """One trainable array, its gradient and a readable name such as ``"0.W"``."""

    name: str
    value: np.ndarray
    grad: np.ndarray


class Layer:
    """Base class: a differentiable function with (possibly empty) parameters."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Compute the layer's output for a batch ``x`` and cache what ``backward`` needs."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Given ``∂L/∂output``, fill ``self.grads`` and return ``∂L/∂input``."""
        raise NotImplementedError

    def parameters(self, prefix: str = "") -> Iterator[Parameter]:
        """Yield each trainable array with its gradient, named ``prefix + key``."""
        for key, value in self.params.items():
            yield Parameter(prefix + key, value, self.grads[key])

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one output sample given the shape of one input sample (for ``summary``)."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this layer (saved as JSON by ``Sequential.save``)."""
        return {}

    def _cached(self, value: np.ndarray | None) -> np.ndarray:
        """Return a value cached by ``forward``, or explain that ``forward`` must run first."""
        if value is None:
            raise RuntimeError(f"{self!r}.backward() called before forward()")
        return value

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
