"""A plain NumPy MLP written the way most from-scratch tutorials write it: the baseline
to beat.

It is deliberately *naive but not sloppy*: every operation returns a fresh array (``x @
W + b``, ``dout * mask``, textbook Adam expressions, ``dX`` computed for the first layer
too, the dropout mask ``(rng.random(shape) > p) / (1 - p)``), but it stays in float32
throughout, so it is not slowed down by a silent float64 promotion (``X[idx] / 255.0``
and ``mask / (1 - p)`` with a Python float would both produce float64; ``np.float32``
scalars keep float32).

Used by ``bench_epoch.py``; it can also be run alone for a quick check::

    python benchmarks/reference_numpy.py --samples 12800
"""

from __future__ import annotations

import itertools

import numpy as np

F32 = np.float32


class Dense:
    def __init__(
        self, n_in: int, n_out: int, rng: np.random.Generator, init: str = "he"
    ):
        if init == "he":
            self.W = (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(
                F32
            )
        else:
            limit = np.sqrt(6.0 / (n_in + n_out))
            self.W = rng.uniform(-limit, limit, (n_in, n_out)).astype(F32)
        self.b = np.zeros(n_out, dtype=F32)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T

    def params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.W, self.dW), (self.b, self.db)]


class ReLU:
    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self.x = x
        return np.maximum(0, x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (self.x > 0)

    def params(self) -> list:
        return []


class Dropout:
    def __init__(self, p: float, rng: np.random.Generator):
        self.p, self.rng = p, rng

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        if not training:
            return x
        self.mask = (self.rng.random(x.shape) > self.p) / F32(
            1 - self.p
        )  # bool / f32 -> f32
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.mask

    def params(self) -> list:
        return []


class SoftmaxCrossEntropy:
    def forward(self, logits: np.ndarray, y: np.ndarray) -> float:
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        self.probs = exp / exp.sum(axis=1, keepdims=True)
        self.y = y
        return float(-np.mean(np.log(self.probs[np.arange(len(y)), y] + 1e-12)))

    def backward(self) -> np.ndarray:
        n = len(self.y)
        grad = self.probs.copy()
        grad[np.arange(n), self.y] -= 1
        return grad / n


class Adam:
    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m: dict[int, np.ndarray] = {}
        self.v: dict[int, np.ndarray] = {}
        self.t = 0

    def step(self, layers: list) -> None:
        self.t += 1
        k = 0
        for layer in layers:
            for param, grad in layer.params():
                if k not in self.m:
                    self.m[k] = np.zeros_like(param)
                    self.v[k] = np.zeros_like(param)
                self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * grad
                self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * grad**2
                m_hat = self.m[k] / (1 - self.beta1**self.t)
                v_hat = self.v[k] / (1 - self.beta2**self.t)
                param -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
                k += 1


class Network:
    """784-h1-h2-...-C, ReLU and dropout after each hidden layer (He init; Glorot for
    the last)."""

    def __init__(
        self,
        n_in: int,
        hidden: tuple[int, ...],
        n_out: int,
        dropout: float,
        seed: int = 0,
    ):
        rng = np.random.default_rng(seed)
        self.layers: list = []
        widths = [n_in, *hidden]
        for a, b in itertools.pairwise(widths):
            self.layers += [Dense(a, b, rng), ReLU(), Dropout(dropout, rng)]
        self.layers.append(Dense(widths[-1], n_out, rng, init="glorot"))
        self.loss = SoftmaxCrossEntropy()

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad: np.ndarray) -> None:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)


def preprocess(images: np.ndarray) -> np.ndarray:
    """uint8 ``(B, 28, 28)`` -> float32 ``(B, 784)`` in [0, 1], the tutorial way but in
    float32."""
    return images.reshape(len(images), -1).astype(F32) / F32(255.0)


def train_epoch(
    net: Network,
    opt: Adam,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    order: np.ndarray,
) -> tuple[float, float]:
    """One epoch over ``X[order]`` in mini-batches; returns (mean loss, accuracy)."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        xb, yb = preprocess(X[idx]), y[idx]
        out = net.forward(xb, training=True)
        total_loss += net.loss.forward(out, yb) * len(yb)
        correct += int((out.argmax(axis=1) == yb).sum())
        net.backward(net.loss.backward())
        opt.step(net.layers)
    return total_loss / len(X), correct / len(X)


def evaluate(net: Network, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Loss and accuracy on the whole set at once (no dropout)."""
    out = net.forward(preprocess(X), training=False)
    loss = net.loss.forward(out, y)
    return loss, float((out.argmax(axis=1) == y).mean())


if __name__ == "__main__":
    import argparse
    import time

    import common

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12_800)
    args = parser.parse_args()
    w = common.load_workload(args.samples)
    net, opt = (
        Network(784, common.HIDDEN, common.N_CLASSES, common.DROPOUT),
        Adam(common.LR),
    )
    order = np.random.default_rng(0).permutation(len(w.x_train))
    t = time.perf_counter()
    loss, acc = train_epoch(net, opt, w.x_train, w.y_train, common.BATCH, order)
    print(
        f"reference epoch on {len(w.x_train):,} samples: "
        f"{time.perf_counter() - t:.2f} s, "
        f"loss {loss:.3f}, train accuracy {acc:.3f}; eval "
        f"{evaluate(net, w.x_eval, w.y_eval)}"
    )
