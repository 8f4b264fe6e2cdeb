r"""Finite-difference gradient checks.

An analytic gradient (what ``backward`` returns) is compared with the central
difference

.. math::
    \frac{\partial f}{\partial \theta_i} \approx
    \frac{f(\theta + \epsilon e_i) - f(\theta - \epsilon e_i)}{2 \epsilon},

whose error is :math:`O(\epsilon^2)` from truncation plus :math:`O(u/\epsilon)` from
rounding (:math:`u \approx 10^{-16}` in float64). With :math:`\epsilon = 10^{-6}` both
are around :math:`10^{-10}` relative, so everything runs in float64 and a correct
backward gives a relative error far below :math:`10^{-6}`; a wrong one gives
something near 1.

For a layer or model with output :math:`y` the checked scalar is
:math:`f = \sum_{ij} R_{ij} y_{ij}` with a fixed random :math:`R`, so ``backward(R)``
is tested with a non-trivial upstream gradient; for a loss, :math:`f` is the loss.

The error of each array is
:math:`\lVert a - n \rVert / (\lVert a \rVert + \lVert n \rVert)`, a norm-based
relative error that stays meaningful when individual entries are zero.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .losses import Loss


def _to_float64(module: Any) -> Any:
    """A deep copy of a layer or model with every parameter and gradient in float64."""
    module = copy.deepcopy(module)
    layers = getattr(module, "layers", [module])
    for layer in layers:
        for key in layer.params:
            layer.params[key] = layer.params[key].astype(np.float64)
            layer.grads[key] = layer.grads[key].astype(np.float64)
    return module


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if scale == 0 else float(np.linalg.norm(analytic - numeric) / scale)


def _numeric_gradient(
    f: Callable[[], float], array: np.ndarray, eps: float
) -> np.ndarray:
    """Central differences of ``f()`` for each entry of ``array`` (changed in place)."""
    grad = np.zeros_like(array)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        out[i] = (plus - minus) / (2 * eps)
    return grad


def gradient_errors(
    module: Any,
    x: np.ndarray,
    *,
    loss: Loss | None = None,
    target: np.ndarray | None = None,
    training: bool = False,
    eps: float = 1e-6,
    seed: int = 0,
) -> dict[str, float]:
    """Relative error of every analytic gradient of a layer or model, keyed by name.

    Keys are ``"input"`` and each parameter's name (``"W"``, ``"0.W"``, ...). With
    ``loss`` and ``target`` the checked scalar is ``loss(module(x), target)``;
    otherwise a fixed random projection of the output. With ``training=True``
    stochastic layers (dropout) are checked too: every evaluation starts from the same
    random state, so all see the same mask. ``target`` is used as given (as ``fit``
    would after ``Loss.check_targets``).
    """
    if loss is not None and target is None:
        raise ValueError("gradient_errors: a loss needs its target")
    labels = np.asarray(target)
    base = _to_float64(module)
    x = np.array(x, dtype=np.float64)
    probe = copy.deepcopy(base)
    out_shape = probe.forward(x.copy(), training=training).shape
    projection = np.random.default_rng(seed).standard_normal(out_shape)

    # Analytic gradients, from a copy in the same state as every numeric evaluation.
    analytic_module = copy.deepcopy(base)
    out = analytic_module.forward(x, training=training)
    if loss is not None:
        loss.forward(out, labels)
        upstream = loss.backward()
    else:
        upstream = projection
    analytic = {"input": analytic_module.backward(upstream)}
    analytic.update({p.name: p.grad.copy() for p in analytic_module.parameters()})

    # Numeric gradients: perturb the input, then each parameter of the base copy.
    def objective() -> float:
        fresh = copy.deepcopy(base)  # same random state (dropout masks) on every call
        y = fresh.forward(x, training=training)
        return (
            loss.forward(y, labels)
            if loss is not None
            else float(np.sum(projection * y))
        )

    errors = {
        "input": _relative_error(
            analytic["input"], _numeric_gradient(objective, x, eps)
        )
    }
    for p in base.parameters():
        errors[p.name] = _relative_error(
            analytic[p.name], _numeric_gradient(objective, p.value, eps)
        )
    return errors


def gradcheck(module: Any, x: np.ndarray, **kwargs: Any) -> float:
    """Maximum relative gradient error of a layer or model (see ``gradient_errors``)."""
    return max(gradient_errors(module, x, **kwargs).values())


def gradcheck_loss(
    loss: Loss, output: np.ndarray, target: np.ndarray, *, eps: float = 1e-6
) -> float:
    """Relative error of ``loss.backward()`` against central differences, in float64."""
    output = np.array(output, dtype=np.float64)
    if np.issubdtype(np.asarray(target).dtype, np.floating):
        target = np.asarray(target, dtype=np.float64)
    loss.forward(output, target)
    analytic = loss.backward()
    numeric = _numeric_gradient(lambda: loss.forward(output, target), output, eps)
    return _relative_error(analytic, numeric)
