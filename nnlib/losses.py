"""Loss functions: a scalar that measures how wrong the network's outputs are.

A loss has the same two-step vocabulary as a layer: ``loss = L.forward(output, target)``
computes the number and caches what is needed, then ``grad = L.backward()`` returns
``∂loss/∂output``, the gradient that starts backpropagation. ``L.value(output,
target)`` is the same number without the cache (for evaluation).

``forward`` trusts its arguments: ``fit`` and ``evaluate`` check a whole data set once
with ``check_targets`` (and cast it to the model's dtype) before the first batch.
Beside the loss, ``fit`` reports one metric that a reader can interpret: accuracy for
classification, the mean absolute error for regression (``metric_total``).
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_float_array, check_labels


class Loss:
    """Base class for losses."""

    #: True when targets are class labels and outputs are logits.
    is_classification: bool = False
    #: Name of the metric ``fit`` records beside the loss (``history.train_<metric>``).
    metric: str = ""

    def forward(self, output: np.ndarray, target: np.ndarray) -> float:
        """The mean loss over the batch; caches what ``backward`` needs."""
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """``∂loss/∂output`` for the last ``forward``, shape ``(N, C)``."""
        raise NotImplementedError

    def value(self, output: np.ndarray, target: np.ndarray) -> float:
        """The mean loss over the batch, caching nothing (safe in another thread)."""
        raise NotImplementedError

    def metric_total(self, output: np.ndarray, target: np.ndarray) -> float:
        """The metric summed over the batch's samples (``fit`` divides by ``N``)."""
        raise NotImplementedError

    def baseline(self, target: np.ndarray, n_outputs: int) -> float:
        """The loss of a prediction that ignores the input (a scale for ``fit``)."""
        raise NotImplementedError

    def check_targets(
        self, target: object, n_outputs: int, dtype: np.dtype, name: str
    ) -> np.ndarray:
        """Check a whole target array once; return it as ``forward`` expects it.

        ``n_outputs`` is the model's output width, ``dtype`` its floating-point type,
        ``name`` what to call the array in error messages (e.g. ``"training data: y"``).
        """
        raise NotImplementedError

    def _cached(self, value: np.ndarray | None) -> np.ndarray:
        if value is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() called before forward()"
            )
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def log_softmax(logits: np.ndarray) -> np.ndarray:
    r"""Row-wise :math:`\log \operatorname{softmax}(z)`, stable for logits of any size.

    .. math::
        \log p_{k} = z_k - \log \sum_j e^{z_j}
                   = (z_k - m) - \log \sum_j e^{z_j - m}, \qquad m = \max_j z_j

    Subtracting the row maximum ``m`` changes nothing mathematically, but keeps every
    exponent ``<= 0``, so ``exp`` never overflows (``exp(89)`` is inf in float32).
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    r"""Row-wise softmax :math:`p_k = e^{z_k} / \sum_j e^{z_j}`, computed stably.

    The same shift by the row maximum as in ``log_softmax`` keeps ``exp`` finite.
    """
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

    where :math:`T` is the one-hot encoding of :math:`y`. Computing :math:`\log P` with
    the log-sum-exp trick keeps the loss finite even for logits of magnitude
    :math:`10^4`, and the fused gradient never divides by a probability that may have
    underflowed to zero.
    """

    is_classification = True
    metric = "accuracy"

    def __init__(self) -> None:
        self._probs: np.ndarray | None = None
        self._labels: np.ndarray | None = None

    def forward(self, output: np.ndarray, target: np.ndarray) -> float:
        log_probs = log_softmax(output)
        self._probs, self._labels = np.exp(log_probs), target
        return float(-log_probs[np.arange(len(target)), target].mean())

    def backward(self) -> np.ndarray:
        probs, labels = self._cached(self._probs), self._cached(self._labels)
        n = probs.shape[0]
        grad = probs.copy()
        grad[np.arange(n), labels] -= 1.0  # P - T without building the one-hot T
        grad /= n
        return grad

    def value(self, output: np.ndarray, target: np.ndarray) -> float:
        log_probs = log_softmax(output)
        return float(-log_probs[np.arange(len(target)), target].mean())

    def metric_total(self, output: np.ndarray, target: np.ndarray) -> float:
        """Number of samples whose largest logit is the label's (accuracy times N)."""
        return float(np.count_nonzero(output.argmax(axis=1) == target))

    def baseline(self, target: np.ndarray, n_outputs: int) -> float:
        """``ln C``: the loss of uniform probabilities ``1/C`` over ``C`` outputs."""
        return math.log(n_outputs)

    def check_targets(
        self, target: object, n_outputs: int, dtype: np.dtype, name: str
    ) -> np.ndarray:
        """Labels must be integers in ``[0, n_outputs)``, one per sample."""
        return check_labels(target, name, n_classes=n_outputs)


class MeanSquaredError(Loss):
    r"""Mean squared error for regression.

    For predictions and targets of shape :math:`(N, D)`:

    .. math::
        L = \frac{1}{N D} \sum_{n,d} (\hat y_{nd} - y_{nd})^2, \qquad
        \frac{\partial L}{\partial \hat y} = \frac{2}{N D} (\hat y - y)

    ``fit`` reports the mean absolute error :math:`\frac{1}{ND}\sum |\hat y - y|` beside
    it: in the targets' own units, unlike the squared error.
    """

    metric = "mae"

    def __init__(self) -> None:
        self._diff: np.ndarray | None = None

    def forward(self, output: np.ndarray, target: np.ndarray) -> float:
        diff = self._diff = output - target
        return float(np.mean(diff * diff))

    def backward(self) -> np.ndarray:
        diff = self._cached(self._diff)
        return diff * (2.0 / diff.size)

    def value(self, output: np.ndarray, target: np.ndarray) -> float:
        diff = output - target
        return float(np.mean(diff * diff))

    def metric_total(self, output: np.ndarray, target: np.ndarray) -> float:
        """Sum over samples of each sample's mean absolute error (MAE times N)."""
        return float(np.abs(output - target).sum()) / output.shape[1]

    def baseline(self, target: np.ndarray, n_outputs: int) -> float:
        """The targets' variance: the loss of always predicting their mean."""
        return float(np.mean(np.var(target, axis=0, dtype=np.float64)))

    def check_targets(
        self, target: object, n_outputs: int, dtype: np.dtype, name: str
    ) -> np.ndarray:
        """Finite floats of shape ``(N, n_outputs)``, returned in the model's dtype.

        The cast happens here, once: float64 targets would otherwise promote the
        difference, the gradient and so the whole backward pass of a float32 model.
        """
        target = check_float_array(target, name)
        if target.ndim != 2 or target.shape[1] != n_outputs:
            hint = " (reshape 1-D targets with y.reshape(-1, 1))" * (target.ndim == 1)
            raise ValueError(
                f"{name} must have the same shape as the outputs (N, {n_outputs}), "
                f"got {target.shape}{hint}"
            )
        with np.errstate(over="ignore"):  # overflow to inf is reported just below
            cast = target.astype(dtype, copy=False)
        if cast is not target and not np.isfinite(cast).all():
            raise ValueError(
                f"{name} has values too large for the model's dtype {dtype} "
                f"(largest magnitude {np.abs(target).max():g})"
            )
        return cast
