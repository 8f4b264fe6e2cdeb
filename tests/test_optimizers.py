"""Tests for :mod:`nnlib.optimizers`: SGD (with and without momentum), RMSProp and Adam.

Each rule is checked against a worked example whose arithmetic is written out in the
comments, for one and two steps on a 2-element parameter, so a reader can redo it with
pencil and paper. Then: weight decay, schedules, argument checks, where the state lives,
and checkpoints.
"""

from __future__ import annotations

import copy
import math
import tracemalloc

import numpy as np
import pytest

from nnlib import SGD, Adam, Dense, Layer, RMSProp, SoftmaxCrossEntropy, fit, mlp
from nnlib.optimizers import AdamW
from nnlib.schedules import CosineDecay, StepDecay

# The expected numbers below are rounded to 8-9 significant digits in the comments; rtol
# 1e-7 accepts that rounding, while any mistake in a rule (a missing bias correction,
# eps in the wrong place, a wrong sign) changes the result in the 2nd or 3rd digit.
RTOL = 1e-7


def one_parameter(w: list[float]) -> Layer:
    """A minimal "model": one float64 parameter named ``w`` whose gradient we set by
    hand."""
    layer = Layer()
    layer.params = {"w": np.array(w, dtype=np.float64)}
    layer.grads = {"w": np.zeros(len(w))}
    return layer


def step_with(opt, model: Layer, grad: list[float]) -> np.ndarray:
    model.grads["w"][:] = grad
    opt.step(model)
    return model.params["w"].copy()


# ---------------------------------------------------------------------- worked examples


def test_sgd_two_steps_by_hand():
    """w ← w - lr·g with lr = 0.1.
    Step 1: g = (0.5, -0.25): w = (1, -1) - 0.1·(0.5, -0.25) = (0.95, -0.975).
    Step 2: g = (0.1, 0.2):   w = (0.95, -0.975) - (0.01, 0.02) = (0.94, -0.995)."""
    model, opt = one_parameter([1.0, -1.0]), SGD(lr=0.1)
    np.testing.assert_allclose(
        step_with(opt, model, [0.5, -0.25]), [0.95, -0.975], rtol=RTOL
    )
    np.testing.assert_allclose(
        step_with(opt, model, [0.1, 0.2]), [0.94, -0.995], rtol=RTOL
    )
    assert set(opt.state_dict()) == {"iterations"}  # plain SGD has no slots to save


def test_sgd_momentum_two_steps_by_hand():
    """v ← μv + g, w ← w - lr·v with μ = 0.9, lr = 0.1.
    Step 1: v = (0.5, -0.25);
            w = (1, -1) - (0.05, -0.025) = (0.95, -0.975).
    Step 2: v = 0.9·(0.5, -0.25) + (0.1, 0.2) = (0.55, -0.025);
            w = (0.95 - 0.055, -0.975 + 0.0025) = (0.895, -0.9725)."""
    model, opt = one_parameter([1.0, -1.0]), SGD(lr=0.1, momentum=0.9)
    np.testing.assert_allclose(
        step_with(opt, model, [0.5, -0.25]), [0.95, -0.975], rtol=RTOL
    )
    np.testing.assert_allclose(
        step_with(opt, model, [0.1, 0.2]), [0.895, -0.9725], rtol=RTOL
    )
    np.testing.assert_allclose(opt.state["w"]["velocity"], [0.55, -0.025], rtol=RTOL)


def test_rmsprop_two_steps_by_hand():
    """s ← ρs + (1-ρ)g², w ← w - lr·g/(√s + eps),
    with ρ = 0.9, lr = 0.01, eps = 1e-8, g = (0.1, -0.2).
    Step 1: s = 0.1·g² = (0.001, 0.004); √s = (0.031622777, 0.063245553) = √0.1·|g|,
            so the step is lr·sign(g)/√0.1 = ±0.031622767 (eps shifts the 8th digit):
            w = (1, 1) - (0.031622767, -0.031622772) = (0.968377233, 1.031622772).
    Step 2: s = 0.9·0.1·g² + 0.1·g² = 0.19·g²; step = lr·sign(g)/√0.19 = ±0.022941568:
            w = (0.945435665, 1.054564342)."""
    model, opt = one_parameter([1.0, 1.0]), RMSProp(lr=0.01, rho=0.9, eps=1e-8)
    w = step_with(opt, model, [0.1, -0.2])
    np.testing.assert_allclose(w, [0.968377233, 1.031622772], rtol=RTOL)
    np.testing.assert_allclose(opt.state["w"]["square_avg"], [0.001, 0.004], rtol=RTOL)
    w = step_with(opt, model, [0.1, -0.2])
    np.testing.assert_allclose(w, [0.945435665, 1.054564342], rtol=RTOL)


def test_adam_one_step_by_hand():
    """Adam with lr = 0.1, β1 = 0.9, β2 = 0.999, eps = 1e-8,
    g = (0.1, -0.2), w = (1, 1).
    m = (1-β1)·g = (0.01, -0.02);          v = (1-β2)·g² = (1e-5, 4e-5)
    m̂ = m/(1-0.9) = g = (0.1, -0.2);       v̂ = v/(1-0.999) = g² = (0.01, 0.04); √v̂ = |g|
    update = -lr·m̂/(√v̂ + eps) = -0.1·g/(|g| + 1e-8) ≈ -lr·sign(g)
           = (-0.09999999, +0.099999995)
    w = (0.90000001, 1.099999995)."""
    model, opt = one_parameter([1.0, 1.0]), Adam(lr=0.1)
    w = step_with(opt, model, [0.1, -0.2])
    np.testing.assert_allclose(w, [0.90000001, 1.099999995], rtol=RTOL)
    np.testing.assert_allclose(opt.state["w"]["m"], [0.01, -0.02], rtol=RTOL)
    np.testing.assert_allclose(opt.state["w"]["v"], [1e-5, 4e-5], rtol=RTOL)


def test_adam_two_steps_by_hand():
    """Continuing the one-step example with g = (0.3, 0.1): m = 0.9·(0.01, -0.02) +
    0.1·(0.3, 0.1) = (0.039, -0.008) v = 0.999·(1e-5, 4e-5) + 0.001·(0.09, 0.01) =
    (9.999e-5, 4.996e-5) m̂ = m/(1-0.9²) = m/0.19 = (0.20526316, -0.04210526) v̂ =
    v/(1-0.999²) = v/0.001999 = (0.05002001, 0.02499250); √v̂ = (0.22365154, 0.15809015)
    update = -0.1·m̂/(√v̂ + eps) = (-0.09177811, +0.02663370) w = (0.90000001 -
    0.09177811, 1.099999995 + 0.02663370) = (0.80822190, 1.12663370)."""
    model, opt = one_parameter([1.0, 1.0]), Adam(lr=0.1)
    step_with(opt, model, [0.1, -0.2])
    w = step_with(opt, model, [0.3, 0.1])
    np.testing.assert_allclose(w, [0.80822190, 1.12663370], rtol=RTOL)
    np.testing.assert_allclose(opt.state["w"]["m"], [0.039, -0.008], rtol=RTOL)
    np.testing.assert_allclose(opt.state["w"]["v"], [9.999e-5, 4.996e-5], rtol=RTOL)
    assert opt.iterations == 2


# -------------------------------------------------------------- weight decay, schedules


def test_weight_decay_adds_lambda_w_to_the_gradient():
    """SGD, lr = 0.1, λ = 0.5, w = (2, -4), g = (1, 1): g + λw = (2, -1); w = (1.8,
    -3.9)."""
    model, opt = one_parameter([2.0, -4.0]), SGD(lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(
        step_with(opt, model, [1.0, 1.0]), [1.8, -3.9], rtol=RTOL
    )
    # The stored gradient is not modified: the decay term is added to a temporary.
    np.testing.assert_array_equal(model.grads["w"], [1.0, 1.0])


def test_adam_weight_decay_enters_before_the_moments():
    """L2 decay in Adam is part of the gradient: g = (-0.5, 1), λ = 0.5, w = (2, -4)
    give g + λw = (0.5, -1), whose signs are opposite to g; Adam's first step is
    -lr·sign(g + λw), so w = (2 - 0.1, -4 + 0.1) up to eps (a relative 2e-8)."""
    model, opt = one_parameter([2.0, -4.0]), Adam(lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(
        step_with(opt, model, [-0.5, 1.0]), [1.9, -3.9], rtol=RTOL
    )


@pytest.mark.parametrize("make", [SGD, Adam, RMSProp], ids=["sgd", "adam", "rmsprop"])
def test_weight_decay_allocates_no_new_array_per_step(make):
    """`grad + wd * w` used to allocate two (500, 500) arrays per step; traced peak
    << 1 MB."""
    layer = Dense(500, 500, rng=0)
    layer.grads["W"][...] = 1.0
    opt = make(0.01, weight_decay=0.1)
    opt.step(layer)  # the first step creates the optimizer's buffers
    tracemalloc.start()
    try:
        opt.step(layer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < layer.params["W"].nbytes // 10


def test_weight_decay_step_equals_the_textbook_formula_bit_for_bit():
    """w <- w - lr (g + lambda w), computed in float32 exactly as the expression
    evaluates."""
    layer = Dense(3, 2, rng=0)
    layer.grads["W"][...] = np.random.default_rng(1).standard_normal((3, 2))
    w, g = layer.params["W"].copy(), layer.grads["W"].copy()
    SGD(0.1, weight_decay=0.01).step(layer)
    np.testing.assert_array_equal(layer.params["W"], w - (g + 0.01 * w) * 0.1)


def test_schedule_sets_the_learning_rate_of_each_step():
    """StepDecay(2, 0.5) with lr = 1: steps 0, 1 use 1; steps 2, 3 use 0.5; step 4 uses
    0.25. With g = 1, plain SGD moves w by exactly the current rate: 10 → 9 → 8 → 7.5 →
    7 → 6.75."""
    model, opt = one_parameter([10.0]), SGD(lr=1.0, schedule=StepDecay(2, 0.5))
    rates, weights = [], []
    for _ in range(5):
        rates.append(opt.current_lr)
        weights.append(step_with(opt, model, [1.0])[0])
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert weights == [9.0, 8.0, 7.5, 7.0, 6.75]


# ---------------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    "make", [lambda lr: SGD(lr), lambda lr: RMSProp(lr), lambda lr: Adam(lr)]
)
@pytest.mark.parametrize("lr", [0.0, -0.01, float("nan"), float("inf")])
def test_learning_rate_must_be_positive_and_finite(make, lr):
    """lr <= 0, NaN or inf is a ValueError naming lr and the allowed interval."""
    with pytest.raises(
        ValueError, match=r"lr must be a finite number in \(0\.0, inf\]"
    ):
        make(lr)


def test_learning_rate_must_be_a_number():
    """A string lr is a TypeError naming lr."""
    with pytest.raises(TypeError, match="lr must be a number"):
        SGD("0.1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: SGD(0.1, momentum=1.0), "momentum"),
        (lambda: SGD(0.1, momentum=-0.5), "momentum"),
        (lambda: Adam(beta1=1.0), "beta1"),
        (lambda: Adam(beta2=1.5), "beta2"),
        (lambda: Adam(beta1=-0.1), "beta1"),
        (lambda: Adam(eps=0.0), "eps"),
        (lambda: RMSProp(0.1, rho=1.0), "rho"),
        (lambda: SGD(0.1, weight_decay=-1e-4), "weight_decay"),
    ],
)
def test_bad_hyperparameters_are_rejected_by_name(make, name):
    """Each hyper-parameter outside its range is a ValueError whose message starts with
    its name."""
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number in"):
        make()


@pytest.mark.parametrize("bad", [-0.5, math.nan, math.inf])
def test_bad_schedule_factor_is_refused_naming_the_step(bad):
    """A factor that is negative, NaN or inf would silently corrupt every parameter."""
    layer = Dense(3, 2, rng=0)
    opt = SGD(0.1, schedule=lambda t: bad if t == 2 else 1.0)
    opt.step(layer)
    opt.step(layer)
    before = layer.params["W"].copy()
    with pytest.raises(ValueError, match="at step 2 must be a finite number"):
        opt.step(layer)
    np.testing.assert_array_equal(layer.params["W"], before)  # nothing was updated


def test_schedule_must_be_callable():
    """A number passed as schedule is refused (it must be a function of the step)."""
    with pytest.raises(TypeError, match="schedule must be a callable"):
        SGD(0.1, schedule=0.5)  # type: ignore[arg-type]


# ---------------------------------------------------------------- state and checkpoints


def backprop(model, x, y) -> None:
    """One forward/backward pass that fills the model's gradients."""
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(x, training=True), y)
    model.backward(loss.backward())


def test_state_lives_in_the_optimizer_not_on_the_layers():
    """After an Adam step, ``optimizer.state`` holds m and v (and a scratch buffer) for
    every parameter, of the parameter's shape and dtype; no layer gained any attribute;
    ``state_dict`` saves the slots m and v, not the buffer."""
    model = mlp(4, [5], 3, rng=0)
    x = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32)
    y = np.arange(6) % 3
    before = [set(vars(layer)) for layer in model.layers]
    opt = Adam(1e-2)
    backprop(model, x, y)
    opt.step(model)
    assert [set(vars(layer)) for layer in model.layers] == before
    assert set(opt.state) == {"0.W", "0.b", "2.W", "2.b"}
    for p in model.parameters():
        assert set(opt.state[p.name]) == {"m", "v", "scratch"}
        for slot in opt.state[p.name].values():
            assert slot.shape == p.value.shape and slot.dtype == p.value.dtype
    assert set(opt.state_dict()) == {"iterations"} | {
        f"{p.name}/{slot}" for p in model.parameters() for slot in ("m", "v")
    }


@pytest.mark.parametrize(
    "make", [lambda: SGD(0.05, momentum=0.9), lambda: RMSProp(0.01), lambda: Adam(0.01)]
)
def test_state_dict_round_trip_continues_identically(make, tmp_path):
    """Train 3 steps, save the optimizer state to an .npz file, restore it into a *new*
    optimizer for a copy of the model: the next 3 steps are bit-identical to an
    uninterrupted run (this needs the moments *and* the step counter, which Adam's bias
    correction depends on)."""
    rng = np.random.default_rng(2)
    batches = [
        (rng.standard_normal((5, 4)).astype(np.float32), rng.integers(0, 3, 5))
        for _ in range(6)
    ]
    model, opt = mlp(4, [6], 3, rng=3), make()
    for x, y in batches[:3]:
        backprop(model, x, y)
        opt.step(model)
    np.savez(tmp_path / "opt.npz", **opt.state_dict())
    resumed_model = copy.deepcopy(model)
    resumed_opt = make()
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as data:
        resumed_opt.load_state_dict(dict(data))
    assert resumed_opt.iterations == 3
    for x, y in batches[3:]:
        for m, o in ((model, opt), (resumed_model, resumed_opt)):
            backprop(m, x, y)
            o.step(m)
    for a, b in zip(model.parameters(), resumed_model.parameters(), strict=True):
        assert np.array_equal(a.value, b.value), a.name


@pytest.mark.parametrize(
    "make",
    [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.1)],
    ids=["momentum", "adam"],
)
def test_state_dict_is_a_snapshot(make):
    """The arrays returned by state_dict do not change when training continues."""
    layer = Dense(3, 2, rng=0)
    layer.grads["W"][...] = 1.0
    opt = make()
    opt.step(layer)
    snapshot = opt.state_dict()
    frozen = {k: v.copy() for k, v in snapshot.items()}
    opt.step(layer)
    for key, value in snapshot.items():
        np.testing.assert_array_equal(value, frozen[key], err_msg=key)


def test_reusing_an_optimizer_for_a_different_model_is_an_error():
    """State is keyed by parameter name; a same-named parameter of another shape means
    the optimizer was reused by mistake, which must not silently broadcast old moments.
    """
    opt = Adam(1e-3)
    first, second = mlp(4, [5], 3, rng=0), mlp(4, [7], 3, rng=0)
    x, y = np.ones((2, 4), dtype=np.float32), np.array([0, 1])
    backprop(first, x, y)
    opt.step(first)
    backprop(second, x, y)
    with pytest.raises(
        ValueError, match=r"optimizer state for 0.W has shape \(4, 5\).*new optimizer"
    ):
        opt.step(second)


# ---------------------------------------------------------------------- textbook forms

OPTIMIZERS = {
    "sgd": lambda **kw: SGD(0.1, **kw),
    "momentum": lambda **kw: SGD(0.05, momentum=0.9, **kw),
    "rmsprop": lambda **kw: RMSProp(0.01, **kw),
    "adam": lambda **kw: Adam(0.05, **kw),
    "adamw": lambda **kw: AdamW(0.05, **kw),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("schedule", [None, CosineDecay(6, 0.1)], ids=["const", "cos"])
def test_in_place_update_equals_the_textbook_update(name, weight_decay, schedule):
    """Eight steps of ``step`` (in place, preallocated buffers, folded constants) on a
    float64 parameter against ``textbook_update`` (new arrays, the formula as
    printed), with random gradients: the same numbers up to rounding (rtol 1e-12;
    the two orders of operations round differently, a wrong rule differs at 1e-2)."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    model = one_parameter(list(w0.ravel()))
    opt = OPTIMIZERS[name](weight_decay=weight_decay, schedule=schedule)
    reference = copy.deepcopy(opt)
    w, slots = w0.ravel().copy(), {s: np.zeros(w0.size) for s in opt.slots}
    for _ in range(8):
        g = rng.standard_normal(w0.size)
        lr = reference.current_lr
        reference.iterations += 1
        if not isinstance(opt, AdamW):  # L2 decay enters the gradient
            g_rule = g + weight_decay * w
        else:  # AdamW: decoupled, inside the rule
            g_rule = g
        w, slots = reference.textbook_update(w, g_rule, slots, lr)
        step_with(opt, model, list(g))
    assert not np.allclose(w, w0.ravel(), atol=1e-3)  # the weights really moved
    np.testing.assert_allclose(model.params["w"], w, rtol=1e-12, atol=1e-14)
    for slot, value in slots.items():
        np.testing.assert_allclose(opt.state["w"][slot], value, rtol=1e-12, atol=1e-14)


def test_adamw_decays_every_weight_by_the_same_factor():
    """With a zero gradient Adam's step is 0 (m = v = 0), so AdamW only shrinks:
    w ← (1 − ηλ) w, whatever the scale of each weight; Adam with L2 instead divides
    λw by sqrt(v̂) and moves every weight by about η (sign(w) η)."""
    model, opt = one_parameter([4.0, -0.001]), AdamW(lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(step_with(opt, model, [0.0, 0.0]), [3.8, -0.00095])
    model, opt = one_parameter([4.0, -0.001]), Adam(lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(
        step_with(opt, model, [0.0, 0.0]), [3.9, -0.001 + 0.1], rtol=1e-4
    )  # eps = 1e-8 next to |λw| = 5e-4 makes the small weight's step 2e-5 shorter


@pytest.mark.parametrize("make", [RMSProp, Adam, AdamW])
def test_float16_models_train_with_adaptive_optimizers(make, toy_data):
    """Issue 13.6: in float16, eps = 1e-8 rounds to 0 and small g**2 underflow, so
    Adam's and RMSProp's steps divided by zero and every float16 run failed (blaming
    the learning rate). Their slots are kept in float32 now; the parameters stay
    float16 and the loss falls."""
    x, y = toy_data
    assert np.float16(1e-8) == 0  # the reason
    model = mlp(6, [16], 3, rng=0, dtype=np.float16)
    opt = make(1e-2)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        opt,
        x.astype(np.float16),
        y,
        epochs=5,
        batch_size=8,
        rng=0,
        progress=False,
    )
    assert history.train_loss[-1] < history.train_loss[0]
    assert all(p.value.dtype == np.float16 for p in model.parameters())
    assert all(s.dtype == np.float32 for st in opt.state.values() for s in st.values())


def test_loading_another_optimizers_state_is_an_error():
    """Adam's m and v mean nothing to SGD with momentum: refused, naming the slot."""
    layer = Dense(3, 2, rng=0)
    adam = Adam(0.1)
    adam.step(layer)
    with pytest.raises(ValueError, match=r"slot 'm', but SGD keeps \('velocity',\)"):
        SGD(0.1, momentum=0.9).load_state_dict(adam.state_dict())


def test_a_state_the_optimizer_cannot_step_from_is_refused_changing_nothing():
    """A parameter with m but no v, slots of two shapes, or a negative step count
    would crash (or divide by zero) at the next step: refused at once instead."""
    layer = Dense(3, 2, rng=0)
    adam = Adam(0.1)
    adam.step(layer)
    good = adam.state_dict()
    bad_states = {
        r"lacks \['W/v'\]": {k: v for k, v in good.items() if k != "W/v"},
        "different shapes": good | {"W/v": np.zeros((2, 3))},
        r"iterations must be >= 0, got -1": good | {"iterations": np.array(-1)},
    }
    for message, bad in bad_states.items():
        with pytest.raises(ValueError, match=message):
            adam.load_state_dict(bad)
        assert adam.iterations == 1 and np.array_equal(
            adam.state["W"]["m"], good["W/m"]
        )


# -------------------------------------------------------------------- optional: PyTorch


def textbook_adam_with_weight_decay(
    w, target, *, lr, weight_decay, steps, b1=0.9, b2=0.999, eps=1e-8
):
    """Adam as printed in Kingma & Ba (Algorithm 1), with L2 weight decay added to the
    gradient, written out directly in float64 (no scratch arrays, no folded bias
    corrections)."""
    w, m, v = np.array(w, dtype=np.float64), 0.0, 0.0
    for t in range(1, steps + 1):
        g = 2 * (w - target) + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def test_adam_with_weight_decay_matches_the_textbook_over_several_steps():
    """Ten steps on a quadratic loss with weight decay, against the textbook algorithm
    above (the torch-free counterpart of the optional PyTorch check below)."""
    rng = np.random.default_rng(0)
    w0, target = rng.standard_normal(5), rng.standard_normal(5)
    model, opt = one_parameter(list(w0)), Adam(lr=0.05, weight_decay=0.01)
    for _ in range(10):
        model.grads["w"][:] = 2 * (
            model.params["w"] - target
        )  # gradient of |w - target|²
        opt.step(model)
    expected = textbook_adam_with_weight_decay(
        w0, target, lr=0.05, weight_decay=0.01, steps=10
    )
    assert not np.allclose(expected, w0, atol=0.1)  # the weights really moved
    np.testing.assert_allclose(model.params["w"], expected, rtol=1e-10, atol=1e-12)


def textbook_adamw(w, target, *, lr, weight_decay, steps, b1=0.9, b2=0.999, eps=1e-8):
    """AdamW as in Loshchilov & Hutter (2019) and ``torch.optim.AdamW``: the gradient
    is taken at the current weights, the weights shrink by ``1 - lr * weight_decay``,
    then Adam's step (from the plain gradient) is subtracted. Float64, written out."""
    w, m, v = np.array(w, dtype=np.float64), 0.0, 0.0
    for t in range(1, steps + 1):
        g = 2 * (w - target)  # no decay in the gradient
        w = w * (1 - lr * weight_decay)  # decoupled decay first
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def test_adamw_matches_the_textbook_over_several_steps():
    """Ten steps on a quadratic loss (nonzero gradients) against ``textbook_adamw``:
    the torch-free counterpart of the optional PyTorch check below. Decaying after
    Adam's step instead would differ by ``lr * weight_decay * step`` (~1e-3 here)."""
    rng = np.random.default_rng(0)
    w0, target = rng.standard_normal(5), rng.standard_normal(5)
    model, opt = one_parameter(list(w0)), AdamW(lr=0.05, weight_decay=0.1)
    for _ in range(10):
        model.grads["w"][:] = 2 * (model.params["w"] - target)  # of |w - target|²
        opt.step(model)
    expected = textbook_adamw(w0, target, lr=0.05, weight_decay=0.1, steps=10)
    assert not np.allclose(expected, w0, atol=0.1)  # the weights really moved
    np.testing.assert_allclose(model.params["w"], expected, rtol=1e-10, atol=1e-12)


def test_adamw_matches_torch_over_several_steps():
    """Optional cross-check of AdamW against PyTorch's ``torch.optim.AdamW`` (skipped
    without torch): same weights and gradients, 10 steps, float64, agreement ~1e-12."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0, target = rng.standard_normal(5), rng.standard_normal(5)
    model, opt = one_parameter(list(w0)), AdamW(lr=0.05, weight_decay=0.1)
    tw = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.AdamW([tw], lr=0.05, weight_decay=0.1)
    for _ in range(10):
        model.grads["w"][:] = 2 * (model.params["w"] - target)
        opt.step(model)
        topt.zero_grad()
        ((tw - torch.tensor(target)) ** 2).sum().backward()
        topt.step()
    np.testing.assert_allclose(
        model.params["w"], tw.detach().numpy(), rtol=1e-10, atol=1e-12
    )


def test_adam_matches_torch_over_several_steps():
    """Optional cross-check against an independent implementation (skipped without
    torch).

    Same initial weights and gradients (a fixed quadratic loss), 10 steps, float64: the
    two implementations order their arithmetic differently, so agreement is to ~1e-12,
    not bitwise.
    """
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0, target = rng.standard_normal(5), rng.standard_normal(5)
    model, opt = one_parameter(list(w0)), Adam(lr=0.05, weight_decay=0.01)
    tw = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.Adam([tw], lr=0.05, weight_decay=0.01)
    for _ in range(10):
        model.grads["w"][:] = 2 * (
            model.params["w"] - target
        )  # gradient of |w - target|²
        opt.step(model)
        topt.zero_grad()
        ((tw - torch.tensor(target)) ** 2).sum().backward()
        topt.step()
    np.testing.assert_allclose(
        model.params["w"], tw.detach().numpy(), rtol=1e-10, atol=1e-12
    )
