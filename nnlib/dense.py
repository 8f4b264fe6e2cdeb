"""The fully connected (dense) layer: ``Y = X W + b``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import check_positive_int
from .layer import Layer, Shape

INITIALIZERS = ("he", "glorot")


class Dense(Layer):
    r"""Fully connected layer.

    Forward, for a batch of ``N`` samples:

    .. math::
        Y = X W + b, \qquad X: (N, n_{in}),\; W: (n_{in}, n_{out}),\;
        b: (n_{out},),\; Y: (N, n_{out})

    Backward, given :math:`G = \partial L / \partial Y` of shape ``(N, n_out)``:

    .. math::
        \frac{\partial L}{\partial W} = X^\top G, \qquad
        \frac{\partial L}{\partial b} = \sum_{n} G_{n,:}, \qquad
        \frac{\partial L}{\partial X} = G W^\top

    Parameters
    ----------
    n_in, n_out : number of input and output features.
    init : ``"he"`` draws :math:`W \sim \mathcal N(0, 2/n_{in})`, which keeps the
        variance of activations constant through ReLU layers (He et al., 2015);
        ``"glorot"`` draws :math:`W \sim \mathcal U(-a, a)` with
        :math:`a = \sqrt{6/(n_{in}+n_{out})}`, suited to tanh/sigmoid and to the output
        layer (Glorot & Bengio, 2010). Biases start at zero.
    rng : seed or ``np.random.Generator`` for the initial weights.
    dtype : floating-point type of the parameters (float32 is fast; tests use float64).
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        init: str = "he",
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        if init not in INITIALIZERS:
            raise ValueError(f"init must be one of {INITIALIZERS}, got {init!r}")
        dtype = np.dtype(dtype)
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"dtype must be a floating-point type, got {dtype}")
        self.init = init
        rng = np.random.default_rng(rng)
        if init == "he":
            weights = rng.standard_normal((self.n_in, self.n_out)) * math.sqrt(
                2.0 / self.n_in
            )
        else:
            limit = math.sqrt(6.0 / (self.n_in + self.n_out))
            weights = rng.uniform(-limit, limit, size=(self.n_in, self.n_out))
        self.params = {
            "W": weights.astype(dtype),
            "b": np.zeros(self.n_out, dtype=dtype),
        }
        # Gradients are preallocated once and overwritten by every backward pass, so
        # an optimizer can hold on to them and no new arrays are created per batch.
        self.grads = {
            "W": np.zeros_like(self.params["W"]),
            "b": np.zeros_like(self.params["b"]),
        }
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"{self} expected input with {self.n_in} features, "
                f"got array of shape {x.shape}"
            )
        self._x = x
        out = x @ self.params["W"]
        # in place: `x @ W + b` would allocate a second (N, n_out) array
        out += self.params["b"]
        return out

    def backward(
        self, grad_out: np.ndarray, *, input_grad: bool = True
    ) -> np.ndarray | None:
        """Fill ``grads["W"]`` and ``grads["b"]``; return ``∂L/∂X`` unless not wanted.

        The first layer of a network does not need ``∂L/∂X`` (nothing upstream learns),
        and that product costs as much as ``∂L/∂W``, so ``Sequential`` passes
        ``input_grad=False`` to it and gets ``None``.
        """
        x = self._cached(self._x)
        if grad_out.shape != (x.shape[0], self.n_out):
            raise ValueError(
                f"{self}.backward expected a gradient of shape "
                f"{(x.shape[0], self.n_out)}, got {grad_out.shape}"
            )
        np.matmul(x.T, grad_out, out=self.grads["W"])
        np.sum(grad_out, axis=0, out=self.grads["b"])
        return grad_out @ self.params["W"].T if input_grad else None

    def infer(self, x: np.ndarray) -> np.ndarray:
        """``X W + b`` without caching ``X`` (see ``Layer.infer``)."""
        out = x @ self.params["W"]
        out += self.params["b"]
        return out

    def output_shape(self, input_shape: Shape) -> Shape:
        if input_shape[-1] is not None and input_shape != (self.n_in,):
            raise ValueError(
                f"{self} expected input with {self.n_in} features, "
                f"got samples of shape {input_shape}"
            )
        return (self.n_out,)

    @classmethod
    def parameter_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        n_in = check_positive_int(config["n_in"], "n_in")
        n_out = check_positive_int(config["n_out"], "n_out")
        return {"W": (n_in, n_out), "b": (n_out,)}

    def get_config(self) -> dict[str, Any]:
        return {
            "n_in": self.n_in,
            "n_out": self.n_out,
            "init": self.init,
            "dtype": self.params["W"].dtype.name,
        }

    def __str__(self) -> str:
        return f"Dense({self.n_in}, {self.n_out})"  # short, for error messages
