"""Tests for :mod:`nnlib.model`: ``Sequential`` and the ``mlp`` builder.

* a whole ``mlp`` (every activation, with dropout in training mode) backpropagates
  gradients that agree with central finite differences, on random architectures
  (hypothesis);
* ``mlp`` builds the documented layers; ``summary`` lists them with the right parameter
  count;
* ``predict``/``predict_proba`` are consistent with ``forward`` and do not depend on
  batching;
* bad architectures and bad inputs raise errors that say what was wrong.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nnlib import (
    Dense,
    Dropout,
    Layer,
    LeakyReLU,
    Loss,
    MeanSquaredError,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    mlp,
)
from nnlib.gradcheck import gradient_errors
from nnlib.serialization import save_layers

# Float64 central differences (eps = 1e-6): ~1e-10 relative error; 1e-6 is a safe bound.
GRAD_TOL = 1e-6
ACTIVATION_NAMES = ["relu", "leaky_relu", "sigmoid", "tanh"]


def randomize_biases(model: Sequential, rng: np.random.Generator) -> None:
    """Give every Dense layer random non-zero biases (they start at exactly zero).

    Why: with zero biases, a hidden unit whose inputs were all dropped (or are all zero)
    has a pre-activation of exactly 0, which is ReLU's kink. A central difference
    straddling the kink averages the two slopes, so it is wrong by construction there.
    Random biases put pre-activations at random places, and the chance that one lies
    within eps = 1e-6 of 0 is negligible (~1e-6 per unit).
    """
    for layer in model.layers:
        if isinstance(layer, Dense):
            signs = rng.choice([-1.0, 1.0], layer.n_out)
            layer.params["b"][:] = signs * rng.uniform(0.1, 1.0, layer.n_out)


def smallest_gradient_relative_to_loss(
    model: Sequential, x, loss: Loss, target
) -> float:
    """min over the gradient arrays (input and every parameter) of ‖g‖ / loss, ignoring
    arrays that are exactly zero (e.g. the weights into a dropped unit: there the
    numeric gradient is exactly zero too, so the check is exact).

    A central difference carries an absolute rounding error of roughly u·|f|/eps ≈
    1e-10·|f| (u = 1.1e-16, eps = 1e-6, f the loss). An array whose norm is below
    1e-3·|f| is therefore measured with more than ~1e-7 relative noise, however right
    the code is. This happens in a few percent of random draws, e.g. when LeakyReLU's
    slope 0.01 scales the gradient in two layers where most units are negative.
    """
    probe = copy.deepcopy(
        model
    )  # a copy replays the same dropout masks as gradient_errors
    value = loss.forward(probe.forward(x, training=True), target)
    grads = [probe.backward(loss.backward())] + [p.grad for p in probe.parameters()]
    norms = [float(np.linalg.norm(g)) for g in grads]
    return min((nrm for nrm in norms if nrm > 0), default=np.inf) / value


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 4),
    n_in=st.integers(1, 5),
    hidden=st.lists(st.integers(1, 5), min_size=1, max_size=2),
    n_out=st.integers(2, 4),
    activation=st.sampled_from(ACTIVATION_NAMES),
    p=st.floats(0.1, 0.6),
    seed=st.integers(0, 2**32 - 1),
)
def test_whole_mlp_with_dropout_backward_matches_finite_differences(
    n, n_in, hidden, n_out, activation, p, seed
):
    """Backprop through a whole network (Dense, activation, Dropout in training mode,
    Dense) into a softmax cross-entropy gives every parameter's gradient and the input
    gradient.

    ``gradient_errors`` replays the same dropout masks for every evaluation (see
    gradcheck). Inputs and logits stay O(1), so no softmax probability is so close to 1
    that the loss's own rounding swamps the finite difference. The rare draws where some
    gradient is too small for finite differences to resolve are skipped (see
    smallest_gradient_relative_to_loss).
    """
    rng = np.random.default_rng(seed)
    model = mlp(
        n_in,
        hidden,
        n_out,
        activation=activation,
        dropout=p,
        rng=seed,
        dtype=np.float64,
    )
    randomize_biases(model, rng)
    x = rng.uniform(-1.0, 1.0, size=(n, n_in))
    labels = rng.integers(0, n_out, size=n)
    loss = SoftmaxCrossEntropy()
    assume(smallest_gradient_relative_to_loss(model, x, loss, labels) > 1e-3)
    errors = gradient_errors(model, x, loss=loss, target=labels, training=True)
    expected_keys = {"input"} | {p.name for p in model.parameters()}
    assert set(errors) == expected_keys  # every weight and bias was checked
    assert max(errors.values()) < GRAD_TOL, errors


@settings(max_examples=25, deadline=None)
@given(activation=st.sampled_from(ACTIVATION_NAMES), seed=st.integers(0, 2**32 - 1))
def test_whole_regression_mlp_with_mse_matches_finite_differences(activation, seed):
    """The same check for a regression network (two hidden layers, dropout) trained with
    MeanSquaredError against random targets, which makes the upstream gradient 2/(N·D)(ŷ
    - y) a random matrix: every layer's backward receives a non-trivial gradient."""
    rng = np.random.default_rng(seed)
    model = mlp(
        4, [5, 3], 3, activation=activation, dropout=0.3, rng=seed, dtype=np.float64
    )
    randomize_biases(model, rng)
    x, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 3))
    loss = MeanSquaredError()
    assume(smallest_gradient_relative_to_loss(model, x, loss, target) > 1e-3)
    errors = gradient_errors(model, x, loss=loss, target=target, training=True)
    assert max(errors.values()) < GRAD_TOL, errors


def test_backward_returns_input_gradient_unless_asked_not_to():
    """``input_grad=False`` (what fit uses) skips ∂L/∂x of the first Dense layer but
    still fills its weight gradients, identical to those of the full backward pass."""
    model = mlp(3, [4], 2, rng=0, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((5, 3))
    g = np.ones((5, 2))
    model.forward(x)
    dx = model.backward(g)
    full = [p.grad.copy() for p in model.parameters()]
    model.forward(x)
    assert model.backward(g, input_grad=False) is None
    assert dx.shape == x.shape
    for p, expected in zip(model.parameters(), full, strict=True):
        assert np.array_equal(p.grad, expected)


# ---------------------------------------------------------------------- mlp structure


@pytest.mark.parametrize(
    ("activation", "cls", "init"),
    [
        ("relu", ReLU, "he"),
        ("leaky_relu", LeakyReLU, "he"),
        ("sigmoid", Sigmoid, "glorot"),
        ("tanh", Tanh, "glorot"),
    ],
)
def test_mlp_builds_the_documented_layers(activation, cls, init):
    """Dense → activation → Dropout per hidden layer, then a
    Glorot Dense output layer."""
    model = mlp(6, [5, 4], 3, activation=activation, dropout=0.2, rng=0)
    types = [type(layer) for layer in model.layers]
    assert types == [Dense, cls, Dropout, Dense, cls, Dropout, Dense]
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    assert [(d.n_in, d.n_out) for d in dense] == [(6, 5), (5, 4), (4, 3)]
    assert [d.init for d in dense] == [init, init, "glorot"]
    assert all(layer.p == 0.2 for layer in model.layers if isinstance(layer, Dropout))


def test_mlp_without_dropout_or_hidden_layers():
    """dropout=0 adds no Dropout layers; hidden=[] is a linear model."""
    assert not any(isinstance(layer, Dropout) for layer in mlp(3, [4], 2).layers)
    linear = mlp(3, [], 2)
    assert len(linear.layers) == 1 and isinstance(linear.layers[0], Dense)


def test_mlp_same_seed_same_model():
    """One seed fixes every weight of the model; another seed changes them."""
    a, b = mlp(4, [8], 3, rng=11), mlp(4, [8], 3, rng=11)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert np.array_equal(pa.value, pb.value)
    assert not np.array_equal(
        mlp(4, [8], 3, rng=12).parameters()[0].value, a.parameters()[0].value
    )


def test_parameters_are_named_by_layer_index():
    """Parameter names are '<layer index>.<key>' (layers
    without parameters count too)."""
    model = mlp(3, [4], 2, dropout=0.5)
    assert [p.name for p in model.parameters()] == ["0.W", "0.b", "3.W", "3.b"]


def test_summary_lists_every_layer_shape_and_the_total_parameter_count():
    """Widths 784 → 128 → 64 → 10: (784·128 + 128) + (128·64 + 64) + (64·10 + 10)
    parameters."""
    model = mlp(784, [128, 64], 10, dropout=0.2, rng=0)
    expected_total = (784 * 128 + 128) + (128 * 64 + 64) + (64 * 10 + 10)
    text = model.summary()
    lines = text.splitlines()
    for i, layer in enumerate(model.layers):
        assert any(line.startswith(f"{i}: {layer!r}") for line in lines), (
            f"layer {i} missing"
        )
    for shape in ("(N, 128)", "(N, 64)", "(N, 10)"):
        assert shape in text
    total = re.search(r"Total trainable parameters: ([\d,]+)", text)
    assert total is not None
    assert (
        int(total.group(1).replace(",", "")) == expected_total == model.n_parameters()
    )
    # Per-layer counts: the first Dense layer's row shows 784·128 + 128 = 100,480.
    first = next(line for line in lines if line.startswith("0: "))
    assert first.rstrip().endswith("100,480")


# ---------------------------------------------------------------------- inference


def test_predict_proba_is_softmax_of_forward_and_predict_its_argmax():
    """predict_proba is softmax(forward(x)) (rows sum to 1); predict is its argmax."""
    model = mlp(5, [7], 4, rng=3, dtype=np.float64)
    x = np.random.default_rng(4).standard_normal((9, 5))
    logits = model.forward(x)
    proba = model.predict_proba(x)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        proba, expected, rtol=1e-12
    )  # float64 softmax of O(1) logits
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.array_equal(model.predict(x), logits.argmax(axis=1))


def test_predictions_do_not_depend_on_the_batch_size():
    """Batching is a memory detail: batch_size=3 and 2048 give bit-identical
    probabilities."""
    model = mlp(5, [7], 4, rng=3)
    x = np.random.default_rng(5).standard_normal((10, 5)).astype(np.float32)
    assert np.array_equal(model.predict_proba(x, batch_size=3), model.predict_proba(x))
    assert np.array_equal(model.predict(x, batch_size=3), model.predict(x))


def test_predict_accepts_uint8_images_scaled_to_unit_interval():
    """(N, 2, 3) uint8 images are flattened and divided by 255, like the float inputs
    x/255."""
    model = mlp(6, [4], 3, rng=0)
    images = np.random.default_rng(1).integers(0, 256, size=(5, 2, 3), dtype=np.uint8)
    as_float = (images.reshape(5, 6) / 255).astype(np.float32)
    # x*(1/255) in float32 vs x/255 rounded to float32 may differ in the last bit
    # (~6e-8); after two float32 layers and a softmax that stays far below rtol 1e-5.
    expected = model.predict_proba(as_float)
    np.testing.assert_allclose(model.predict_proba(images), expected, rtol=1e-5)
    assert model.predict_proba(images).dtype == np.float32


def test_dropout_is_off_in_prediction():
    """Predictions are deterministic even with dropout layers (evaluation mode)."""
    model = mlp(5, [16], 3, dropout=0.5, rng=0)
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    assert np.array_equal(model.predict_proba(x), model.predict_proba(x))
    assert not np.array_equal(
        model.forward(x, training=True), model.forward(x, training=True)
    )


# ---------------------------------------------------------------------- errors


def test_mismatched_dense_widths_name_the_layer_index():
    """A Dense layer whose n_in differs from the previous width is refused at
    construction."""
    with pytest.raises(
        ValueError,
        match=r"layers\[2\] is Dense\(5, 3\) but the previous layer outputs 4 features",
    ):
        Sequential([Dense(3, 4), ReLU(), Dense(5, 3)])


def test_layers_with_different_dtypes_are_refused():
    """float32 then float64 used to report dtype float32 while outputting float64."""
    with pytest.raises(
        ValueError,
        match=r"layers\[2\] \(Dense.*\) has float64 parameters but layers\[0\] "
        r".* float32",
    ):
        Sequential([Dense(3, 4), ReLU(), Dense(4, 2, dtype=np.float64)])


class Scale(Layer):
    """A layer type Sequential has never heard of: ``y = x * s``, ``s: (n,)``."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n_in = n
        self.params = {"s": np.ones(n, np.float32)}
        self.grads = {"s": np.zeros(n, np.float32)}

    def forward(self, x, training=False):
        self._x = x
        return x * self.params["s"]

    def backward(self, grad_out, *, input_grad=True):
        self.grads["s"][...] = (grad_out * self._x).sum(axis=0)
        return grad_out * self.params["s"] if input_grad else None

    def output_shape(self, input_shape):
        if input_shape[-1] not in (None, self.n_in):
            raise ValueError(f"Scale({self.n_in}) got {input_shape}")
        return input_shape

    def __str__(self) -> str:
        return f"Scale({self.n_in})"


def test_sequential_asks_the_layer_interface_not_the_class():
    """A new layer type needs no change to Sequential: connections, the input width,
    the first layer's skipped input gradient and the summary come from the layer."""
    with pytest.raises(
        ValueError, match=r"layers\[1\] is Scale\(5\) but the previous layer outputs 4"
    ):
        Sequential([Dense(3, 4), Scale(5)])
    model = Sequential([Scale(3), Dense(3, 2)])
    assert model.n_inputs == 3 and "1: Dense" in model.summary()
    x = np.ones((2, 3), np.float32)
    model.forward(x, training=True)
    assert model.backward(np.ones((2, 2), np.float32), input_grad=False) is None
    assert model.layers[0].grads["s"].any()  # its parameters still got gradients
    np.testing.assert_array_equal(model.infer(x), model.forward(x))  # default infer


def test_sequential_needs_layers():
    """An empty model, or something that is not a Layer, is
    refused with its position."""
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential([])
    with pytest.raises(
        TypeError, match=r"layers\[1\] must be an nnlib Layer, got ufunc"
    ):
        Sequential([Dense(2, 2), np.tanh])  # a NumPy function is not a layer


@pytest.mark.parametrize(
    "layers, reason",
    [
        ([], "Sequential needs at least one layer"),
        ([Dense(3, 4, rng=0), Dense(5, 2, rng=0)], r"layers\[1\] is Dense\(5, 2\)"),
    ],
    ids=["no-layers", "mismatched-widths"],
)
def test_loading_layers_that_make_no_model_names_the_file(layers, reason, tmp_path):
    """Files whose layers are intact but do not fit together (written by
    ``save_layers``, which builds no model) used to be refused without the path."""
    path = tmp_path / "model.npz"
    save_layers(layers, path)
    with pytest.raises(
        ValueError, match=rf"model\.npz has an invalid architecture: {reason}"
    ):
        Sequential.load(path)


def test_forward_with_wrong_number_of_features_names_the_layer():
    """A model fed 785 features instead of 784 reports the layer and the shape."""
    model = mlp(784, [512], 10, rng=0)
    with pytest.raises(
        ValueError,
        match=r"Dense\(784, 512\) expected input with 784 features, "
        r"got array of shape \(128, 785\)",
    ):
        model.forward(np.zeros((128, 785), dtype=np.float32))


def test_predict_rejects_nan_inputs():
    """NaN inputs are refused before any computation, with the first bad index.

    ``forward`` trusts its batch; ``predict`` (like ``fit`` and ``evaluate``) is the
    boundary that checks the whole input once."""
    x = np.zeros((3, 4), dtype=np.float32)
    x[2, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"x contains NaN or inf \(first at index \(2, 1\)"
    ):
        mlp(4, [3], 2).predict(x)


def test_predict_rejects_integer_inputs():
    """Integer arrays (e.g. labels passed by mistake) are a TypeError."""
    with pytest.raises(TypeError, match="x must be float or uint8 images"):
        mlp(4, [3], 2).predict(np.zeros((3, 4), dtype=np.int64))


def test_predict_rejects_the_wrong_number_of_features():
    """Checked once for the whole input, naming the layer (as Dense.forward does)."""
    with pytest.raises(
        ValueError, match=r"Dense\(4, 3\) expected input with 4 features, .*\(5,\)"
    ):
        mlp(4, [3], 2).predict_proba(np.zeros((3, 5), dtype=np.float32))


def test_mlp_rejects_unknown_activation():
    """An unknown activation name is refused, listing the valid names."""
    with pytest.raises(
        ValueError, match=r"activation must be one of .*'relu'.*, got 'softmax'"
    ):
        mlp(4, [3], 2, activation="softmax")


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"hidden": 3}, TypeError, r"hidden must be a list of layer widths"),
        ({"hidden": [3, 0]}, ValueError, r"hidden\[1\] must be an integer >= 1"),
        (
            {"dropout": 1.0},
            ValueError,
            r"dropout must be a finite number in \[0\.0, 1\.0\)",
        ),
        ({"n_out": 0}, ValueError, r"n_out must be an integer >= 1"),
    ],
)
def test_mlp_rejects_bad_arguments(kwargs, exc, message):
    """Each bad mlp argument is refused with a message naming it."""
    args = {"n_in": 4, "hidden": [3], "n_out": 2, **kwargs}
    with pytest.raises(exc, match=message):
        mlp(**args)


def test_predict_rejects_empty_and_one_dimensional_input():
    """A single sample must be a (1, features) batch; an empty batch is refused."""
    model = mlp(4, [3], 2)
    with pytest.raises(
        ValueError, match=r"non-empty batch of shape \(N, features\), got \(4,\)"
    ):
        model.predict(np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError, match="non-empty batch"):
        model.predict_proba(np.zeros((0, 4), dtype=np.float32))


def test_outputs_that_overflow_are_refused_when_predicting():
    """Issue 13.9: finite but huge weights (1e38) overflow every output to inf or
    NaN, and argmax answered class 0 for everything; predict says what happened."""
    model = mlp(3, [4], 2, rng=0)
    model.layers[0].params["W"][...] = 1e38
    with pytest.raises(ValueError, match=r"outputs for x\[0:2048\] are NaN or inf"):
        model.predict(np.full((5, 3), 2.0, np.float32))
