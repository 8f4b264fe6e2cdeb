"""Tests for :mod:`nnlib.losses`: SoftmaxCrossEntropy and MeanSquaredError.

* the loss values agree with hand computations and with ``scipy.special.log_softmax``;
* the gradients agree with central finite differences on random shapes (hypothesis);
* softmax cross-entropy stays finite for logits of ±1e4 in float32 and float64;
* bad labels and targets raise errors that say what is wrong.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_softmax as scipy_log_softmax
from scipy.special import softmax as scipy_softmax
from sklearn.metrics import mean_absolute_error

from nnlib import SGD, MeanSquaredError, SoftmaxCrossEntropy, evaluate, fit, mlp
from nnlib.gradcheck import gradcheck_loss

# Float64 central differences (eps = 1e-6) on an O(1) loss are accurate to ~1e-10
# relative; 1e-6 is a safe bound that any wrong gradient formula exceeds by orders of
# magnitude.
GRAD_TOL = 1e-6


# ---------------------------------------------------------------------- gradients


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 8), c=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_softmax_cross_entropy_gradient_matches_finite_differences(n, c, seed):
    """(P - Y)/N equals the numerical derivative of the mean cross-entropy, for random
    shapes.

    Logits are drawn in [-2, 2], so every probability is >= e^-4/C and the gradient
    entries are not tiny. (When p_y ≈ 1 - 1e-6 the loss is ≈ 1e-6 but is computed as
    log(1 + 1e-6) with an absolute rounding error ~1e-16; the central difference then
    carries ~1e-16/eps = 1e-10 of noise on a 1e-6 gradient, a 1e-4 *checker* error that
    says nothing about the code.)
    """
    rng = np.random.default_rng(seed)
    logits = rng.uniform(-2.0, 2.0, size=(n, c))
    labels = rng.integers(0, c, size=n)
    assert gradcheck_loss(SoftmaxCrossEntropy(), logits, labels) < GRAD_TOL


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 8), d=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_mse_gradient_matches_finite_differences(n, d, seed):
    """2/(N D) (ŷ - y) equals the numerical derivative of the mean squared error."""
    rng = np.random.default_rng(seed)
    output, target = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    assert gradcheck_loss(MeanSquaredError(), output, target) < GRAD_TOL


# ---------------------------------------------------------------------- values


def test_cross_entropy_by_hand():
    """Row 1: logits (0, 0), label 0: p = 1/2, loss log 2.
    Row 2: logits (0, log 3), label 1: p = 3/(1+3) = 3/4, loss -log(3/4).
    Mean: (log 2 - log 0.75) / 2. Gradient (P - Y)/2 = [[-1/4, 1/4], [1/8, -1/8]]."""
    loss = SoftmaxCrossEntropy()
    value = loss.forward(np.array([[0.0, 0.0], [0.0, math.log(3.0)]]), np.array([0, 1]))
    assert value == pytest.approx((math.log(2.0) - math.log(0.75)) / 2, rel=1e-14)
    np.testing.assert_allclose(
        loss.backward(), [[-0.25, 0.25], [0.125, -0.125]], rtol=1e-14
    )


def test_uniform_logits_give_log_of_class_count():
    """Equal logits mean p = 1/C for every class, whatever the label: loss = log C."""
    loss = SoftmaxCrossEntropy().forward(np.full((4, 10), 7.5), np.array([0, 3, 9, 5]))
    assert loss == pytest.approx(math.log(10.0), rel=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_stable_for_huge_logits(dtype):
    """Logits of ±1e4 would overflow exp() (float32 overflows at 89); the loss and
    gradient must still be finite and equal -log softmax from scipy (computed in float64
    from the same logits).

    Tolerance: the loss is up to 2e4 and float32 has 24-bit mantissas, so rtol 1e-6
    covers float32 rounding of the shifted logits; float64 agrees to ~1e-15.
    """
    logits = np.array(
        [[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4], [5.0, -3.0, 1e4]],
        dtype=dtype,
    )
    labels = np.array([1, 2, 0, 0])
    loss = SoftmaxCrossEntropy()
    value = loss.forward(logits, labels)
    grad = loss.backward()

    reference = -scipy_log_softmax(logits.astype(np.float64), axis=1)[
        np.arange(4), labels
    ].mean()
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert value == pytest.approx(reference, rel=1e-6 if dtype == np.float32 else 1e-12)
    # The gradient of row n is (p_n - onehot_n)/N; each row of P - Y sums to 1 - 1 = 0.
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-7)
    onehot = np.eye(3)[labels]
    expected_grad = (scipy_softmax(logits.astype(np.float64), axis=1) - onehot) / 4
    np.testing.assert_allclose(grad, expected_grad, atol=1e-7)
    assert grad.dtype == dtype  # float32 logits give a float32 gradient


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 6),
    c=st.integers(2, 6),
    scale=st.floats(0.1, 50.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_cross_entropy_matches_scipy_and_gradient_rows_sum_to_zero(n, c, scale, seed):
    """For random logits up to ±~200 the loss equals scipy's -log_softmax (float64, rtol
    1e-12: both are stable log-sum-exp computations), and every gradient row sums to 0.
    """
    rng = np.random.default_rng(seed)
    logits = scale * rng.standard_normal((n, c))
    labels = rng.integers(0, c, size=n)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(logits, labels)
    reference = -scipy_log_softmax(logits, axis=1)[np.arange(n), labels].mean()
    assert value == pytest.approx(reference, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(loss.backward().sum(axis=1), 0.0, atol=1e-15)


def test_mse_by_hand():
    """diffs (1, 0, 2, 3): squares sum to 1 + 0 + 4 + 9 = 14 over N·D = 4 entries: loss
    3.5. Gradient 2/4 · diff = [[0.5, 0], [1, 1.5]]."""
    loss = MeanSquaredError()
    value = loss.forward(
        np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 2.0], [1.0, 1.0]])
    )
    assert value == 3.5
    np.testing.assert_array_equal(loss.backward(), [[0.5, 0.0], [1.0, 1.5]])


def test_mse_float32_gradient_stays_float32():
    """The factor 2/(N·D) does not upcast a float32 gradient to float64."""
    loss = MeanSquaredError()
    loss.forward(np.ones((2, 2), dtype=np.float32), np.zeros((2, 2), dtype=np.float32))
    assert loss.backward().dtype == np.float32


def test_cross_entropy_value_by_hand_and_for_huge_logits():
    """``value`` (what ``evaluate`` and validation use) is ``forward``'s number without
    the cache: the rows of ``test_cross_entropy_by_hand`` give (log 2 - log 0.75) / 2;
    float32 logits of ±1e4 give scipy's -log softmax (losses 2e4 and 1e4 - 5)."""
    loss = SoftmaxCrossEntropy()
    logits, labels = np.array([[0.0, 0.0], [0.0, math.log(3.0)]]), np.array([0, 1])
    expected = (math.log(2.0) - math.log(0.75)) / 2
    assert loss.value(logits, labels) == pytest.approx(expected, rel=1e-14)
    huge = np.array([[1e4, -1e4, 0.0], [5.0, -3.0, 1e4]], dtype=np.float32)
    log_p = scipy_log_softmax(huge.astype(np.float64), axis=1)
    reference = -(log_p[0, 1] + log_p[1, 0]) / 2
    assert loss.value(huge, np.array([1, 0])) == pytest.approx(reference, rel=1e-6)


def test_cross_entropy_metric_total_counts_correct_predictions():
    """Largest logits at 0, 1, 0 (a tie goes to the first) for labels 0, 1, 1: two
    right."""
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 5.0]])
    assert SoftmaxCrossEntropy().metric_total(logits, np.array([0, 1, 1])) == 2.0


def test_mse_value_and_metric_total_by_hand_and_against_scikit_learn():
    """|diffs| (1, 0) and (2, 3): per-sample mean absolute errors 0.5 and 2.5, summed
    3.0 (``fit`` divides by N = 2: MAE 1.5); squared, the mean is 14 / 4 = 3.5. On
    random (7, 3) data the total is 7 times scikit-learn's ``mean_absolute_error``."""
    loss = MeanSquaredError()
    out, target = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 2.0], [1.0, 1.0]])
    assert loss.metric_total(out, target) == 3.0
    assert loss.value(out, target) == 3.5
    rng = np.random.default_rng(0)
    out, target = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    expected = 7 * mean_absolute_error(target, out)
    assert loss.metric_total(out, target) == pytest.approx(expected, rel=1e-12)


def test_only_cross_entropy_is_a_classification_loss():
    """``fit`` reports accuracy only when ``is_classification`` is set."""
    assert SoftmaxCrossEntropy.is_classification
    assert not MeanSquaredError.is_classification


# ---------------------------------------------------------------------- errors
# ``forward`` trusts its batch: targets are checked once per data set, by
# ``Loss.check_targets``, which ``fit`` and ``evaluate`` call before the first batch.

F32 = np.dtype(np.float32)


def ce_targets(labels, n_outputs: int = 3) -> np.ndarray:
    return SoftmaxCrossEntropy().check_targets(
        np.array(labels), n_outputs, F32, "labels"
    )


@pytest.mark.parametrize(("labels", "bad"), [([0, 3], 3), ([-1, 1], -1)])
def test_cross_entropy_rejects_labels_out_of_range(labels, bad):
    """With 3 classes, labels must be 0, 1 or 2; the message shows the range and the
    culprit."""
    with pytest.raises(
        ValueError, match=rf"labels must be in \[0, 3\), got label {bad}"
    ):
        ce_targets(labels)


def test_cross_entropy_rejects_float_labels():
    """Float labels are a TypeError that names the dtype."""
    with pytest.raises(
        TypeError, match="labels must hold integer class labels, got dtype float64"
    ):
        ce_targets([0.0, 1.0])


def test_cross_entropy_rejects_one_hot_labels():
    """One-hot targets are refused with their shape (labels must be 1-D indices)."""
    with pytest.raises(
        ValueError,
        match=r"labels must be a 1-D array of class labels, got shape \(2, 3\)",
    ):
        ce_targets(np.eye(3, dtype=np.int64)[[0, 1]])


def test_wrong_number_of_targets_is_refused_at_the_boundary(toy_data):
    """The label count must match the number of samples (it used to be checked
    against the logits of every batch)."""
    x, y = toy_data
    with pytest.raises(ValueError, match="evaluate: x has 48 samples but y has 47"):
        evaluate(mlp(6, [4], 3, rng=0), SoftmaxCrossEntropy(), x, y[:-1])


def test_nan_logits_stop_training_with_a_floating_point_error(toy_data):
    """NaN logits (here from NaN weights) make the loss NaN, which ``fit`` reports
    naming epoch and batch (the loss used to scan every batch's logits itself)."""
    x, y = toy_data
    model = mlp(6, [4], 3, rng=0)
    model.layers[-1].params["b"][0] = np.nan
    with pytest.raises(FloatingPointError, match="loss became nan at epoch 1, batch 1"):
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y,
            epochs=1,
            batch_size=8,
            progress=False,
        )


@pytest.mark.parametrize(
    "loss, target",
    [
        (SoftmaxCrossEntropy(), np.zeros(0, np.int64)),
        (MeanSquaredError(), np.zeros((0, 3))),
    ],
    ids=["cross_entropy", "mse"],
)
def test_empty_data_is_a_clear_value_error(loss, target):
    """The mean over N = 0 samples used to be NaN (with RuntimeWarnings); an empty
    data set is refused before any batch."""
    with pytest.raises(ValueError, match=r"x must be a non-empty batch .* \(0, 3\)"):
        evaluate(mlp(3, [], 3, rng=0), loss, np.zeros((0, 3)), target)


def test_mse_rejects_mismatched_shapes_with_a_hint_for_1d_targets():
    """A (N,) target for (N, 1) outputs would broadcast to (N, N): refused, with a
    hint."""
    with pytest.raises(
        ValueError, match=r"same shape as the outputs \(N, 1\), got \(3,\).*reshape"
    ):
        MeanSquaredError().check_targets(np.zeros(3), 1, F32, "y")


def test_mse_float64_targets_keep_a_float32_model_in_float32():
    """Targets are cast to the model's dtype once, at the boundary, so the gradient
    and the whole backward pass stay float32 (float64 targets used to promote them,
    doubling the cost of every later product)."""
    model = mlp(3, [4], 2, activation="tanh", rng=0)
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    target64 = np.random.default_rng(2).standard_normal((5, 2))
    loss = MeanSquaredError()
    target = loss.check_targets(target64, 2, model.dtype, "y")
    assert target.dtype == np.float32
    value = loss.forward(model.forward(x), target)
    grad = loss.backward()
    assert grad.dtype == np.float32
    assert model.backward(grad).dtype == np.float32
    expected = np.mean((model.forward(x).astype(np.float64) - target64) ** 2)
    assert value == pytest.approx(expected, rel=1e-5)  # the value is still the MSE


def test_mse_target_that_overflows_the_model_dtype_is_refused():
    """A finite float64 target beyond float32's range would become inf after the
    cast."""
    with pytest.raises(ValueError, match="too large for the model's dtype float32"):
        MeanSquaredError().check_targets(np.array([[1e300]]), 1, F32, "y")


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), MeanSquaredError()])
def test_backward_before_forward_is_a_clear_error(loss):
    """Without a forward pass there is nothing to
    differentiate: a clear RuntimeError."""
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        loss.backward()
