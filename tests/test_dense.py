"""Tests for :mod:`nnlib.dense`: the fully connected layer ``Y = X W + b``.

* forward and backward agree with explicit sums written out in the test;
* backward agrees with central finite differences on random shapes (hypothesis), for
  both initializations;
* the initializers draw weights with the documented distributions;
* bad arguments and bad inputs raise errors that say what was wrong.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib import Dense
from nnlib.dense import INITIALIZERS
from nnlib.gradcheck import gradient_errors

# Float64 central differences with eps = 1e-6 have a relative error around 1e-10 (see
# nnlib.gradcheck); 1e-6 leaves a wide margin for rounding yet is far below the error of
# any real mistake in a backward pass (a wrong formula gives errors of order 0.1 to 1).
GRAD_TOL = 1e-6


# ----------------------------------------------------------------- forward and backward


def test_forward_matches_explicit_sum():
    """``Y[n, j] = sum_i X[n, i] W[i, j] + b[j]``, written as an einsum independent of
    ``@``."""
    rng = np.random.default_rng(0)
    layer = Dense(3, 2, rng=rng, dtype=np.float64)
    layer.params["b"][:] = [0.5, -1.5]
    x = rng.standard_normal((4, 3))
    expected = np.einsum("ni,ij->nj", x, layer.params["W"]) + layer.params["b"]
    # float64 sums of three products: agreement to ~1e-15; 1e-12 is a safe bound.
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_backward_matches_explicit_loops_on_a_tiny_case():
    """Backward agrees with the textbook formulas written as plain Python loops.

    dW[i, j] = sum_n X[n, i] G[n, j];  db[j] = sum_n G[n, j];
    dX[n, i] = sum_j G[n, j] W[i, j].
    """
    layer = Dense(3, 2, dtype=np.float64)
    layer.params["W"][:] = [[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]]
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    g = np.array([[0.1, -0.3], [0.7, 0.2]])
    layer.forward(x)
    dx = layer.backward(g)

    dw = np.zeros((3, 2))
    db = np.zeros(2)
    dx_loop = np.zeros((2, 3))
    for n in range(2):
        for i in range(3):
            for j in range(2):
                dw[i, j] += x[n, i] * g[n, j]
                dx_loop[n, i] += g[n, j] * layer.params["W"][i, j]
        for j in range(2):
            db[j] += g[n, j]
    # A handful of float64 products: equal up to the last bit or two.
    np.testing.assert_allclose(layer.grads["W"], dw, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.grads["b"], db, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dx, dx_loop, rtol=1e-12, atol=1e-15)
    # The same result by hand for one entry: dW[0, 0] = 1*0.1 + (-1)*0.7 = -0.6.
    assert layer.grads["W"][0, 0] == pytest.approx(-0.6, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 5),
    n_in=st.integers(1, 6),
    n_out=st.integers(1, 6),
    init=st.sampled_from(INITIALIZERS),
    seed=st.integers(0, 2**32 - 1),
)
def test_backward_matches_finite_differences(n, n_in, n_out, init, seed):
    """For random shapes and both initializations, every gradient (input, W, b) is
    right."""
    rng = np.random.default_rng(seed)
    layer = Dense(n_in, n_out, init=init, rng=rng, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(
        n_out
    )  # non-zero bias: a more general check
    x = rng.standard_normal((n, n_in))
    errors = gradient_errors(layer, x)
    assert set(errors) == {"input", "W", "b"}  # every gradient was actually checked
    assert max(errors.values()) < GRAD_TOL, errors


def test_backward_without_input_gradient_still_fills_parameter_gradients():
    """``input_grad=False`` (used for the first layer) returns None but computes dW and
    db."""
    rng = np.random.default_rng(1)
    layer = Dense(4, 3, rng=rng, dtype=np.float64)
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    layer.forward(x)
    assert layer.backward(g, input_grad=False) is None
    np.testing.assert_allclose(layer.grads["W"], x.T @ g, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], g.sum(axis=0), rtol=1e-12)


def test_gradients_are_overwritten_not_accumulated():
    """Two backward passes leave the gradient of the second only (no stale sums)."""
    rng = np.random.default_rng(2)
    layer = Dense(2, 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((3, 2))
    layer.forward(x)
    layer.backward(np.ones((3, 2)))
    g = rng.standard_normal((3, 2))
    layer.backward(g)
    np.testing.assert_allclose(layer.grads["W"], x.T @ g, rtol=1e-12)


def test_float32_layer_stays_float32():
    """The default dtype is float32 and forward/backward do not upcast to float64."""
    layer = Dense(4, 3, rng=0)
    x = np.ones((2, 4), dtype=np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones((2, 3), dtype=np.float32))
    assert layer.params["W"].dtype == layer.params["b"].dtype == np.float32
    assert (
        out.dtype
        == dx.dtype
        == layer.grads["W"].dtype
        == layer.grads["b"].dtype
        == np.float32
    )


# ---------------------------------------------------------------------- initialization


def test_he_initialization_has_variance_two_over_fan_in():
    """He: W ~ N(0, 2/n_in). With 200*300 = 60000 draws the sample std is within ~0.3%
    of the true std (relative standard error 1/sqrt(2*60000)); we allow 2%, and a wrong
    formula (e.g. 1/n_in, std off by 29%) fails clearly. The mean must be within 5
    standard errors (std/sqrt(60000)) of 0. Biases start at exactly zero."""
    layer = Dense(200, 300, init="he", rng=0, dtype=np.float64)
    w = layer.params["W"]
    assert abs(w.mean()) < 5 * np.sqrt(2 / 200) / np.sqrt(w.size)
    assert w.std() == pytest.approx(np.sqrt(2 / 200), rel=0.02)
    assert not layer.params["b"].any()


def test_glorot_initialization_is_uniform_within_the_limit():
    """Glorot: W ~ U(-a, a), a = sqrt(6/(n_in+n_out)); variance a²/3 (same 2%
    tolerance)."""
    n_in, n_out = 200, 300
    a = np.sqrt(6 / (n_in + n_out))
    w = Dense(n_in, n_out, init="glorot", rng=0, dtype=np.float64).params["W"]
    assert np.abs(w).max() <= a
    assert np.abs(w).max() > 0.99 * a  # the draws do fill the interval
    assert w.std() == pytest.approx(a / np.sqrt(3), rel=0.02)


def test_same_seed_gives_same_weights():
    """A seed fixes the initial weights (reproducible runs);
    another seed changes them."""
    a = Dense(5, 4, rng=123).params["W"]
    b = Dense(5, 4, rng=123).params["W"]
    c = Dense(5, 4, rng=124).params["W"]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


# ---------------------------------------------------------------------- errors


def test_wrong_number_of_features_names_layer_and_shape():
    """The message gives the layer, the expected width and
    the shape actually received."""
    layer = Dense(784, 512, rng=0)
    x = np.zeros((128, 785), dtype=np.float32)
    with pytest.raises(
        ValueError,
        match=r"Dense\(784, 512\) expected input with 784 features, "
        r"got array of shape \(128, 785\)",
    ):
        layer.forward(x)


def test_one_dimensional_input_is_rejected():
    """A single sample must be passed as a (1, n_in) batch."""
    with pytest.raises(
        ValueError, match=r"expected input with 3 features, got array of shape \(3,\)"
    ):
        Dense(3, 2).forward(np.zeros(3, dtype=np.float32))


def test_backward_checks_gradient_shape():
    """A gradient of the wrong shape is refused, naming expected and received shapes."""
    layer = Dense(3, 2, rng=0)
    layer.forward(np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"expected a gradient of shape \(4, 2\), got \(4, 3\)"
    ):
        layer.backward(np.zeros((4, 3), dtype=np.float32))


def test_backward_before_forward_is_a_clear_error():
    """Without a cached input, backward explains that forward must run first."""
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        Dense(3, 2).backward(np.zeros((1, 2), dtype=np.float32))


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"n_in": 0, "n_out": 2}, ValueError, "n_in must be an integer >= 1"),
        ({"n_in": 2, "n_out": 2.5}, TypeError, "n_out must be an integer >= 1"),
        ({"n_in": 2, "n_out": 2, "init": "xavier"}, ValueError, "init must be one of"),
        (
            {"n_in": 2, "n_out": 2, "dtype": np.int32},
            TypeError,
            "dtype must be a floating-point",
        ),
    ],
)
def test_bad_constructor_arguments(kwargs, exc, message):
    """Each bad constructor argument is refused with a message naming it."""
    with pytest.raises(exc, match=message):
        Dense(**kwargs)


def test_config_rebuilds_an_equivalent_layer():
    """``get_config`` holds exactly the constructor arguments (used by save/load)."""
    layer = Dense(3, 5, init="glorot", dtype=np.float64)
    rebuilt = Dense(**layer.get_config())
    assert rebuilt.get_config() == {
        "n_in": 3,
        "n_out": 5,
        "init": "glorot",
        "dtype": "float64",
    }
    assert rebuilt.params["W"].dtype == np.float64
    assert repr(layer) == "Dense(n_in=3, n_out=5, init='glorot', dtype='float64')"


def test_infer_equals_forward_and_leaves_the_backward_cache_alone():
    """``infer`` is ``X W + b`` without caching ``X``: a backward after it still uses
    the input of the last ``forward``."""
    rng = np.random.default_rng(0)
    layer = Dense(4, 3, rng=1)
    x, other = rng.standard_normal((2, 5, 4)).astype(np.float32)
    g = rng.standard_normal((5, 3)).astype(np.float32)
    layer.forward(x)
    assert np.array_equal(layer.infer(other), layer.forward(other))
    layer.forward(x)
    layer.infer(other)
    layer.backward(g)
    np.testing.assert_array_equal(layer.grads["W"], x.T @ g)


def test_parameter_shapes_come_from_the_config_alone():
    """What a model file must hold for a Dense layer, known before building one."""
    config = Dense(3, 5).get_config()
    assert Dense.parameter_shapes(config) == {"W": (3, 5), "b": (5,)}
    with pytest.raises(TypeError, match="n_in must be an integer >= 1"):
        Dense.parameter_shapes({**config, "n_in": 3.5})


def test_output_shape_checks_the_input_width():
    """``output_shape`` is how Sequential and fit check connections and data widths."""
    layer = Dense(3, 5)
    assert layer.output_shape((3,)) == (5,)
    assert layer.output_shape((None,)) == (5,)  # a width not known yet
    with pytest.raises(ValueError, match=r"Dense\(3, 5\) expected input with 3 "):
        layer.output_shape((4,))
