"""Tests for :mod:`nnlib.dropout`: inverted dropout.

* in training mode it keeps the expectation, drops a fraction ≈ p, and backward uses the
  very mask forward drew (checked directly and by finite differences);
* in evaluation mode it is exactly the identity;
* p outside [0, 1) is rejected.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib import Dropout
from nnlib.gradcheck import gradient_errors

# Float64 central differences: relative error ~1e-10, so 1e-6 is a safe bound (see
# test_dense).
GRAD_TOL = 1e-6


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    p=st.floats(0.0, 0.9),
    seed=st.integers(0, 2**32 - 1),
)
def test_training_backward_matches_finite_differences(shape, p, seed):
    """With a fixed mask, dropout is linear in x; its backward equals the numerical
    derivative.

    ``gradient_errors`` replays the same random state for every evaluation, so all of
    them see the same mask, as a real forward/backward pair does.
    """
    rng = np.random.default_rng(seed)
    errors = gradient_errors(
        Dropout(p, rng=seed), rng.standard_normal(shape), training=True
    )
    assert errors["input"] < GRAD_TOL, errors


def test_keeps_the_expectation():
    """The mean over many training passes approaches x (inverted dropout rescales by
    1/(1-p)).

    Each output is x/(1-p) with probability 1-p and 0 otherwise: mean x, standard
    deviation |x| sqrt(p/(1-p)). Over K passes the standard error is |x| sqrt(p/(1-p)) /
    sqrt(K); every entry must be within 5 standard errors (a false alarm has probability
    ~6e-7 per entry, and the seed is fixed anyway). Forgetting the 1/(1-p) scale would
    put the mean at 0.7 x: ~70 SE off.
    """
    p, k = 0.3, 4000
    x = np.linspace(-2.0, 2.0, 10).reshape(1, 10)
    layer = Dropout(p, rng=0)
    total = np.zeros_like(x)
    for _ in range(k):
        total += layer.forward(x, training=True)
    mean = total / k
    standard_error = np.abs(x) * np.sqrt(p / (1 - p)) / np.sqrt(k)
    assert np.all(np.abs(mean - x) <= 5 * standard_error + 1e-12)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_drops_a_fraction_p_and_scales_the_rest(p):
    """About a fraction p of entries are zeroed (within 5 binomial standard errors over
    100000 entries: sqrt(p(1-p)/100000) <= 0.0016); the kept ones are exactly x / (1 -
    p)."""
    x = np.random.default_rng(1).uniform(0.5, 1.5, size=(1000, 100))  # no zeros in x
    out = Dropout(p, rng=2).forward(x, training=True)
    dropped = out == 0
    assert abs(dropped.mean() - p) < 5 * np.sqrt(p * (1 - p) / x.size)
    np.testing.assert_allclose(out[~dropped], x[~dropped] / (1 - p), rtol=1e-15)


def test_is_the_identity_when_not_training():
    """``training=False`` returns the input itself (no copy,
    no scaling); backward too."""
    x = np.random.default_rng(3).standard_normal((4, 5))
    layer = Dropout(0.5, rng=0)
    assert layer.forward(x, training=False) is x
    assert layer.forward(x) is x  # the default is evaluation mode
    g = np.ones_like(x)
    assert layer.backward(g) is g


def test_p_zero_is_the_identity_even_in_training():
    """p = 0 drops nothing, so training mode returns the input itself."""
    x = np.ones((2, 3))
    assert Dropout(0.0).forward(x, training=True) is x


def test_backward_uses_the_forward_mask():
    """grad_in = mask/(1-p) * grad_out with the *same* mask: zero exactly where forward
    dropped.

    With x = 1 everywhere, forward's output *is* the scaled mask, so backward(ones) must
    equal it. Drawing a fresh mask in backward would disagree in about half the entries.
    """
    layer = Dropout(0.5, rng=4)
    x = np.ones((20, 30))
    out = layer.forward(x, training=True)
    grad_in = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad_in, out)
    # And a second forward draws a new mask (masks are not frozen).
    assert not np.array_equal(layer.forward(x, training=True), out)


def test_same_seed_gives_same_masks():
    """The mask generator is seeded: the same seed draws the same masks."""
    x = np.ones((5, 5))
    a = Dropout(0.5, rng=9).forward(x, training=True)
    b = Dropout(0.5, rng=9).forward(x, training=True)
    assert np.array_equal(a, b)


def test_float32_stays_float32():
    """The scaled mask has the input's dtype: float32 in, float32 out (no upcast)."""
    x = np.ones((3, 4), dtype=np.float32)
    layer = Dropout(0.25, rng=0)
    assert layer.forward(x, training=True).dtype == np.float32
    assert layer.backward(x).dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_p_outside_unit_interval_is_rejected(p):
    """p = 1 would drop everything and divide by zero; negatives and NaN are
    meaningless."""
    with pytest.raises(
        ValueError, match=r"p must be a finite number in \[0\.0, 1\.0\)"
    ):
        Dropout(p)


def test_p_must_be_a_number():
    """A string p is a TypeError, not a confusing comparison error later."""
    with pytest.raises(TypeError, match="p must be a number"):
        Dropout("0.5")  # type: ignore[arg-type]


def test_infer_is_the_identity_and_draws_no_mask():
    """Evaluation neither masks nor advances the generator, so predictions during
    training (e.g. validation) leave the sequence of training masks unchanged."""
    layer = Dropout(0.5, rng=0)
    x = np.ones((4, 6))
    state = layer.rng.bit_generator.state
    assert layer.infer(x) is x
    assert layer.rng.bit_generator.state == state
    assert layer.generators() == {"dropout": layer.rng}


def test_backward_without_input_gradient_returns_none():
    layer = Dropout(0.5, rng=0)
    layer.forward(np.ones((2, 3)), training=True)
    assert layer.backward(np.ones((2, 3)), input_grad=False) is None
