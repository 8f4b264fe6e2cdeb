"""Patched COPIES of nnlib functions, measured by ``bench_epoch.py --sections
proposals``.

Nothing in ``nnlib/`` is edited: each proposal is a subclass whose method is a modified
copy of the library's, swapped into a model built by ``nnlib.mlp`` (or an optimizer
built here). If a proposal is adopted, the method body moves into the library as is.
Each one computes the same numbers as the library (bit for bit, or to float32 rounding
where stated; ``check()`` verifies).
"""

from __future__ import annotations

import math

import numpy as np

import nnlib
from nnlib.layer import Parameter


class BlockedAdam(nnlib.Adam):
    """``nnlib.Adam.update`` run over cache-sized blocks of each parameter.

    Same 13 in-place operations, same results bit for bit. The library runs each
    operation over a whole parameter (the first weight matrix is 1.6 MB; with ``m``,
    ``v``, the gradient and the scratch array that is 8 MB, four times this CPU's 2 MB
    L2), so every one of the 13 passes streams from L3/memory. Doing all 13 operations
    on a 32k-element block (128 kB per array) before moving on keeps the block in L2:
    memory traffic drops from 13 passes to about one.
    """

    block = 32_768

    def update(self, p: Parameter, grad: np.ndarray, lr: float) -> None:
        m, v, scratch = self._slots(p, "m", "v")
        t = self.iterations
        step_size = lr / (1.0 - self.beta1**t)
        inv_sqrt_bc2 = 1.0 / math.sqrt(1.0 - self.beta2**t)
        flat = [
            a.reshape(-1) for a in (p.value, grad, m, v, scratch)
        ]  # views (contiguous)
        for start in range(0, p.value.size, self.block):
            w, g, m_, v_, s = (a[start : start + self.block] for a in flat)
            np.multiply(g, 1.0 - self.beta1, out=s)  # m = b1 m + (1 - b1) g
            m_ *= self.beta1
            m_ += s
            np.multiply(g, g, out=s)  # v = b2 v + (1 - b2) g^2
            s *= 1.0 - self.beta2
            v_ *= self.beta2
            v_ += s
            np.sqrt(v_, out=s)
            s *= inv_sqrt_bc2
            s += self.eps
            np.divide(m_, s, out=s)
            s *= step_size
            np.subtract(w, s, out=w)


class BlockedAdam11(nnlib.Adam):
    """``BlockedAdam`` with two fewer passes (11 instead of 13), same state ``m`` and
    ``v``.

    ``w -= a m / (sqrt(v) c + eps)`` is rewritten ``w += (-a / c) m / (sqrt(v) + eps /
    c)`` (``a`` = step size, ``c`` = 1/sqrt(1 - b2^t)): the scaling of ``sqrt(v)`` and
    the final subtraction merge into the scalars. Equal to the library's update to
    float32 rounding.
    """

    block = 32_768

    def update(self, p: Parameter, grad: np.ndarray, lr: float) -> None:
        m, v, scratch = self._slots(p, "m", "v")
        t = self.iterations
        step_size = lr / (1.0 - self.beta1**t)
        c = 1.0 / math.sqrt(1.0 - self.beta2**t)
        flat = [a.reshape(-1) for a in (p.value, grad, m, v, scratch)]
        for start in range(0, p.value.size, self.block):
            w, g, m_, v_, s = (a[start : start + self.block] for a in flat)
            np.multiply(g, 1.0 - self.beta1, out=s)
            m_ *= self.beta1
            m_ += s
            np.multiply(g, g, out=s)
            s *= 1.0 - self.beta2
            v_ *= self.beta2
            v_ += s
            np.sqrt(v_, out=s)
            s += self.eps / c
            np.divide(m_, s, out=s)
            s *= -step_size / c
            w += s


class Adam11(nnlib.Adam):
    """``BlockedAdam11``'s 11 operations over whole parameters (no blocks).

    On a CPU whose L3 holds all of Adam's arrays (11 MB here), blocks only add Python
    calls; two fewer passes remain. Equal to the library's update to float32 rounding.
    """

    def update(self, p: Parameter, grad: np.ndarray, lr: float) -> None:
        m, v, s = self._slots(p, "m", "v")
        t = self.iterations
        step_size = lr / (1.0 - self.beta1**t)
        c = 1.0 / math.sqrt(1.0 - self.beta2**t)
        np.multiply(grad, 1.0 - self.beta1, out=s)
        m *= self.beta1
        m += s
        np.multiply(grad, grad, out=s)
        s *= 1.0 - self.beta2
        v *= self.beta2
        v += s
        np.sqrt(v, out=s)
        s += self.eps / c
        np.divide(m, s, out=s)
        s *= -step_size / c
        np.add(p.value, s, out=p.value)


class Float32Adam(nnlib.Adam):
    """``nnlib.Adam.update`` with its six scalars made ``np.float32`` once per step.

    NumPy converts a Python float to the array's float32 on every operation (NEP 50: the
    same value), so this is bit for bit the library's update; it only skips the
    conversions (13 operations x 6 parameters x 882 steps per epoch).
    """

    def update(self, p: Parameter, grad: np.ndarray, lr: float) -> None:
        m, v, scratch = self._slots(p, "m", "v")
        t, f = self.iterations, p.value.dtype.type
        b1, b2, eps = f(self.beta1), f(self.beta2), f(self.eps)
        one_b1, one_b2 = f(1.0 - self.beta1), f(1.0 - self.beta2)
        step_size = f(lr / (1.0 - self.beta1**t))
        inv_sqrt_bc2 = f(1.0 / math.sqrt(1.0 - self.beta2**t))
        np.multiply(grad, one_b1, out=scratch)
        m *= b1
        m += scratch
        np.multiply(grad, grad, out=scratch)
        scratch *= one_b2
        v *= b2
        v += scratch
        np.sqrt(v, out=scratch)
        scratch *= inv_sqrt_bc2
        scratch += eps
        np.divide(m, scratch, out=scratch)
        scratch *= step_size
        np.subtract(p.value, scratch, out=p.value)


class BlockedAdam16k(BlockedAdam):
    """``BlockedAdam`` with 16k-element blocks (64 kB per array: five fit in 1 MB
    L2)."""

    block = 16_384


class BlockedAdam128k(BlockedAdam):
    """``BlockedAdam`` with 128k-element blocks (512 kB per array)."""

    block = 131_072


class CastMaskDropout(nnlib.Dropout):
    """``Dropout.forward`` building the scaled mask as ``keep.astype(float32)`` then
    ``*= 1/(1-p)`` in place, instead of ``keep * scale`` (a bool-times-float loop).

    The same draws and the same values bit for bit (``1.0 * s`` is ``s``): a candidate
    for the library.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.p == 0.0:
            self._scaled_mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        mask = keep.astype(x.dtype)
        mask *= x.dtype.type(1.0 / (1.0 - self.p))
        self._scaled_mask = mask
        return x * mask


class FastDropout(nnlib.Dropout):
    """``Dropout.forward`` drawing the keep mask from raw random bits; identical masks.

    ``rng.random(shape, dtype=float32)`` turns each 32-bit draw ``u`` into ``(u >> 8) /
    2**24``, so ``value >= p`` is exactly ``u >= ceil(p * 2**24) << 8``. Comparing the
    raw bits skips the int-to-float conversion (half the cost of the draw), and
    ``astype`` + in-place scaling is cheaper than multiplying a bool array by a scalar
    (a mixed-type loop). Same masks bit for bit as the library for the same seed (for
    even-sized batches; odd sizes differ only in which half of the last 64-bit draw is
    kept).
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.p == 0.0:
            self._scaled_mask = None
            return x
        n = x.size
        bits = self.rng.bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n]
        keep = bits.reshape(x.shape) >= np.uint32(math.ceil(self.p * 2**24) << 8)
        mask = keep.astype(x.dtype)
        mask *= x.dtype.type(1.0 / (1.0 - self.p))
        self._scaled_mask = mask
        return x * mask


class FloatMaskReLU(nnlib.ReLU):
    """ReLU keeping a float mask: backward is a same-type multiply (no bool-to-float
    cast)."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._active = (x > 0).astype(x.dtype)
        return np.maximum(x, 0)


class LeanSoftmaxCrossEntropy(nnlib.SoftmaxCrossEntropy):
    """``SoftmaxCrossEntropy.forward`` with fewer temporaries (one ``exp`` instead of
    two).

    ``log p_y = (z_y - max) - log(sum exp(z - max))`` needs only the picked entries; the
    probabilities for backward are ``exp(z - max) / sum``, computed in place.
    """

    def forward(self, output: np.ndarray, target: np.ndarray) -> float:
        from nnlib._validation import check_float_array, check_labels

        logits = check_float_array(output, "logits", ndim=2)
        labels = check_labels(
            target, "labels", n=logits.shape[0], n_classes=logits.shape[1]
        )
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        sums = probs.sum(axis=1, keepdims=True)
        probs /= sums
        self._probs, self._labels = probs, labels
        picked = shifted[np.arange(logits.shape[0]), labels]
        return float(np.mean(np.log(sums[:, 0]) - picked))


def patch_model(
    model: nnlib.Sequential,
    *,
    dropout: bool = False,
    relu: bool = False,
    cast_mask: bool = False,
) -> None:
    """Swap the classes of a model's layers in place (same state, patched methods)."""
    for layer in model.layers:
        if dropout and type(layer) is nnlib.Dropout:
            layer.__class__ = FastDropout
        if cast_mask and type(layer) is nnlib.Dropout:
            layer.__class__ = CastMaskDropout
        if relu and type(layer) is nnlib.ReLU:
            layer.__class__ = FloatMaskReLU


def check() -> None:
    """The proposals compute what the library computes (run by ``bench_epoch.py``)."""
    rng = np.random.default_rng(0)
    shapes = [(784, 512), (512,), (64, 47)]
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [
        [rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(5)
    ]
    results = {}
    adams = (nnlib.Adam, BlockedAdam, BlockedAdam11, Float32Adam, Adam11)
    for cls in (*adams, BlockedAdam16k, BlockedAdam128k):
        opt = cls(1e-3)
        ws = [p.copy() for p in params]
        for step_grads in grads:
            opt.iterations += 1
            for i, (w, g) in enumerate(zip(ws, step_grads, strict=True)):
                opt.update(Parameter(str(i), w, g), g, opt.lr)
        results[cls.__name__] = ws
    ref = results["Adam"]
    assert all(
        np.array_equal(a, b) for a, b in zip(ref, results["BlockedAdam"], strict=True)
    )
    for name in ("Float32Adam", "BlockedAdam16k", "BlockedAdam128k"):
        assert all(
            np.array_equal(a, b) for a, b in zip(ref, results[name], strict=True)
        ), name
    assert all(
        np.allclose(a, b, rtol=0, atol=1e-6)
        for name in ("BlockedAdam11", "Adam11")
        for a, b in zip(ref, results[name], strict=True)
    )
    for shape in ((128, 512), (128, 256), (32, 512)):
        a, b = nnlib.Dropout(0.2, rng=3), FastDropout(0.2, rng=3)
        c = CastMaskDropout(0.2, rng=3)
        x = rng.standard_normal(shape).astype(np.float32)
        for _ in range(3):
            ya = a.forward(x, training=True)
            assert np.array_equal(ya, b.forward(x, training=True))
            assert np.array_equal(ya, c.forward(x, training=True))
            assert np.array_equal(a.backward(x), c.backward(x))
    z = rng.standard_normal((128, 47)).astype(np.float32) * 5
    y = rng.integers(0, 47, 128)
    a, b = nnlib.SoftmaxCrossEntropy(), LeanSoftmaxCrossEntropy()
    assert abs(a.forward(z, y) - b.forward(z, y)) < 1e-5
    assert np.allclose(a.backward(), b.backward(), atol=1e-7)
