"""Loss functions: a scalar that measures how wrong the network's outputs are.

A loss has the same two-step vocabulary as a layer: ``loss = L.forward(output, target)`` computes
the number and caches what is needed, then ``grad = L.backward()`` returns ``∂loss/∂output``, the
gradient that starts backpropagation.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_float_array, check_labels


class Loss:
    """Base class for losses."""

    #: True when targets are class labels and outputs are logits (``fit`` then reports accuracy).
    is_classification: bool = False

    def forward(self, output: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def _check_not_empty(self, output: np.ndarray) -> None:
        """Raise if the batch has no samples: the mean over N = 0 rows would be NaN."""
        if output.shape[0] == 0:
            raise ValueError(
                f"{type(self).__name__} got an empty batch (output shape {output.shape}): "
                f"the loss is a mean over samples and needs at least one"
            )

    def _cached(self, value: np.ndarray | None) -> np.ndarray:
        if value is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() called before forward()"
            )
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def log_softmax(logits: np.ndarray) -> np.ndarray:
    r"""Row-wise :math:`\log \operatorname{softmax}(z)`, stable for logits of any magnitude.

    .. math::
        \log p_{k} = z_k - \log \sum_j e^{z_j}
                   = (z_k - m) - \log \sum_j e^{z_j - m}, \qquad m = \max_j z_j

    Subtracting the row maximum ``m`` changes nothing mathematically, but keeps every exponent
    ``<= 0``, so ``exp`` never overflows (``exp(89)`` is already inf in float32).
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    r"""Row-wise softmax :math:`p_k = e^{z_k} / \sum_j e^{z_j}`, computed stably (see ``log_softmax``)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    exp /= exp.sum(axis=1, keepdims=True)
    return exp


class SoftmaxCrossEntropy(Loss):
    r"""Softmax followed by cross-entropy, fused into one stable step.

    For logits :math:`Z: (N, C)` and integer labels :math:`y: (N,)`:

    .. math::
        P = \operatorname{softmax}(Z), \qquad
        L = -\frac1N \sum_{n=1}^{N} \log P_{n, y_n}, \qquad
        \frac{\partial L}{\partial Z} = \frac{P - T}{N}

    where :math:`T` is the one-hot encoding of :math:`y`. Computing :math:`\log P` with the
    log-sum-exp trick keeps the loss finite even for logits of magnitude :math:`10^4`, and the
    fused gradient never divides by a probability that may have underflowed to zero.
    """

    is_classification = True

    def __init__(self) -> None:
        self._probs: np.ndarray | None = None
        self._labels: np.ndarray | None = None

    def forward(self, output: np.ndarray, target: np.ndarray) -> float:
        logits = check_float_array(output, "logits", ndim=2)
        self._check_not_empty(logits)
        labels = check_labels(
            target, "labels", n=logits.shape[0], n_classes=logits.shape[1]
        )
        log_probs = log_softmax(logits)
        self._probs = np.exp(log_probs)
        self._labels = labels
        rows = np.arange(logits.shape[0])
        return float(-log_probs[rows, labels].mean())

    def backward(self) -> np.ndarray:
        probs, labels = self._cached(self._probs), self._cached(self._labels)
        n = probs.shape[0]
        grad = probs.copy()
        grad[np.arange(n), labels] -= 1.0  # P - T without building the one-hot T
        grad /= n
        return grad


class MeanSquaredError(Loss):
    r"""Mean squared error for regression.

    For predictions and targets of shape :math:`(N, D)`:

    .. math::
        L = \frac{1}{N D} \sum_{n,d} (\hat y_{nd} - y_{nd})^2, \qquad
        \frac{\partial L}{\partial \hat y} = \frac{2}{N D} (\hat y - y)
    """

    def __init__(self) -> None:
        self._diff: np.ndarray | None = None

    def forward(self, output: np.ndarray, target: np.ndarray) -> float:
        output = check_float_array(output, "output", ndim=2)
        self._check_not_empty(output)
        target = check_float_array(target, "target")
        if target.shape != output.shape:
            raise ValueError(
                f"target must have the same shape as the output {output.shape}, got {target.shape}"
                + (
                    " (reshape 1-D targets with y.reshape(-1, 1))"
                    if target.ndim == 1
                    else ""
                )
            )
        # Compute in the model's precision: float64 targets would otherwise promote the
        # difference, the gradient and so the whole backward pass of a float32 model to float64.
        with np.errstate(over="ignore"):  # overflow to inf is reported just below
            cast = target.astype(output.dtype, copy=False)
        if cast is not target and not np.isfinite(cast).all():
            raise ValueError(
                f"target has values too large for the output's dtype {output.dtype} "
                f"(largest magnitude {np.abs(target).max():g})"
            )
        self._diff = output - cast
        return float(np.mean(self._diff * self._diff))

    def backward(self) -> np.ndarray:
        diff = self._cached(self._diff)
        return diff * (2.0 / diff.size)
