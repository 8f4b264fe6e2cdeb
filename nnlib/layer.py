"""The interface every layer shares.

A layer is a function ``y = f(x; θ)`` that can also run backwards: given the gradient
of the loss with respect to its output, ``∂L/∂y``, it returns the gradient with respect
to its input, ``∂L/∂x``, and stores the gradients with respect to its parameters ``θ``
in ``grads``.

The vocabulary is the same everywhere in ``nnlib``:

* ``forward(x, training=False)`` computes the output and caches what ``backward``
  needs;
* ``backward(grad_out, *, input_grad=True)`` uses that cache, fills ``grads`` and
  returns ``grad_in`` (``None`` when ``input_grad`` is False: nothing upstream needs
  it);
* ``infer(x)`` computes the evaluation-mode output and caches nothing, so predictions
  never disturb a backward pass (not even one running in another thread);
* ``params`` and ``grads`` are dicts with the same keys (``{"W": ..., "b": ...}`` for a
  dense layer, empty for a layer with nothing to learn). An optimizer updates
  ``params`` in place.

``Sequential`` and the model files need a little more, and ask the layer for it instead
of checking its class: ``n_in`` and ``output_shape`` (how layers connect),
``parameter_shapes`` (what a saved file must hold, known before anything is built),
``generators`` (random state that a checkpoint saves) and ``get_config``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

#: The shape of one sample; ``None`` stands for a width that is not known yet.
Shape = tuple[int | None, ...]


class Parameter(NamedTuple):
    """One trainable array, its gradient and a readable name such as ``"0.W"``."""

    name: str
    value: np.ndarray
    grad: np.ndarray


class Layer:
    """Base class: a differentiable function with (possibly empty) parameters."""

    #: Number of input features the layer requires, or None if it takes any width.
    n_in: int | None = None

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Compute the output for a batch ``x`` and cache what ``backward`` needs."""
        raise NotImplementedError

    def backward(
        self, grad_out: np.ndarray, *, input_grad: bool = True
    ) -> np.ndarray | None:
        """Given ``∂L/∂output``, fill ``grads``; return ``∂L/∂input`` (or None)."""
        raise NotImplementedError

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The output in evaluation mode, leaving the layer's caches untouched.

        This default runs ``forward`` on a shallow copy, which receives the caches
        (the parameters are shared, not copied). Layers override it with the plain
        formula, which also skips computing what only ``backward`` needs.
        """
        return copy.copy(self).forward(x, training=False)

    def parameters(self, prefix: str = "") -> Iterator[Parameter]:
        """Yield each trainable array with its gradient, named ``prefix + key``."""
        for key, value in self.params.items():
            yield Parameter(prefix + key, value, self.grads[key])

    def output_shape(self, input_shape: Shape) -> Shape:
        """Shape of one output sample for one input sample of ``input_shape``.

        Raises ``ValueError`` if the layer cannot take such samples.
        """
        return input_shape

    @classmethod
    def parameter_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        """Shapes of the parameters of ``cls(**config)``, known without building it.

        Model files are checked against them before any array is read or layer built.
        """
        return {}

    def generators(self) -> dict[str, np.random.Generator]:
        """The random generators the layer draws from while training, by name."""
        return {}

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this layer (saved as JSON in files)."""
        return {}

    def _cached(self, value: np.ndarray | None) -> np.ndarray:
        """A value cached by ``forward``, or an explanation that it must run first."""
        if value is None:
            raise RuntimeError(f"{self!r}.backward() called before forward()")
        return value

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
