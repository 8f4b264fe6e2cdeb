"""Tests for :mod:`nnlib.activations`: ReLU, LeakyReLU, Sigmoid and Tanh.

* forward agrees with an independent formula (``scipy.special.expit`` for the sigmoid);
* backward agrees with central finite differences on random shapes (hypothesis);
* float32 stays float32 and extreme inputs do not overflow.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from nnlib import LeakyReLU, ReLU, Sigmoid, Tanh
from nnlib.gradcheck import gradient_errors

# Float64 central differences (eps = 1e-6) are accurate to ~1e-10 relative: 1e-6 is a
# safe bound that any wrong derivative (errors of order 0.1 to 1) exceeds by far.
GRAD_TOL = 1e-6


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random values with 1e-3 <= |x| <= 3 and random signs.

    ReLU and LeakyReLU have a kink at 0: a central difference x ± eps that straddles 0
    averages the two slopes, so it is wrong *by construction* there, whatever the code
    does. With |x| >= 1e-3 and eps = 1e-6 no difference straddles the kink. |x| <= 3
    keeps tanh/sigmoid away from full saturation, where the gradient is so small that
    rounding noise dominates it.
    """
    return rng.uniform(1e-3, 3.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


shapes = st.tuples(st.integers(1, 6), st.integers(1, 6))


@settings(max_examples=25, deadline=None)
@given(
    shape=shapes,
    make=st.sampled_from([ReLU, Sigmoid, Tanh]),
    seed=st.integers(0, 2**32 - 1),
)
def test_backward_matches_finite_differences(shape, make, seed):
    """ReLU, Sigmoid and Tanh: ``backward`` equals the numerical derivative on random
    shapes."""
    rng = np.random.default_rng(seed)
    errors = gradient_errors(make(), away_from_zero(rng, shape), seed=seed)
    assert set(errors) == {"input"}  # no parameters to check
    assert errors["input"] < GRAD_TOL, errors


@settings(max_examples=25, deadline=None)
@given(shape=shapes, alpha=st.floats(0.0, 0.9), seed=st.integers(0, 2**32 - 1))
def test_leaky_relu_backward_matches_finite_differences(shape, alpha, seed):
    """LeakyReLU with any slope alpha in [0, 0.9]: the
    gradient (1 or alpha) is right."""
    rng = np.random.default_rng(seed)
    errors = gradient_errors(LeakyReLU(alpha), away_from_zero(rng, shape), seed=seed)
    assert errors["input"] < GRAD_TOL, errors


# ---------------------------------------------------------------------- forward values

X = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])


def test_relu_forward_and_backward_by_hand():
    """max(z, 0), and the gradient passes only where z > 0
    (at exactly 0 it is blocked)."""
    layer = ReLU()
    np.testing.assert_array_equal(layer.forward(X), [[0.0, 0.0, 0.0, 0.5, 2.0]])
    np.testing.assert_array_equal(
        layer.backward(np.full_like(X, 3.0)), [[0, 0, 0, 3.0, 3.0]]
    )


def test_leaky_relu_forward_and_backward_by_hand():
    """alpha = 0.1: negative inputs are scaled by 0.1, and so is their gradient."""
    layer = LeakyReLU(0.1)
    np.testing.assert_allclose(
        layer.forward(X), [[-0.2, -0.05, 0.0, 0.5, 2.0]], rtol=1e-15
    )
    grad = layer.backward(np.ones_like(X))
    np.testing.assert_allclose(grad, [[0.1, 0.1, 0.1, 1.0, 1.0]], rtol=1e-15)


def test_sigmoid_matches_scipy_expit():
    """The tanh form 0.5 (1 + tanh(z/2)) equals the logistic function 1/(1+e^-z).

    Tolerance: the tanh form is accurate to a few ulps of 1 in *absolute* terms (1 +
    tanh(z/2) cancels for very negative z, so tiny outputs like sigmoid(-30) ≈ 9e-14
    lose relative precision). An absolute 1e-15 plus relative 1e-14 is what an
    activation needs; a wrong formula (e.g. tanh(z) instead of tanh(z/2)) is off by
    ~0.1.
    """
    z = np.linspace(-30, 30, 121).reshape(11, 11)
    np.testing.assert_allclose(Sigmoid().forward(z), expit(z), rtol=1e-14, atol=1e-15)
    assert Sigmoid().forward(np.array([[0.0]]))[0, 0] == 0.5


def test_tanh_forward_and_derivative_by_hand():
    """tanh(0) = 0 with slope 1; tanh'(z) = 1 - tanh(z)²."""
    layer = Tanh()
    out = layer.forward(np.array([[0.0, 1.0]]))
    grad = layer.backward(np.ones((1, 2)))
    np.testing.assert_allclose(out, [[0.0, np.tanh(1.0)]], rtol=1e-15)
    np.testing.assert_allclose(grad, [[1.0, 1.0 - np.tanh(1.0) ** 2]], rtol=1e-15)


def test_sigmoid_does_not_overflow_in_float32():
    """exp(-z) overflows float32 for z < -89; the tanh form gives 0 and 1 without a
    warning."""
    z = np.array([[-1000.0, -100.0, 100.0, 1000.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow RuntimeWarning would fail the test
        out = Sigmoid().forward(z)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out, [[0.0, 0.0, 1.0, 1.0]])


@pytest.mark.parametrize("make", [ReLU, LeakyReLU, Sigmoid, Tanh])
def test_float32_in_float32_out(make):
    """No activation upcasts float32 to float64, forward or backward."""
    layer = make()
    x = np.linspace(-2, 2, 8, dtype=np.float32).reshape(2, 4)
    assert layer.forward(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32


@pytest.mark.parametrize("make", [ReLU, LeakyReLU, Sigmoid, Tanh])
def test_backward_before_forward_is_a_clear_error(make):
    """Without a cached forward pass, backward explains that forward must run first."""
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        make().backward(np.ones((1, 1)))


@pytest.mark.parametrize("alpha", [-0.1, 1.0, 2.0])
def test_leaky_relu_rejects_alpha_outside_unit_interval(alpha):
    """alpha must lie in [0, 1): the message names alpha and the interval."""
    with pytest.raises(
        ValueError, match=r"alpha must be a finite number in \[0\.0, 1\.0\)"
    ):
        LeakyReLU(alpha)


@pytest.mark.parametrize("make", [Sigmoid, Tanh])
def test_changing_the_output_in_place_does_not_change_the_gradient(make):
    """The caller owns the output; the backward pass must not depend on it being left
    alone (Sigmoid and Tanh used to cache their output and derive from it)."""
    z = np.linspace(-3, 3, 12).reshape(3, 4)
    g = np.random.default_rng(0).standard_normal((3, 4))
    expected = make().forward(z)
    expected = g * (expected * (1 - expected) if make is Sigmoid else 1 - expected**2)
    layer = make()
    out = layer.forward(z)
    out += 100.0
    np.testing.assert_allclose(layer.backward(g), expected, rtol=1e-12)


@pytest.mark.parametrize("make", [ReLU, lambda: LeakyReLU(0.1), Sigmoid, Tanh])
def test_infer_equals_forward_and_leaves_the_backward_cache_alone(make):
    """``infer`` gives forward's evaluation output bit for bit, and a backward pass
    after it still uses the batch of the last ``forward`` (predictions made between
    a forward and its backward, e.g. from another thread, must not change it)."""
    rng = np.random.default_rng(0)
    x, other = rng.standard_normal((2, 5, 4)).astype(np.float32)
    g = rng.standard_normal((5, 4)).astype(np.float32)
    layer = make()
    out = layer.forward(x)
    expected = layer.backward(g)
    layer.forward(x)
    assert np.array_equal(layer.infer(other), make().forward(other))
    assert np.array_equal(layer.backward(g), expected)
    assert np.array_equal(layer.infer(x), out)


@pytest.mark.parametrize("make", [ReLU, LeakyReLU, Sigmoid, Tanh])
def test_backward_without_input_gradient_returns_none(make):
    """First in a network, an activation has nothing to compute for backward."""
    layer = make()
    layer.forward(np.ones((2, 3)))
    assert layer.backward(np.ones((2, 3)), input_grad=False) is None
