"""Shared helpers of the benchmarks: the workload's data, thread limits, clocks and
statistics.

Nothing here is timed by itself; ``bench_epoch.py`` and ``bench_torch_accuracy.py``
import it. Run the benchmarks from the repository root, e.g. ``python
benchmarks/bench_epoch.py``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import blas_env
import numpy as np
from threadpoolctl import threadpool_limits

from nnlib import data as nndata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

torch = None
if not os.environ.get(
    "BENCH_NO_TORCH"
):  # set by the memory measurement's child process
    # PyTorch is optional: without it every torch measurement is skipped, with a message
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        torch = None

# The book's EMNIST model (the contract).
HIDDEN = (512, 256)
N_CLASSES = 47
DROPOUT = 0.2
LR = 1e-3
BATCH = 128
N_TRAIN = 112_800  # EMNIST balanced train
N_EVAL = 18_800  # EMNIST balanced test


@dataclass
class Workload:
    """uint8 images ``(N, 28, 28)`` and int64 labels for training and for evaluation."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_eval: np.ndarray
    y_eval: np.ndarray
    description: str


def load_workload(n_train: int = N_TRAIN, n_eval: int = N_EVAL) -> Workload:
    """The real EMNIST images the benchmark trains on (found by
    ``nnlib.data.load_emnist``).

    The full ``balanced`` split when it is present; otherwise the offline copy's
    ``bymerge`` test part (116,323 real images, 47 classes, complete): the first
    ``n_train`` images for training and the last ``n_eval`` for evaluation (these
    overlap the training images when ``n_train + n_eval > 116,323``, which does not
    matter for timing).
    """
    balanced = nndata.load_emnist("balanced", download=False, verbose=False)
    if balanced.source.train_complete and balanced.source.test_complete:
        d = balanced
        return Workload(
            d.x_train[:n_train],
            d.y_train[:n_train],
            d.x_test[:n_eval],
            d.y_test[:n_eval],
            f"EMNIST balanced ({shown(d.source.path)})",
        )
    d = nndata.load_emnist("bymerge", download=False, verbose=False)
    x, y = d.x_test, d.y_test
    if len(x) < max(n_train, n_eval):
        raise SystemExit(
            f"need {max(n_train, n_eval):,} images, the archive has {len(x):,}"
        )
    # Views (contiguous, no copy): the whole part stays in memory once, 91 MB of uint8.
    x_train, y_train = x[:n_train], y[:n_train]
    x_eval, y_eval = x[len(x) - n_eval :], y[len(y) - n_eval :]
    desc = (
        f"EMNIST bymerge test part ({shown(d.source.path)}, balanced split incomplete "
        "here): "
        f"train = images [0, {n_train:,}), eval = images [{len(x) - n_eval:,}, "
        f"{len(x):,})"
    )
    return Workload(x_train, y_train, x_eval, y_eval, desc)


def shown(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the repository (results files name no user or host)."""
    return os.path.relpath(path, REPO)


def n_parameters(
    hidden: tuple[int, ...] = HIDDEN, n_in: int = 784, n_out: int = N_CLASSES
) -> int:
    widths = [n_in, *hidden, n_out]
    return sum(a * b + b for a, b in itertools.pairwise(widths))


# ----------------------------------------------------------------------------- threads


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Limit NumPy's BLAS (threadpoolctl) and PyTorch (intra-op threads) to ``n``
    threads."""
    old = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        if torch is not None and old is not None:
            torch.set_num_threads(old)


# ----------------------------------------------------------------------------- clocks


@dataclass
class Sample:
    wall: float  # seconds of wall-clock time (time.perf_counter)
    cpu: float  # seconds of CPU time of the whole process (time.process_time)

    def get(self, clock: str) -> float:
        return self.wall if clock == "wall" else self.cpu


def timed(fn: Callable[[], object]) -> Sample:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return Sample(time.perf_counter() - w, time.process_time() - c)


def summary(values: list[float]) -> tuple[float, float, float]:
    """median, min, max."""
    return statistics.median(values), min(values), max(values)


def fmt_stats(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    med, lo, hi = summary([v * scale for v in values])
    return f"{med:8.3f} {unit} [{lo:.3f}-{hi:.3f}]"


def machine_line() -> str:
    """CPU model, cores and load average: the context every timing needs."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    tv = torch.__version__ if torch is not None else "not installed"
    return (
        f"{model}, {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f}; numpy {np.__version__} {blas_env.kernel_line()}; torch {tv}"
    )


# --------------------------------------------------------------------------- peak sgemm


def workload_gemm_shapes(
    batch: int = BATCH,
    hidden: tuple[int, ...] = HIDDEN,
    n_in: int = 784,
    n_out: int = N_CLASSES,
) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product of one training step, as nnlib computes them.

    Forward ``x @ W`` per layer; backward ``x.T @ G`` per layer and ``G @ W.T`` for all
    but the first layer (nnlib skips the input gradient of the first layer).
    """
    widths = [n_in, *hidden, n_out]
    shapes = []
    for a, b in itertools.pairwise(widths):
        shapes.append((batch, a, b))  # forward
        shapes.append((a, batch, b))  # dW = x.T @ G
    for a, b in itertools.pairwise(widths[1:]):
        shapes.append((batch, b, a))  # dX = G @ W.T
    return shapes


def peak_sgemm(
    batch: int = BATCH, repeats: int = 7, min_flops: float = 2e8
) -> tuple[float, dict[tuple[int, int, int], float]]:
    """Best float32 ``np.matmul`` FLOP/s over the workload's shapes (each repeated, best
    time).

    Returns the peak (max over shapes) and the best FLOP/s of each shape.
    """
    rng = np.random.default_rng(0)
    per_shape = {}
    for m, k, n in dict.fromkeys(workload_gemm_shapes(batch)):
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        out = np.empty((m, n), dtype=np.float32)
        flops = 2.0 * m * k * n
        reps = max(3, int(min_flops / flops))
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(reps):
                np.matmul(a, b, out=out)
            best = min(best, (time.perf_counter() - t) / reps)
        per_shape[(m, k, n)] = flops / best
    return max(per_shape.values()), per_shape


def replay_gemms(
    n_samples: int,
    batch: int,
    hidden: tuple[int, ...] = HIDDEN,
    n_in: int = 784,
    n_out: int = N_CLASSES,
    repeats: int = 3,
) -> float:
    """Seconds (CPU, best of ``repeats``) that the matrix products of one epoch take
    alone.

    Replays exactly the products nnlib's training step computes (same shapes, same
    transposed views, same batch sizes including the last short batch) on random float32
    data.
    """
    rng = np.random.default_rng(0)
    widths = [n_in, *hidden, n_out]
    ws = [
        rng.standard_normal((a, b), dtype=np.float32)
        for a, b in itertools.pairwise(widths)
    ]
    dws = [np.empty_like(w) for w in ws]
    sizes = [batch] * (n_samples // batch) + (
        [n_samples % batch] if n_samples % batch else []
    )

    def one_epoch() -> None:
        for bsz in dict.fromkeys(
            sizes
        ):  # distinct sizes, each run as often as it occurs
            count = sizes.count(bsz)
            xs = [rng.random((bsz, w), dtype=np.float32) for w in widths]
            for _ in range(count):
                for i, w in enumerate(ws):  # forward
                    xs[i] @ w
                for i in reversed(range(len(ws))):  # backward
                    g = xs[i + 1]
                    np.matmul(xs[i].T, g, out=dws[i])
                    if i > 0:
                        g @ ws[i].T

    best = float("inf")
    for _ in range(repeats):
        c = time.process_time()
        one_epoch()
        best = min(best, time.process_time() - c)
    return best


def stream_bandwidth(mbytes: int = 64, repeats: int = 5) -> float:
    """Bytes/s (read + write) of an in-place float32 multiply over an array bigger than
    the caches.

    In-place, like an optimizer's update of ``w``, ``m`` and ``v`` (writing to a
    *different* array is 2-3x slower on this VM).
    """
    a = np.ones(mbytes * 2**20 // 4, dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a *= np.float32(1.0)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best


def peak_sgemm_torch(
    batch: int = BATCH, repeats: int = 7, min_flops: float = 2e8
) -> tuple[float, dict[tuple[int, int, int], float]]:
    """``peak_sgemm`` for ``torch.mm`` (PyTorch's BLAS, MKL in the CPU wheels), same
    shapes."""
    per_shape = {}
    gen = torch.Generator().manual_seed(0)
    for m, k, n in dict.fromkeys(workload_gemm_shapes(batch)):
        a, b = torch.rand(m, k, generator=gen), torch.rand(k, n, generator=gen)
        out = torch.empty(m, n)
        flops = 2.0 * m * k * n
        reps = max(3, int(min_flops / flops))
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b, out=out)
            best = min(best, (time.perf_counter() - t) / reps)
        per_shape[(m, k, n)] = flops / best
    return max(per_shape.values()), per_shape
