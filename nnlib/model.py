"""``Sequential``: a network as a list of layers, and ``mlp``, a builder for common architectures."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from ._validation import (
    as_model_input,
    check_float_array,
    check_number,
    check_positive_int,
)
from .activations import ACTIVATIONS
from .dense import Dense
from .dropout import Dropout
from .layer import Layer, Parameter
from .losses import softmax


class Sequential:
    r"""A feed-forward network: the composition of its layers.

    .. math:: f(x) = f_K(\dots f_2(f_1(x)))

    ``forward`` applies the layers in order; ``backward`` applies the chain rule in reverse,
    handing each layer the gradient of the loss with respect to its output:

    .. math::
        \frac{\partial L}{\partial h_{k-1}} = \text{layer}_k\text{.backward}\Big(\frac{\partial L}{\partial h_k}\Big),
        \qquad k = K, \dots, 1
    """

    def __init__(self, layers: Iterable[Layer]) -> None:
        self.layers: list[Layer] = list(layers)
        if not self.layers:
            raise ValueError("Sequential needs at least one layer, got none")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layers[{i}] must be an nnlib Layer, got {type(layer).__name__}"
                )
        self._check_connections()
        self._check_dtypes()

    def _check_dtypes(self) -> None:
        """Check that every parameter has the same dtype: mixing them would silently promote."""
        first: tuple[int, np.dtype] | None = None
        for i, layer in enumerate(self.layers):
            for p in layer.parameters():
                if first is None:
                    first = (i, p.value.dtype)
                elif p.value.dtype != first[1]:
                    raise ValueError(
                        f"layers[{i}] ({layer!r}) has {p.value.dtype} parameters but "
                        f"layers[{first[0]}] ({self.layers[first[0]]!r}) has {first[1]}: "
                        f"build every layer with the same dtype"
                    )

    def _check_connections(self) -> None:
        """Check that each Dense layer's input width matches the previous Dense layer's output."""
        width: int | None = None
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense):
                if width is not None and layer.n_in != width:
                    raise ValueError(
                        f"layers[{i}] is Dense({layer.n_in}, {layer.n_out}) but the previous "
                        f"layer outputs {width} features"
                    )
                width = layer.n_out

    @property
    def dtype(self) -> np.dtype:
        """Floating-point type of the parameters (float32 unless built otherwise)."""
        for p in self.parameters():
            return p.value.dtype
        return np.dtype(np.float32)

    @property
    def n_inputs(self) -> int | None:
        """Number of input features (of the first Dense layer), or None if there is none."""
        first = next((layer for layer in self.layers if isinstance(layer, Dense)), None)
        return None if first is None else first.n_in

    # ------------------------------------------------------------------ forward and backward
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Run a batch ``x: (N, n_in)`` through every layer; ``training`` switches dropout on."""
        x = check_float_array(x, "x", ndim=2).astype(self.dtype, copy=False)
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(
        self, grad: np.ndarray, *, input_grad: bool = True
    ) -> np.ndarray | None:
        """Backpropagate ``∂L/∂output`` through the layers in reverse, filling every ``grads``.

        Returns ``∂L/∂x``; with ``input_grad=False`` (what training uses) a first Dense layer skips
        that product, which nothing needs, and ``None`` is returned.
        """
        *rest, first = self.layers[::-1]
        for layer in rest:
            grad = layer.backward(grad)
        if isinstance(first, Dense):
            return first.backward(grad, input_grad=input_grad)
        return first.backward(grad)

    def parameters(self) -> list[Parameter]:
        """Every trainable array with its gradient, named ``"<layer index>.<key>"`` (e.g. ``"0.W"``)."""
        return [
            p for i, layer in enumerate(self.layers) for p in layer.parameters(f"{i}.")
        ]

    def n_parameters(self) -> int:
        """Total number of trainable scalars."""
        return sum(p.value.size for p in self.parameters())

    # ------------------------------------------------------------------ inference
    def predict_proba(self, x: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
        """Class probabilities ``softmax(f(x))``, shape ``(N, C)``, in evaluation mode.

        ``x`` is a float array ``(N, features)`` or uint8 images ``(N, ...)``, which are flattened
        and scaled to [0, 1] one batch at a time, so memory stays bounded for any ``N``.
        """
        return np.concatenate(
            [softmax(logits) for logits in self._logits_in_batches(x, batch_size)]
        )

    def predict(self, x: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
        """Predicted class labels ``argmax_k f(x)_k``, shape ``(N,)`` (for regression use ``forward``)."""
        return np.concatenate(
            [logits.argmax(axis=1) for logits in self._logits_in_batches(x, batch_size)]
        )

    def _logits_in_batches(
        self, x: np.ndarray, batch_size: int
    ) -> Iterable[np.ndarray]:
        batch_size = check_positive_int(batch_size, "batch_size")
        x = np.asarray(x)
        if x.ndim < 2 or x.shape[0] == 0:
            raise ValueError(
                f"x must be a non-empty batch of shape (N, features), got {x.shape}"
            )
        for start in range(0, x.shape[0], batch_size):
            batch = as_model_input(x[start : start + batch_size], self.dtype, "x")
            yield self.forward(batch, training=False)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one sample's output for samples of ``input_shape`` (e.g. ``(784,)`` -> ``(47,)``)."""
        shape = input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    # ------------------------------------------------------------------ description and files
    def summary(self) -> str:
        """A table of layers, output shapes and parameter counts."""
        shape: tuple[int, ...] = (
            (self.n_inputs,) if self.n_inputs is not None else ("?",)
        )  # type: ignore[assignment]
        rows = [("Layer", "Output shape", "Params")]
        for i, layer in enumerate(self.layers):
            shape = layer.output_shape(shape)
            n = sum(v.size for v in layer.params.values())
            rows.append(
                (f"{i}: {layer!r}", f"(N, {', '.join(map(str, shape))})", f"{n:,}")
            )
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        rule = "-" * (sum(widths) + 4)
        lines = [
            f"{rows[0][0]:<{widths[0]}}  {rows[0][1]:<{widths[1]}}  {rows[0][2]:>{widths[2]}}",
            rule,
        ]
        lines += [
            f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}"
            for a, b, c in rows[1:]
        ]
        lines += [rule, f"Total trainable parameters: {self.n_parameters():,}"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n])"

    def save(self, path: str | Path) -> None:
        """Write weights and architecture to an ``.npz`` file atomically (see ``nnlib.serialization``)."""
        from .serialization import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Sequential:
        """Rebuild a model saved by ``save``; never unpickles anything."""
        from .serialization import load_model

        return load_model(path)


def mlp(
    n_in: int,
    hidden: Sequence[int],
    n_out: int,
    *,
    activation: str = "relu",
    dropout: float = 0.0,
    rng: np.random.Generator | int | None = None,
    dtype: type = np.float32,
) -> Sequential:
    """Build a multilayer perceptron ``Dense → activation [→ Dropout]`` per hidden layer, then ``Dense``.

    The last layer has no activation: for classification its outputs are logits for
    ``SoftmaxCrossEntropy``; for regression they are the predictions for ``MeanSquaredError``.

    Parameters
    ----------
    n_in, n_out : input features and outputs (classes, or regression targets).
    hidden : widths of the hidden layers, e.g. ``[512, 256]`` (may be empty: a linear model).
    activation : one of ``"relu"``, ``"leaky_relu"``, ``"sigmoid"``, ``"tanh"``. ReLU-type
        layers use He initialization, the others Glorot; the output layer uses Glorot.
    dropout : drop probability after each hidden activation (0 disables dropout).
    rng : seed or Generator for weights and dropout masks (one seed fixes the whole model).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
        )
    dropout = check_number(dropout, "dropout", low=0.0, high=1.0, high_inclusive=False)
    if isinstance(hidden, (int, np.integer)):
        raise TypeError(
            f"hidden must be a list of layer widths such as [512, 256], got {hidden!r}"
        )
    widths = [check_positive_int(n_in, "n_in")]
    widths += [check_positive_int(h, f"hidden[{i}]") for i, h in enumerate(hidden)]
    n_out = check_positive_int(n_out, "n_out")
    rng = np.random.default_rng(rng)
    init = "he" if activation in ("relu", "leaky_relu") else "glorot"
    layers: list[Layer] = []
    for fan_in, fan_out in pairwise(widths):
        layers += [
            Dense(fan_in, fan_out, init=init, rng=rng, dtype=dtype),
            ACTIVATIONS[activation](),
        ]
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng))
    layers.append(Dense(widths[-1], n_out, init="glorot", rng=rng, dtype=dtype))
    return Sequential(layers)
