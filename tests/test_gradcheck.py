"""Tests for :mod:`nnlib.gradcheck`, the finite-difference checker the other tests rely
on.

A checker that passes everything proves nothing, so here it is checked *independently*:

* deliberately wrong backward passes (a forgotten transpose, a halved bias gradient, a
  wrong activation derivative, a loss gradient missing its 1/N) must give large errors
  (> 1e-2), and the error must be reported on the array that is wrong;
* on functions whose derivative we know in closed form, the numerical gradient is that
  derivative;
* the checker works in float64 even for a float32 model, and does not modify the model
  it checks.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnlib import Dense, Sigmoid, SoftmaxCrossEntropy, mlp
from nnlib.gradcheck import (
    _numeric_gradient,
    gradcheck,
    gradcheck_loss,
    gradient_errors,
)

# A correct backward gives ~1e-10 (float64, eps = 1e-6); we require < 1e-6. A wrong one
# must give > 1e-2: four orders of magnitude apart, so the checker cleanly separates
# right from wrong.
GRAD_TOL = 1e-6
WRONG = 1e-2


class ForgetsTranspose(Dense):
    """Returns G @ W instead of G @ Wᵀ (only shape-compatible for square W, which hides
    the bug from shape checks: exactly the kind of mistake a gradient check exists for).
    """

    def backward(self, grad_out, *, input_grad=True):
        super().backward(grad_out, input_grad=False)
        return grad_out @ self.params["W"]


class HalvesBiasGradient(Dense):
    """Stores db/2 instead of db."""

    def backward(self, grad_out, *, input_grad=True):
        grad_in = super().backward(grad_out, input_grad=input_grad)
        self.grads["b"] *= 0.5
        return grad_in


class SigmoidWithoutOneMinus(Sigmoid):
    """Uses σ(z) as the derivative instead of σ(z)(1 - σ(z))."""

    def forward(self, x, training=False):
        s = super().forward(x, training)
        self._derivative = s.copy()  # σ(z) where σ(z)(1 - σ(z)) belongs
        return s


class CrossEntropyWithoutMean(SoftmaxCrossEntropy):
    """Returns P - Y, forgetting the 1/N of the mean."""

    def backward(self):
        return super().backward() * self._cached(self._probs).shape[0]


def test_forgotten_transpose_is_caught_on_the_input_gradient():
    """G·W instead of G·Wᵀ gives a large error on the input gradient only."""
    rng = np.random.default_rng(0)
    layer = ForgetsTranspose(4, 4, rng=rng, dtype=np.float64)
    errors = gradient_errors(layer, rng.standard_normal((3, 4)))
    assert errors["input"] > WRONG
    # dW and db are still right: the checker points at the wrong array, not at
    # everything.
    assert errors["W"] < GRAD_TOL and errors["b"] < GRAD_TOL


def test_halved_bias_gradient_is_caught():
    """A factor 1/2 gives relative error |a - n|/(|a| + |n|) = 0.5/1.5 = 1/3."""
    rng = np.random.default_rng(1)
    layer = HalvesBiasGradient(3, 5, rng=rng, dtype=np.float64)
    errors = gradient_errors(layer, rng.standard_normal((4, 3)))
    assert errors["b"] == pytest.approx(1 / 3, rel=1e-6)
    assert errors["W"] < GRAD_TOL and errors["input"] < GRAD_TOL


def test_wrong_activation_derivative_is_caught_inside_a_model():
    """A bug buried in a hidden layer of a whole model is
    visible in the model's check."""
    model = mlp(3, [4], 2, activation="sigmoid", rng=2, dtype=np.float64)
    x = np.random.default_rng(3).standard_normal((5, 3))
    assert gradcheck(model, x) < GRAD_TOL  # the correct model passes ...
    model.layers[1] = SigmoidWithoutOneMinus()
    errors = gradient_errors(model, x)
    assert (
        errors["input"] > WRONG and errors["0.W"] > WRONG
    )  # ... the broken one does not
    assert (
        errors["2.W"] < GRAD_TOL
    )  # the layer after the bug still gets the right gradient


def test_wrong_loss_gradient_is_caught():
    """Forgetting 1/N with N = 4 multiplies the gradient by
    4: error (4-1)/(4+1) = 0.6."""
    rng = np.random.default_rng(4)
    logits, labels = rng.standard_normal((4, 3)), rng.integers(0, 3, size=4)
    assert gradcheck_loss(SoftmaxCrossEntropy(), logits, labels) < GRAD_TOL
    assert gradcheck_loss(CrossEntropyWithoutMean(), logits, labels) == pytest.approx(
        0.6, rel=1e-6
    )


def test_numeric_gradient_of_known_functions():
    """Central differences of f(a) = sum(a³) give 3a² (error O(eps²) = 1e-12, relative
    to O(1) values); a is restored exactly after the probing."""
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = a.copy()
    numeric = _numeric_gradient(lambda: float(np.sum(a**3)), a, 1e-6)
    np.testing.assert_allclose(numeric, 3 * before**2, rtol=1e-7)
    assert np.array_equal(a, before)


def test_check_runs_in_float64_for_a_float32_model_and_leaves_it_untouched():
    """In float32 a central difference with eps = 1e-6 is pure rounding noise (ulp ~
    1e-7); the checker must convert a *copy* to float64, so a float32 model passes and
    keeps its dtype."""
    model = mlp(3, [5], 2, activation="tanh", rng=5)  # float32
    before = [p.value.copy() for p in model.parameters()]
    x = np.random.default_rng(6).standard_normal((4, 3)).astype(np.float32)
    errors = gradient_errors(model, x)
    assert set(errors) == {"input", "0.W", "0.b", "2.W", "2.b"}
    assert max(errors.values()) < GRAD_TOL
    for p, b in zip(model.parameters(), before, strict=True):
        assert p.value.dtype == np.float32
        assert np.array_equal(p.value, b)


def test_gradcheck_is_the_largest_error():
    """gradcheck summarises gradient_errors by its maximum
    (so one bad array fails it)."""
    rng = np.random.default_rng(7)
    layer = HalvesBiasGradient(2, 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((3, 2))
    assert gradcheck(layer, x) == max(gradient_errors(layer, x).values())
