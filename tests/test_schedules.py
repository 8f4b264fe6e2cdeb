"""Tests for :mod:`nnlib.schedules`: the factor each schedule gives at step t, as documented,
how an optimizer applies it (``current_lr``), and how ``fit`` records it per epoch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnlib import SGD, SoftmaxCrossEntropy, fit, mlp
from nnlib.schedules import CosineDecay, ExponentialDecay, StepDecay


def test_step_decay_multiplies_by_gamma_every_step_size_steps():
    """γ^floor(t/s) with s = 3, γ = 0.5: t = 0..2 → 1, t = 3..5 → 0.5, t = 6 → 0.25."""
    schedule = StepDecay(3, gamma=0.5)
    assert [schedule(t) for t in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]


def test_exponential_decay():
    """γ^t with γ = 0.5: 1, 0.5, 0.25, 0.125 (powers of two are exact in floating point)."""
    schedule = ExponentialDecay(0.5)
    assert [schedule(t) for t in range(4)] == [1, 0.5, 0.25, 0.125]


def test_cosine_decay_by_hand():
    """f(t) = f_end + (1 - f_end)·½(1 + cos(π·min(t, T)/T)) with T = 4, f_end = 0.2:
    t = 0: 0.2 + 0.8·1 = 1;  t = 2 (half way, cos = 0): 0.2 + 0.8·½ = 0.6;
    t = 4: 0.2 + 0.8·0 = 0.2;  t = 10 (past the end): stays 0.2."""
    schedule = CosineDecay(4, final_factor=0.2)
    # Tolerance 1e-15 absolute: cos(π/2) is ~6e-17 in floating point, not exactly 0.
    assert schedule(0) == pytest.approx(1.0, abs=1e-15)
    assert schedule(2) == pytest.approx(0.6, abs=1e-15)
    assert schedule(4) == pytest.approx(0.2, abs=1e-15)
    assert schedule(10) == pytest.approx(0.2, abs=1e-15)
    values = [schedule(t) for t in range(5)]
    assert values == sorted(values, reverse=True)  # never increases


def test_optimizer_current_lr_follows_the_schedule():
    """``current_lr`` is lr·schedule(iterations), and advances by one per ``step``."""
    model = mlp(2, [], 2, rng=0)
    for p in model.parameters():
        p.grad[...] = 0.0
    opt = SGD(0.2, schedule=ExponentialDecay(0.5))
    rates = []
    for _ in range(4):
        rates.append(opt.current_lr)
        opt.step(model)
    assert rates == [0.2, 0.1, 0.05, 0.025]


def test_fit_records_the_rate_at_the_start_of_each_epoch(toy_data):
    """48 samples in batches of 16 is 3 steps per epoch, so epoch e starts at step 3(e-1):
    StepDecay(3, 0.1) gives the rates 1, 0.1, 0.01 times lr for epochs 1, 2, 3."""
    x, y = toy_data
    opt = SGD(0.5, schedule=StepDecay(3, gamma=0.1))
    history = fit(
        mlp(6, [4], 3, rng=0),
        SoftmaxCrossEntropy(),
        opt,
        x,
        y,
        epochs=3,
        batch_size=16,
        rng=0,
        progress=False,
    )
    np.testing.assert_allclose(history.learning_rate, [0.5, 0.05, 0.005], rtol=1e-12)
    assert opt.iterations == 9


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: StepDecay(0), "step_size must be an integer >= 1"),
        (
            lambda: StepDecay(2, gamma=0.0),
            r"gamma must be a finite number in \(0\.0, 1\.0\]",
        ),
        (lambda: StepDecay(2, gamma=1.5), "gamma must be a finite number"),
        (lambda: ExponentialDecay(math.nan), "gamma must be a finite number"),
        (lambda: CosineDecay(0), "total_steps must be an integer >= 1"),
        (
            lambda: CosineDecay(10, final_factor=1.5),
            r"final_factor must be a finite number in \[0",
        ),
    ],
)
def test_bad_arguments_are_rejected_by_name(make, message):
    """Each bad schedule argument is a ValueError naming it."""
    with pytest.raises(ValueError, match=message):
        make()


def test_make_schedule_counts_epochs_in_batches():
    """make_schedule(name, epochs, steps_per_epoch), as its docstring says, with E = 30
    epochs of 7 batches: "step" gives 1 in epochs 1-10, 0.1 in 11-20, 0.01 in 21-30
    (checked at each epoch's first and last batch); "cosine" falls from 1 at the first
    batch to 0.5 half way (t = 105) and 0 at the end (t = 210); "constant" is None."""
    from nnlib.schedules import make_schedule

    step = make_schedule("step", 30, 7)
    for epoch in range(1, 31):
        expected = 0.1 ** ((epoch - 1) // 10)
        first, last = (epoch - 1) * 7, epoch * 7 - 1
        assert step(first) == pytest.approx(expected, rel=1e-12), epoch
        assert step(last) == pytest.approx(expected, rel=1e-12), epoch
    cosine = make_schedule("cosine", 30, 7)
    assert [cosine(0), cosine(105), cosine(210)] == pytest.approx([1, 0.5, 0])
    assert 0 < cosine(209) < 1e-4
    assert make_schedule("constant", 30, 7) is None
    assert make_schedule("step", 1, 5)(4) == 1  # one epoch: no drop within it


@pytest.mark.parametrize(
    "args, message",
    [
        (("linear", 3, 7), "schedule must be one of ('constant', 'step', 'cosine')"),
        (("step", 0, 7), "epochs"),
        (("cosine", 3, 0), "steps_per_epoch"),
    ],
)
def test_make_schedule_refuses_bad_arguments(args, message):
    from nnlib.schedules import make_schedule

    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        make_schedule(*args)
