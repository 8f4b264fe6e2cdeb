"""Tests for :mod:`nnlib.training` (``fit``, ``evaluate``) and :mod:`nnlib.history`.

* ``fit`` gives the same numbers as a straightforward NumPy re-implementation written
  here, so the in-place fast paths (preallocated gradients, scratch arrays, skipped
  input gradient) change no numbers;
* the same seeds give a bit-identical history; float32 stays float32 end to end;
* a diverging run stops with a FloatingPointError naming the epoch and batch;
* a small model learns real handwritten digits;
* bad inputs are refused with clear messages; ``History`` round-trips through JSON.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split

from nnlib import (
    SGD,
    Adam,
    EarlyStopping,
    History,
    MeanSquaredError,
    ModelCheckpoint,
    RMSProp,
    SoftmaxCrossEntropy,
    evaluate,
    fit,
    mlp,
)


def quiet_fit(model, loss, optimizer, x, y, **kwargs) -> History:
    """``fit`` without the progress bar (tests print nothing)."""
    return fit(model, loss, optimizer, x, y, progress=False, **kwargs)


# ------------------------------------------------------------------ against a reference


def reference_adam_training(
    weights, x, y, *, lr, epochs, batch_size, b1=0.9, b2=0.999, eps=1e-8
):
    """Mini-batch Adam on a ReLU MLP with softmax cross-entropy, written the plain
    textbook way in float64 with a fresh array for every intermediate: no in-place
    tricks at all.

    ``weights`` is a list of (W, b) pairs; the batches are taken in order (no
    shuffling).
    """
    params = [a.astype(np.float64) for pair in weights for a in pair]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = 0
    for _ in range(epochs):
        for start in range(0, len(x), batch_size):
            xb, yb = (
                x[start : start + batch_size].astype(np.float64),
                y[start : start + batch_size],
            )
            # forward: keep every layer's input and pre-activation
            inputs, pre = [], []
            h = xb
            n_layers = len(params) // 2
            for k in range(n_layers):
                w, b = params[2 * k], params[2 * k + 1]
                inputs.append(h)
                z = h @ w + b
                pre.append(z)
                h = np.maximum(z, 0.0) if k < n_layers - 1 else z
            logits = h
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs = e / e.sum(axis=1, keepdims=True)
            # backward: dL/dlogits = (P - Y)/B, then the chain rule layer by layer
            g = (probs - np.eye(logits.shape[1])[yb]) / len(yb)
            grads = [None] * len(params)
            for k in reversed(range(n_layers)):
                grads[2 * k] = inputs[k].T @ g
                grads[2 * k + 1] = g.sum(axis=0)
                if k > 0:
                    g = (g @ params[2 * k].T) * (pre[k - 1] > 0)
            # Adam, exactly as in Kingma & Ba (2015), Algorithm 1
            t += 1
            for i, grad in enumerate(grads):
                m[i] = b1 * m[i] + (1 - b1) * grad
                v[i] = b2 * v[i] + (1 - b2) * grad**2
                m_hat = m[i] / (1 - b1**t)
                v_hat = v[i] / (1 - b2**t)
                params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params


def test_fit_matches_a_straightforward_reimplementation():
    """Two epochs of three batches (the last one smaller) of Adam on a float32 ReLU MLP
    agree with the float64 textbook version started from the same weights.

    Tolerance: float32 carries ~7 significant digits and 6 steps accumulate a few
    roundings, so the parameters agree to rtol 1e-4 (atol 1e-6 for entries that pass
    near zero, where a relative tolerance is meaningless). Any real difference in the
    algorithm (a missing bias correction, a wrong gradient, a skipped batch) moves
    parameters by ~lr = 1e-2.
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 8)).astype(np.float32)
    y = rng.integers(0, 3, size=40)
    model = mlp(8, [7, 5], 3, activation="relu", rng=1)
    dense = [layer for layer in model.layers if layer.params]
    for layer in dense:  # non-zero biases, so that they are tested too
        layer.params["b"][:] = rng.uniform(-0.5, 0.5, layer.n_out)
    initial = [(layer.params["W"].copy(), layer.params["b"].copy()) for layer in dense]

    quiet_fit(
        model,
        SoftmaxCrossEntropy(),
        Adam(lr=0.01),
        x,
        y,
        epochs=2,
        batch_size=16,
        shuffle=False,
    )
    expected = reference_adam_training(initial, x, y, lr=0.01, epochs=2, batch_size=16)

    got = [p.value for p in model.parameters()]
    assert len(got) == len(expected)
    for a, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-6)
    # and training did move every parameter array (the comparison is not of untouched
    # weights)
    assert not np.allclose(got[0], initial[0][0])


# -------------------------------------------------------------- reproducibility, dtypes


def test_same_seeds_give_bit_identical_history(toy_data):
    """Two fresh models with the same seeds, trained on the same data (with dropout and
    shuffling, both driven by seeds), record exactly the same metrics: equality, not
    closeness."""
    x, y = toy_data

    def run(shuffle_seed: int = 6, model_seed: int = 5) -> dict:
        model = mlp(6, [16], 3, dropout=0.3, rng=model_seed)
        h = quiet_fit(
            model,
            SoftmaxCrossEntropy(),
            Adam(0.01),
            x,
            y,
            epochs=4,
            batch_size=8,
            validation_data=(x[:16], y[:16]),
            rng=shuffle_seed,
        )
        return h.metrics()

    first, second = run(), run()
    assert first == second
    # ... and the seeds do matter: changing either one changes the history.
    assert run(shuffle_seed=7)["train_loss"] != first["train_loss"]
    assert run(model_seed=8)["train_loss"] != first["train_loss"]
    assert len(first["train_loss"]) == 4 and len(first["val_accuracy"]) == 4
    assert "epoch_time" not in first  # timings vary and are excluded on purpose


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: SGD(0.1, momentum=0.9, weight_decay=1e-4),
        lambda: RMSProp(1e-3),
        lambda: Adam(1e-3),
    ],
)
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("inputs", ["uint8", "float32"])
def test_training_stays_float32_end_to_end(make_optimizer, activation, inputs):
    """After fit, every parameter, gradient and optimizer state array is float32, and so
    is a forward output: nothing was silently upcast to float64 (which doubles memory
    and time)."""
    rng = np.random.default_rng(0)
    if inputs == "uint8":
        x = rng.integers(0, 256, size=(20, 3, 3), dtype=np.uint8)
    else:
        x = rng.standard_normal((20, 9)).astype(np.float32)
    y = rng.integers(0, 4, size=20)
    model = mlp(9, [6], 4, activation=activation, dropout=0.2, rng=1)
    opt = make_optimizer()
    # Spy on every array that flows forward and backward during fit: a float64
    # intermediate would not show in the preallocated float32 parameters, gradients and
    # optimizer state.
    seen: list[tuple[str, np.dtype]] = []
    for layer in model.layers:

        def spy(method, where):
            def wrapped(arr, *args, **kwargs):
                out = method(arr, *args, **kwargs)
                seen.append((f"{where} in", arr.dtype))
                if out is not None:
                    seen.append((f"{where} out", out.dtype))
                return out

            return wrapped

        layer.forward = spy(layer.forward, f"{type(layer).__name__}.forward")
        layer.backward = spy(layer.backward, f"{type(layer).__name__}.backward")
    quiet_fit(
        model,
        SoftmaxCrossEntropy(),
        opt,
        x,
        y,
        epochs=2,
        batch_size=8,
        rng=2,
        validation_data=(x, y),
    )
    assert len(seen) > 4 * len(model.layers)
    assert [(where, dt) for where, dt in seen if dt != np.float32] == []
    for p in model.parameters():
        assert p.value.dtype == np.float32, p.name
        assert p.grad.dtype == np.float32, p.name
    assert opt.state  # all three keep state (SGD here uses momentum)
    for name, slots in opt.state.items():
        for slot, arr in slots.items():
            assert arr.dtype == np.float32, f"{name}/{slot}"
    assert (
        model.forward(rng.standard_normal((2, 9)).astype(np.float32)).dtype
        == np.float32
    )
    assert model.predict_proba(x).dtype == np.float32


# ---------------------------------------------------------------------- divergence


def test_exploding_training_raises_naming_epoch_and_batch(toy_data):
    """With SGD at lr = 1e12 the weights overflow float32 within a few batches. fit must
    stop with a FloatingPointError that says where it happened, instead of training on
    NaNs."""
    x, y = toy_data
    model = mlp(6, [8], 3, rng=0)
    # Overflow warnings are the expected symptom here, not a test failure.
    with (
        np.errstate(over="ignore", invalid="ignore"),
        pytest.raises(
            FloatingPointError,
            match=r"at epoch 1, batch \d+: the learning rate \(1e\+12\)",
        ),
    ):
        quiet_fit(
            model, SoftmaxCrossEntropy(), SGD(1e12), x, y, epochs=3, batch_size=4, rng=0
        )


def test_a_loss_that_explodes_without_nan_stops_training(toy_data):
    """Issue 13.5: SGD at lr = 30 drives the loss to ~1e9 within the first epoch,
    finite all along: the run used to "succeed". The epoch's loss is far above 100
    times its start (max(ln 3, the untrained loss)), so fit raises as for NaN."""
    x, y = toy_data
    with pytest.raises(
        FloatingPointError,
        match=r"training loss exploded to .* at epoch 1, more than 100 times what it "
        r"started near \(1\.\d+\): the learning rate \(30\)",
    ):
        quiet_fit(
            mlp(6, [8], 3, rng=0),
            SoftmaxCrossEntropy(),
            SGD(30.0),
            x,
            y,
            epochs=5,
            batch_size=8,
            rng=0,
        )


def test_a_rough_but_healthy_run_is_not_called_diverged():
    """The divergence rule must not stop a run that learns. SGD at lr = 1 with
    batches of 8 on the digits (tanh) is the roughest such run found in a sweep of 48:
    its second epoch averages about 9 times its starting loss, then it recovers."""
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    model = mlp(64, [64], 10, activation="tanh", rng=0)
    history = quiet_fit(
        model, SoftmaxCrossEntropy(), SGD(1.0), x, y, epochs=8, batch_size=8, rng=0
    )
    assert max(history.train_loss) > 5 * np.log(10)  # rough indeed
    assert np.mean(model.predict(x) == y) > 0.6  # and yet it learned


def test_regression_with_tiny_targets_is_measured_from_its_start():
    """Targets of size 1e-3 have a variance of ~1e-6, far below the untrained
    model's loss (~1): the reference is the larger of the two, so training that
    merely starts high is not called diverged."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = 1e-3 * (x @ rng.standard_normal((3, 2)))
    model = mlp(3, [16], 2, rng=1)
    history = quiet_fit(
        model, MeanSquaredError(), SGD(0.01), x, y, epochs=3, batch_size=8, rng=0
    )
    assert history.train_loss[0] > 1000 * np.var(y)


def test_overflowing_inputs_raise_at_the_first_batch_of_the_right_epoch(toy_data):
    """Finite inputs of 3e38 (near float32's maximum) overflow in the first layer. The
    history of a previous run continues, so the failing epoch is numbered 3, batch 1."""
    x, y = toy_data
    history = History(
        epoch=[1, 2],
        train_loss=[1.0, 0.9],
        train_accuracy=[0.3, 0.4],
        learning_rate=[0.1, 0.1],
        epoch_time=[0.0, 0.0],
    )
    huge = np.full_like(x, 3e38)
    with (
        np.errstate(over="ignore", invalid="ignore"),
        pytest.raises(FloatingPointError, match=r"at epoch 3, batch 1"),
    ):
        quiet_fit(
            mlp(6, [8], 3, rng=0),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            huge,
            y,
            epochs=1,
            batch_size=8,
            history=history,
        )


# ----------------------------------------------------------------- learning a real task


def test_learns_real_handwritten_digits():
    """scikit-learn's bundled 8x8 digits (1797 real images, no download): mlp(64, [64],
    10) with Adam for 20 epochs reaches > 90% accuracy on a held-out quarter (split seed
    0, model seed 0, shuffle seed 0; it reaches ~96%, so 90% leaves room for BLAS
    rounding differences). A model that does not learn stays near 10%."""
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)  # pixel values are 0..16
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    model = mlp(64, [64], 10, rng=0)
    history = quiet_fit(
        model,
        SoftmaxCrossEntropy(),
        Adam(1e-3),
        x_train,
        y_train,
        epochs=20,
        batch_size=32,
        rng=0,
        validation_data=(x_test, y_test),
    )
    accuracy = np.mean(model.predict(x_test) == y_test)
    assert accuracy > 0.90
    assert history.val_accuracy[-1] == pytest.approx(
        accuracy, abs=1e-12
    )  # evaluate agrees
    assert history.train_loss[-1] < history.train_loss[0] / 4


def test_regression_with_mse_recovers_a_linear_map():
    """A linear model (no hidden layer) fitted with MSE and SGD recovers y = x A + c
    from noiseless data; the residual loss after 200 epochs is far below the initial
    ~O(1)."""
    rng = np.random.default_rng(0)
    a, c = rng.standard_normal((3, 2)), np.array([0.5, -1.0])
    x = rng.standard_normal((64, 3))
    y = x @ a + c
    model = mlp(3, [], 2, rng=1, dtype=np.float64)
    history = quiet_fit(
        model,
        MeanSquaredError(),
        SGD(0.1, momentum=0.5),
        x,
        y,
        epochs=200,
        batch_size=16,
        rng=2,
    )
    assert history.train_accuracy == []  # no accuracy for regression
    assert history.train_loss[-1] < 1e-8
    np.testing.assert_allclose(model.layers[0].params["W"], a, atol=1e-4)
    np.testing.assert_allclose(model.layers[0].params["b"], c, atol=1e-4)


# ---------------------------------------------------------------------- evaluate


def test_evaluate_returns_mean_loss_and_accuracy(toy_data):
    """Batch-weighted averaging over uneven batches (48 = 20 + 20 + 8) equals the loss
    of one full forward pass (float64 model: agreement to 1e-12), and accuracy is the
    fraction right."""
    x, y = toy_data
    model = mlp(6, [5], 3, rng=0, dtype=np.float64)
    loss, acc = evaluate(model, SoftmaxCrossEntropy(), x, y, batch_size=20)
    logits = model.forward(x.astype(np.float64))
    assert loss == pytest.approx(SoftmaxCrossEntropy().forward(logits, y), rel=1e-12)
    assert acc == np.mean(logits.argmax(axis=1) == y)
    reg_loss, reg_acc = evaluate(
        model, MeanSquaredError(), x, np.zeros((48, 3)), batch_size=20
    )
    assert reg_acc is None
    assert reg_loss == pytest.approx(np.mean(logits**2), rel=1e-12)


def test_validation_and_evaluate_run_with_dropout_off(toy_data):
    """With dropout 0.5 a training-mode pass drops half the hidden units, so its loss
    differs clearly; the validation loss of ``fit`` and ``evaluate`` must both be the
    loss of ``model.forward(x, training=False)``."""
    x, y = toy_data
    x_val, y_val = x[32:], y[32:]
    model, loss = mlp(6, [32], 3, dropout=0.5, rng=0), SoftmaxCrossEntropy()
    history = quiet_fit(
        model,
        loss,
        SGD(0.1),
        x[:32],
        y[:32],
        epochs=2,
        batch_size=8,
        validation_data=(x_val, y_val),
        rng=0,
    )
    expected = loss.value(model.forward(x_val, training=False), y_val)
    assert history.val_loss[-1] == pytest.approx(expected, rel=1e-6)
    assert evaluate(model, loss, x_val, y_val)[0] == pytest.approx(expected, rel=1e-6)
    with_dropout = loss.value(model.forward(x_val, training=True), y_val)
    assert with_dropout != pytest.approx(expected, rel=1e-2)  # the check can tell


def test_evaluate_on_an_empty_set_is_a_clear_error():
    """An empty evaluation set has no mean loss: a ValueError saying so, not
    ZeroDivisionError."""
    with pytest.raises(ValueError, match="empty"):
        evaluate(
            mlp(2, [], 2),
            SoftmaxCrossEntropy(),
            np.zeros((0, 2), np.float32),
            np.zeros(0, np.int64),
        )


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("batch_size", [0, -4])
def test_fit_rejects_batch_size_below_one(batch_size, toy_data):
    """fit refuses batch_size < 1 with a message naming it."""
    x, y = toy_data
    with pytest.raises(
        ValueError, match=rf"batch_size must be an integer >= 1, got {batch_size}"
    ):
        quiet_fit(
            mlp(6, [3], 3),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y,
            epochs=1,
            batch_size=batch_size,
        )


def test_fit_rejects_zero_epochs(toy_data):
    """fit refuses epochs < 1 with a message naming it."""
    x, y = toy_data
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        quiet_fit(
            mlp(6, [3], 3),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y,
            epochs=0,
            batch_size=8,
        )


@pytest.mark.parametrize("where", ["training", "validation"])
def test_fit_rejects_nan_inputs_before_training(where, toy_data):
    """NaNs are found up front (naming which data set), and
    the model is left untouched."""
    x, y = toy_data
    bad = x.copy()
    bad[3, 2] = np.nan
    model = mlp(6, [3], 3, rng=0)
    before = [p.value.copy() for p in model.parameters()]
    train, val = (bad, (x, y)) if where == "training" else (x, (bad, y))
    name = "training data" if where == "training" else "validation_data"
    with pytest.raises(ValueError, match=f"{name}: x contains NaN or inf"):
        quiet_fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(0.1),
            train,
            y,
            epochs=1,
            batch_size=8,
            validation_data=val,
        )
    assert all(
        np.array_equal(p.value, b)
        for p, b in zip(model.parameters(), before, strict=True)
    )


def test_inputs_too_large_for_the_model_dtype_are_refused_up_front():
    """float64 1e39 is finite but inf in float32: fit, evaluate and predict all say so
    before any batch, instead of blaming the learning rate or the weights (or, for
    evaluate, silently returning a NaN loss)."""
    x, y = np.array([[1e39, 0.0, 0.0], [0.0, 1.0, 0.0]]), np.array([0, 1])
    model, loss = mlp(3, [4], 2, rng=0), SoftmaxCrossEntropy()
    message = r"x has values too large for the model's dtype float32 \(largest "
    with pytest.raises(ValueError, match="training data: " + message):
        quiet_fit(model, loss, SGD(0.1), x, y, epochs=1, batch_size=2)
    with pytest.raises(ValueError, match="evaluate: " + message):
        evaluate(model, loss, x, y)
    with pytest.raises(ValueError, match="^" + message):
        model.predict(x)
    assert model.predict(x / 1e30).shape == (2,)  # 10 fits float32: accepted


def test_a_loss_or_optimizer_class_instead_of_an_instance_is_named_up_front(toy_data):
    """Passing the class (no parentheses) used to fail deep inside: "check_targets()
    missing 1 required positional argument", "step() missing ... 'model'"."""
    x, y = toy_data
    model = mlp(6, [3], 3, rng=0)
    with pytest.raises(
        TypeError,
        match=r"loss must be an instance of Loss, such as Softmax.*got the "
        r"class SoftmaxCrossEntropy itself",
    ):
        quiet_fit(model, SoftmaxCrossEntropy, SGD(0.1), x, y, epochs=1, batch_size=8)
    with pytest.raises(TypeError, match="optimizer must be an instance of Optimizer"):
        quiet_fit(model, SoftmaxCrossEntropy(), Adam, x, y, epochs=1, batch_size=8)
    with pytest.raises(TypeError, match="got the class MeanSquaredError itself"):
        evaluate(model, MeanSquaredError, x, y)


@pytest.mark.parametrize(
    "loss, callback, message",
    [
        (
            SoftmaxCrossEntropy(),
            EarlyStopping(),
            r"EarlyStopping cannot monitor "
            r"'val_loss': fit records \['train_loss', 'train_accuracy'\] \(pass valid",
        ),
        (SoftmaxCrossEntropy(), ModelCheckpoint("unused.npz"), "monitor 'val_loss'"),
        (MeanSquaredError(), EarlyStopping("train_accuracy"), r"_mae'\]$"),
    ],
    ids=["early-stopping", "model-checkpoint", "metric-of-another-loss"],
)
def test_a_monitor_fit_will_not_record_is_refused_before_the_first_epoch(
    loss, callback, message, toy_data
):
    """It used to fail only after a whole epoch of training."""
    x, y = toy_data
    y = y if loss.is_classification else x[:, :3].copy()
    model = mlp(6, [3], 3, rng=0)
    before = [p.value.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=message):
        quiet_fit(
            model, loss, SGD(0.1), x, y, epochs=1, batch_size=8, callbacks=[callback]
        )
    assert all(
        np.array_equal(p.value, b)
        for p, b in zip(model.parameters(), before, strict=True)
    )


def test_fit_rejects_float_labels_for_classification(toy_data):
    """Float labels for a classification loss are refused up front."""
    x, y = toy_data
    with pytest.raises(
        TypeError, match="training data: y must hold integer class labels"
    ):
        quiet_fit(
            mlp(6, [3], 3),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y.astype(float),
            epochs=1,
            batch_size=8,
        )


def test_fit_rejects_labels_beyond_the_number_of_outputs(toy_data):
    """A 3-output model cannot learn label 3 (a common
    off-by-one with 1-based labels)."""
    x, y = toy_data
    y = y.copy()
    y[0] = 3
    with pytest.raises(ValueError, match=r"must be in \[0, 3\), got label 3"):
        quiet_fit(
            mlp(6, [3], 3),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y,
            epochs=1,
            batch_size=8,
            shuffle=False,
        )


def test_fit_rejects_mismatched_lengths_and_integer_inputs(toy_data):
    """x and y of different lengths, and integer (non-uint8) x, are refused."""
    x, y = toy_data
    with pytest.raises(
        ValueError, match="training data: x has 48 samples but y has 47"
    ):
        quiet_fit(
            mlp(6, [3], 3),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y[:-1],
            epochs=1,
            batch_size=8,
        )
    with pytest.raises(
        TypeError, match="x must be float or uint8 images, got dtype int64"
    ):
        quiet_fit(
            mlp(6, [3], 3),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x.astype(np.int64),
            y,
            epochs=1,
            batch_size=8,
        )


def test_validation_data_that_is_not_a_pair_is_a_clear_type_error(toy_data):
    """``validation_data=x_val`` used to fail with "too many values to unpack"."""
    x, y = toy_data
    with pytest.raises(
        TypeError,
        match=r"validation_data must be a pair \(x_val, y_val\), got an "
        r"array of shape \(48, 6\)",
    ):
        quiet_fit(
            mlp(6, [3], 3),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y,
            epochs=1,
            batch_size=8,
            validation_data=x,
        )


@pytest.mark.parametrize("wrong", ["one", "three"])
def test_validation_data_of_the_wrong_length_is_described_in_one_line(wrong, toy_data):
    """``validation_data=(x_val,)`` or ``(x_val, y_val, w)`` printed the arrays' repr,
    cut at 80 characters and spread over several lines: say what it is instead."""
    x, y = toy_data
    data = (x,) if wrong == "one" else (x, y, y)
    with pytest.raises(TypeError) as info:
        quiet_fit(
            mlp(6, [3], 3),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y,
            epochs=1,
            batch_size=8,
            validation_data=data,
        )
    message = str(info.value)
    assert "\n" not in message and "array(" not in message
    assert message.endswith(f"got a tuple of {len(data)} item(s)")


# -------------------------------------------------------------------- regression metric


def test_regression_history_records_the_mean_absolute_error():
    """A regression run has a metric besides the loss: the mean absolute error per
    epoch, train and validation, equal to scikit-learn's on the same predictions."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 3)).astype(np.float32)
    y = x @ rng.standard_normal((3, 2)) + 0.1 * rng.standard_normal((60, 2))
    model = mlp(3, [8], 2, activation="tanh", rng=1)
    history = quiet_fit(
        model,
        MeanSquaredError(),
        Adam(0.01),
        x[:40],
        y[:40],
        epochs=3,
        batch_size=8,
        rng=2,
        validation_data=(x[40:], y[40:]),
    )
    assert len(history.train_mae) == len(history.val_mae) == 3
    assert history.train_accuracy == history.val_accuracy == []
    expected = mean_absolute_error(y[40:], model.infer(x[40:]).astype(np.float64))
    assert history.val_mae[-1] == pytest.approx(expected, rel=1e-5)  # float32 model
    assert history.best_epoch("val_mae") in history.epoch


# ---------------------------------------------------------------------- threads


def test_predicting_in_another_thread_does_not_disturb_fit():
    """Issue 13.12: ``predict`` and ``evaluate`` in one thread while ``fit`` trains the
    same model (and loss object) in another used to overwrite the layers' cached
    inputs between a forward and its backward: a crash, or with equal batch sizes
    silently mixed gradients. Inference now caches nothing, so the run ends with
    exactly the weights of an undisturbed one."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2048, 100)).astype(np.float32)
    y = rng.integers(0, 4, 2048)
    loss = SoftmaxCrossEntropy()

    def train(model):
        return quiet_fit(
            model,
            loss,
            Adam(0.01),
            x,
            y,
            epochs=2,
            batch_size=32,
            rng=0,
            validation_data=(x[:64], y[:64]),
        )

    reference = mlp(100, [128], 4, dropout=0.2, rng=0)
    train(reference)
    model = mlp(100, [128], 4, dropout=0.2, rng=0)
    stop, errors, calls = threading.Event(), [], [0]

    def predict_meanwhile():
        while not stop.is_set():
            try:
                model.predict(x[:37])
                evaluate(model, loss, x[:64], y[:64], batch_size=32)
                calls[0] += 1
            except Exception as err:  # reported below, with the run's own result
                errors.append(err)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    thread = threading.Thread(target=predict_meanwhile)
    thread.start()
    try:
        train(model)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert errors == [] and calls[0] > 0
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert np.array_equal(a.value, b.value), a.name


# ------------------------------------------------------------------ continued histories


def test_stopped_early_is_reset_when_a_history_is_continued(overfitting_problem):
    """A continued run that completes all of its epochs did not stop early."""
    x, y, x_val, y_val = overfitting_problem
    model = mlp(5, [32], 3, rng=0)
    history = quiet_fit(
        model,
        SoftmaxCrossEntropy(),
        Adam(0.02),
        x,
        y,
        epochs=40,
        batch_size=8,
        rng=0,
        validation_data=(x_val, y_val),
        callbacks=[EarlyStopping(patience=2)],
    )
    assert history.stopped_early
    quiet_fit(
        model,
        SoftmaxCrossEntropy(),
        Adam(0.02),
        x,
        y,
        epochs=1,
        batch_size=8,
        validation_data=(x_val, y_val),
        history=history,
    )
    assert not history.stopped_early


@pytest.mark.parametrize("where", ["training", "validation"])
def test_labels_beyond_the_outputs_fail_before_any_training(where, toy_data):
    """Label 7 with 3 outputs, in the last training sample or in the validation set, is
    refused before the first optimizer step (it used to surface mid-epoch or after a
    whole epoch)."""
    x, y = toy_data
    y_train, y_val = y.copy(), y[:10].copy()
    (y_train if where == "training" else y_val)[-1] = 7
    model = mlp(6, [4], 3, rng=0)
    before = [p.value.copy() for p in model.parameters()]
    name = "training data" if where == "training" else "validation_data"
    with pytest.raises(
        ValueError, match=rf"{name}: y must be in \[0, 3\), got label 7"
    ):
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y_train,
            epochs=2,
            batch_size=8,
            validation_data=(x[:10], y_val),
            progress=False,
        )
    assert all(
        np.array_equal(p.value, b)
        for p, b in zip(model.parameters(), before, strict=True)
    )


# ------------------------------------------------------------------ real data


def test_mlp_learns_emnist_digits(mnist) -> None:
    """End to end on real data: one hidden layer, 3 epochs on 10,000 EMNIST digit
    training images (``mnist`` split): > 93% on the 10,000 test images.

    A model that learned nothing scores about 10%; a linear classifier on raw pixels
    about 90%.
    """
    x_train, y_train = mnist.x_train[:10_000], mnist.y_train[:10_000]
    model = mlp(784, [128], 10, rng=0)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        Adam(1e-3),
        x_train,
        y_train,
        epochs=3,
        batch_size=64,
        rng=0,
        progress=False,
    )
    assert history.train_loss[-1] < history.train_loss[0]
    predicted = model.predict(mnist.x_test)
    test_accuracy = float(np.mean(predicted == mnist.y_test))
    assert test_accuracy > 0.93, test_accuracy
    assert np.unique(predicted).size == 10  # every digit is predicted somewhere
