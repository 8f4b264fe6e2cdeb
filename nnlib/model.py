"""``Sequential``: a network as a list of layers; ``mlp`` builds common ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from ._validation import (
    as_model_input,
    check_inputs,
    check_number,
    check_positive_int,
    n_features,
)
from .activations import ACTIVATIONS
from .dense import Dense
from .dropout import Dropout
from .layer import Layer, Parameter, Shape
from .losses import softmax
from .serialization import load_layers, save_layers


class Sequential:
    r"""A feed-forward network: the composition of its layers.

    .. math:: f(x) = f_K(\dots f_2(f_1(x)))

    ``forward`` applies the layers in order; ``backward`` applies the chain rule in
    reverse, handing each layer the gradient of the loss with respect to its output:

    .. math::
        \frac{\partial L}{\partial h_{k-1}}
            = \text{layer}_k\text{.backward}
              \Big(\frac{\partial L}{\partial h_k}\Big), \qquad k = K, \dots, 1

    The layers are checked once, here: each must accept what the previous one outputs
    (``Layer.output_shape``), and all parameters must share one dtype.
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

    def _check_connections(self) -> None:
        """Check that each layer accepts the samples the previous layer outputs."""
        shape: Shape = (None,)  # the model's input width is not known yet
        for i, layer in enumerate(self.layers):
            try:
                shape = layer.output_shape(shape)
            except ValueError:
                raise ValueError(
                    f"layers[{i}] is {layer} but the previous layer outputs "
                    f"{shape[-1]} features"
                ) from None

    def _check_dtypes(self) -> None:
        """Check that all parameters share one dtype: mixing them silently promotes."""
        first: tuple[int, np.dtype] | None = None
        for i, layer in enumerate(self.layers):
            for p in layer.parameters():
                if first is None:
                    first = (i, p.value.dtype)
                elif p.value.dtype != first[1]:
                    raise ValueError(
                        f"layers[{i}] ({layer!r}) has {p.value.dtype} parameters but "
                        f"layers[{first[0]}] ({self.layers[first[0]]!r}) has "
                        f"{first[1]}: build every layer with the same dtype"
                    )

    @property
    def dtype(self) -> np.dtype:
        """Floating-point type of the parameters (float32 unless built otherwise)."""
        for p in self.parameters():
            return p.value.dtype
        return np.dtype(np.float32)

    @property
    def n_inputs(self) -> int | None:
        """Number of input features (of the first layer that fixes it), or None."""
        return next((lay.n_in for lay in self.layers if lay.n_in is not None), None)

    # ----------------------------------------------------------- forward and backward
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Run a batch ``x: (N, n_in)`` of the model's dtype through every layer.

        ``training`` switches dropout on. ``x`` is used as given: ``fit``, ``evaluate``
        and ``predict`` check and convert their data once, before the first batch.
        """
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(
        self, grad: np.ndarray, *, input_grad: bool = True
    ) -> np.ndarray | None:
        """Backpropagate ``∂L/∂output`` through the layers in reverse order.

        Returns ``∂L/∂x``; with ``input_grad=False`` (what training uses) the first
        layer skips that product, which nothing needs, and ``None`` is returned.
        """
        *rest, first = self.layers[::-1]
        for layer in rest:
            grad = layer.backward(grad)  # type: ignore[assignment]  # an array, not None
        return first.backward(grad, input_grad=input_grad)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The output in evaluation mode, caching nothing (see ``Layer.infer``).

        Predictions made this way never disturb training, even from another thread
        while ``fit`` runs.
        """
        for layer in self.layers:
            x = layer.infer(x)
        return x

    def parameters(self) -> list[Parameter]:
        """Every trainable array with its gradient, named ``"<layer index>.<key>"``."""
        return [
            p for i, layer in enumerate(self.layers) for p in layer.parameters(f"{i}.")
        ]

    def n_parameters(self) -> int:
        """Total number of trainable scalars."""
        return sum(p.value.size for p in self.parameters())

    def generators(self) -> dict[str, np.random.Generator]:
        """The layers' random generators, named ``"<name>/<layer index>"``."""
        return {
            f"{name}/{i}": gen
            for i, layer in enumerate(self.layers)
            for name, gen in layer.generators().items()
        }

    # ----------------------------------------------------------------------- inference
    def predict_proba(self, x: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
        """Class probabilities ``softmax(f(x))``, shape ``(N, C)``, in evaluation mode.

        ``x`` is a float array ``(N, features)`` or uint8 images ``(N, ...)``, which are
        flattened and scaled to [0, 1] one batch at a time, so memory stays bounded.
        """
        batches = self._logits_in_batches(x, batch_size)
        return np.concatenate([softmax(logits) for logits in batches])

    def predict(self, x: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
        """Predicted labels ``argmax_k f(x)_k``, shape ``(N,)``."""
        batches = self._logits_in_batches(x, batch_size)
        return np.concatenate([logits.argmax(axis=1) for logits in batches])

    def _logits_in_batches(
        self, x: np.ndarray, batch_size: int
    ) -> Iterator[np.ndarray]:
        """Check ``x`` once, then yield the logits of one batch at a time."""
        batch_size = check_positive_int(batch_size, "batch_size")
        x = check_inputs(x, "x", self.dtype)
        self.output_shape((n_features(x),))  # the right number of features?
        return self._batched_logits(x, batch_size)

    def _batched_logits(self, x: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
        for start in range(0, x.shape[0], batch_size):
            batch = as_model_input(x[start : start + batch_size], self.dtype)
            with np.errstate(over="ignore", invalid="ignore"):  # reported below
                logits = self.infer(batch)
            # Finite inputs give non-finite outputs only if the weights overflow them.
            if not np.isfinite(logits).all():
                raise ValueError(
                    f"the model's outputs for x[{start}:{start + batch_size}] are NaN "
                    f"or inf: its weights are too large for {self.dtype} (did its "
                    "training diverge?)"
                )
            yield logits

    def output_shape(self, input_shape: Shape) -> Shape:
        """Shape of one output sample for samples of ``input_shape``.

        For example ``(784,)`` gives ``(47,)``; a layer that cannot take what the
        previous one outputs raises ``ValueError``.
        """
        shape = input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    # ---------------------------------------------------------- description and files
    def summary(self) -> str:
        """A table of layers, output shapes and parameter counts."""
        shape: Shape = (self.n_inputs,)
        rows = [("Layer", "Output shape", "Params")]
        for i, layer in enumerate(self.layers):
            shape = layer.output_shape(shape)
            n = sum(v.size for v in layer.params.values())
            dims = ", ".join("?" if d is None else str(d) for d in shape)
            rows.append((f"{i}: {layer!r}", f"(N, {dims})", f"{n:,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        rule = "-" * (sum(widths) + 4)
        lines = [
            f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows
        ]
        lines.insert(1, rule)
        lines += [rule, f"Total trainable parameters: {self.n_parameters():,}"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n])"

    def save(self, path: str | Path) -> None:
        """Write weights and architecture to an ``.npz`` file, atomically.

        See ``nnlib.serialization`` for the format and its checks.
        """
        save_layers(self.layers, path)

    @classmethod
    def load(cls, path: str | Path) -> Sequential:
        """Rebuild a model saved by ``save``; never unpickles anything.

        Raises ``ValueError`` naming the file if it is damaged or its layers do not
        make a model (none, or one that cannot take what the previous one outputs).
        """
        layers = load_layers(path)
        try:
            return cls(layers)
        except ValueError as err:
            raise ValueError(f"{path} has an invalid architecture: {err}") from None


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
    """Build a multilayer perceptron: ``Dense → activation [→ Dropout]`` per hidden
    layer, then ``Dense``.

    The last layer has no activation: for classification its outputs are logits for
    ``SoftmaxCrossEntropy``; for regression the predictions for ``MeanSquaredError``.

    Parameters
    ----------
    n_in, n_out : input features and outputs (classes, or regression targets).
    hidden : widths of the hidden layers, e.g. ``[512, 256]`` (empty: a linear model).
    activation : one of ``"relu"``, ``"leaky_relu"``, ``"sigmoid"``, ``"tanh"``.
        ReLU-type layers use He initialization, the others Glorot; the output layer
        uses Glorot.
    dropout : drop probability after each hidden activation (0 disables dropout).
    rng : seed or Generator for weights and dropout masks (one seed fixes the model).
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
