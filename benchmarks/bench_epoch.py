"""Speed of one training epoch of the book's EMNIST model: nnlib vs plain NumPy vs
PyTorch.

The workload (the issue's contract): 784-512-256-47, ReLU, dropout 0.2 after each hidden
layer, softmax cross-entropy, Adam (lr 1e-3), batch size 128, float32, one epoch over
112,800 real 28x28 uint8 EMNIST images, plus evaluation over 18,800 images.

Run from the repository root (the PyTorch columns need torch; everything else runs
without)::

    python benchmarks/bench_epoch.py          # everything (10 min quiet, 30+ busy)
    python benchmarks/bench_epoch.py --quick  # small subset, 1 thread, 1-3 minutes
    python benchmarks/bench_epoch.py --sections epoch,eval --repeats 3 --threads 1

Sections (``--sections``, comma-separated; default all):

* ``epoch``: nnlib (``nnlib.fit``), the plain reference (``reference_numpy.py``),
  PyTorch default and PyTorch fused Adam, interleaved and repeated, per thread count;
  PASS/FAIL targets.
* ``eval``: evaluation of 18,800 images (``nnlib.evaluate`` vs PyTorch
  ``inference_mode``).
* ``profile``: where nnlib's epoch goes (matrix products vs everything else), 1 thread.
* ``scaling``: time per sample vs batch size and hidden width (table, and a plot saved
  beside the output file with the suffix ``.png``, e.g. results/bench_epoch.png).
* ``memory``: peak RSS of a full training run, data loading included, in a subprocess.
* ``proposals``: patched copies of library functions (``proposals.py``) vs the library.

Clocks: every measurement records wall time and the process's CPU time. At one thread
the targets are judged on CPU time (``--clock``), which other programs on a busy machine
disturb far less than wall time (they delay our process, they do not add CPU time to
it); at two threads only wall time means anything (idle BLAS/OpenMP threads spin), and
the machine's other load makes it swing widely.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import blas_env  # noqa: E402

blas_env.use_native_kernel()  # before NumPy loads OpenBLAS: see blas_env.py

import common  # noqa: E402
import numpy as np  # noqa: E402
import proposals  # noqa: E402
import reference_numpy as ref  # noqa: E402
from common import BATCH, DROPOUT, HIDDEN, LR, N_CLASSES, torch  # noqa: E402

import nnlib  # noqa: E402
from nnlib import training  # noqa: E402

RESULTS = HERE / "results"
BATCHES = (32, 64, 128, 256, 512, 1024)
WIDTHS = (128, 256, 512, 1024)

# Targets (the contract), judged at 1 thread.
MAX_VS_TORCH_DEFAULT = 0.60
MAX_VS_TORCH_FUSED = 0.85
MIN_SPEEDUP_VS_REFERENCE = 2.0
MIN_GEMM_EFFICIENCY = 0.65

Prepared = Callable[
    [], object
]  # a ready-to-time closure: runs one epoch (or one evaluation)


class Tee:
    """Print to stdout and to a results file."""

    def __init__(self, path: Path | None):
        self.file = open(path, "w") if path else None

    def __call__(self, *args: object) -> None:
        line = " ".join(str(a) for a in args)
        print(line, flush=True)
        if self.file:
            self.file.write(line + "\n")
            self.file.flush()


# ---------------------------------------------------------------------- implementations


def prepare_nnlib(
    w: common.Workload,
    n: int,
    batch: int = BATCH,
    hidden: tuple[int, ...] = HIDDEN,
    seed: int = 0,
    optimizer: type[nnlib.Optimizer] = nnlib.Adam,
    loss_cls: type[nnlib.Loss] = nnlib.SoftmaxCrossEntropy,
    **patches: bool,
) -> Prepared:
    """nnlib's real path: ``nnlib.mlp`` + ``nnlib.fit(progress=False)``."""
    model = nnlib.mlp(784, list(hidden), N_CLASSES, dropout=DROPOUT, rng=seed)
    proposals.patch_model(model, **patches)
    opt, loss = optimizer(LR), loss_cls()
    x, y = w.x_train[:n], w.y_train[:n]
    return lambda: nnlib.fit(
        model, loss, opt, x, y, epochs=1, batch_size=batch, rng=seed, progress=False
    )


def prepare_reference(
    w: common.Workload,
    n: int,
    batch: int = BATCH,
    hidden: tuple[int, ...] = HIDDEN,
    seed: int = 0,
) -> Prepared:
    net, opt = ref.Network(784, hidden, N_CLASSES, DROPOUT, seed), ref.Adam(LR)
    x, y = w.x_train[:n], w.y_train[:n]
    order = np.random.default_rng(seed).permutation(n)  # the same batches as nnlib.fit
    return lambda: ref.train_epoch(net, opt, x, y, batch, order)


def torch_model(hidden: tuple[int, ...] = HIDDEN, seed: int = 0):
    nn = torch.nn
    torch.manual_seed(seed)
    layers: list = []
    widths = [784, *hidden]
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(DROPOUT)]
    layers.append(nn.Linear(widths[-1], N_CLASSES))
    return nn.Sequential(*layers)


def prepare_torch(
    w: common.Workload,
    n: int,
    batch: int = BATCH,
    hidden: tuple[int, ...] = HIDDEN,
    seed: int = 0,
    fused: bool = False,
) -> Prepared:
    """PyTorch on the CPU: nn.Sequential, CrossEntropyLoss, Adam (default, or
    fused=True).

    Same data as nnlib: the uint8 images as a tensor (no copy), gathered and scaled to
    float32 one batch at a time, in the same batch order as ``nnlib.fit(rng=seed)``; the
    loop also sums the loss and counts correct predictions, as ``nnlib.fit`` does.
    """
    model = torch_model(hidden, seed)
    if fused:
        opt = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.from_numpy(w.x_train[:n].reshape(n, -1))
    y = torch.from_numpy(w.y_train[:n])
    order = np.random.default_rng(seed).permutation(n)

    def epoch() -> tuple[float, float]:
        model.train()
        total, correct = 0.0, 0
        for start in range(0, n, batch):
            idx = torch.from_numpy(np.sort(order[start : start + batch]))
            xb = x[idx].to(torch.float32).mul_(1 / 255)
            yb = y[idx]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            correct += int((out.argmax(1) == yb).sum())
        return total / n, correct / n

    return epoch


def prepare_eval_nnlib(w: common.Workload, batch_size: int = 2048) -> Prepared:
    model = nnlib.mlp(784, list(HIDDEN), N_CLASSES, dropout=DROPOUT, rng=0)
    loss = nnlib.SoftmaxCrossEntropy()
    return lambda: nnlib.evaluate(
        model, loss, w.x_eval, w.y_eval, batch_size=batch_size
    )


def prepare_eval_reference(w: common.Workload) -> Prepared:
    net = ref.Network(784, HIDDEN, N_CLASSES, DROPOUT, 0)
    return lambda: ref.evaluate(net, w.x_eval, w.y_eval)


def prepare_eval_torch(w: common.Workload, batch_size: int = 2048) -> Prepared:
    model = torch_model()
    x = torch.from_numpy(w.x_eval.reshape(len(w.x_eval), -1))
    y = torch.from_numpy(w.y_eval)

    def run() -> tuple[float, float]:
        model.eval()
        total, correct = 0.0, 0
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                xb = x[start : start + batch_size].to(torch.float32).mul_(1 / 255)
                yb = y[start : start + batch_size]
                out = model(xb)
                total += float(
                    torch.nn.functional.cross_entropy(out, yb, reduction="sum")
                )
                correct += int((out.argmax(1) == yb).sum())
        return total / len(x), correct / len(x)

    return run


# ---------------------------------------------------------------------------- measuring


def interleaved(
    impls: dict[str, Callable[[], Prepared]], repeats: int, log: Tee | None = None
) -> dict[str, list[common.Sample]]:
    """Time each implementation ``repeats`` times, round-robin, rotating the order each
    round.

    Each timed run gets a freshly prepared model (preparation is not timed).
    """
    names = list(impls)
    out: dict[str, list[common.Sample]] = {k: [] for k in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            run = impls[name]()
            sample = common.timed(run)
            out[name].append(sample)
            if log is not None:
                log(
                    f"    round {r + 1}/{repeats} {name:24s} wall {sample.wall:7.3f} "
                    "s  "
                    f"cpu {sample.cpu:7.3f} s"
                )
    return out


def ratio_stats(
    a: list[common.Sample], b: list[common.Sample], clock: str
) -> tuple[float, float, float]:
    """median(a)/median(b), and the min-max of the per-round ratios a_i/b_i."""
    va, vb = [s.get(clock) for s in a], [s.get(clock) for s in b]
    paired = [x / y for x, y in zip(va, vb, strict=True)]
    return statistics.median(va) / statistics.median(vb), min(paired), max(paired)


def print_table(log: Tee, results: dict[str, list[common.Sample]], n: int) -> None:
    log(
        f"  {'implementation':26s} {'wall: median [min-max]':>30s}   "
        f"{'cpu: median [min-max]':>30s}"
        f"   us/sample (cpu)"
    )
    for name, samples in results.items():
        walls, cpus = [s.wall for s in samples], [s.cpu for s in samples]
        log(
            f"  {name:26s} {common.fmt_stats(walls):>30s}   "
            f"{common.fmt_stats(cpus):>30s}   "
            f"{statistics.median(cpus) / n * 1e6:8.2f}"
        )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# ----------------------------------------------------------------------------- sections


def section_epoch(args, w: common.Workload, log: Tee, summary: list[str]) -> None:
    n = args.samples
    for n_threads in args.threads:
        clock = args.clock if n_threads == 1 else "wall"
        log(
            f"\n== Epoch: {n:,} samples, batch {BATCH}, {n_threads} thread(s), "
            f"{args.repeats} interleaved rounds (judged on {clock} time) =="
        )
        impls: dict[str, Callable[[], Prepared]] = {
            "nnlib.fit": lambda: prepare_nnlib(w, n)
        }
        if not args.no_reference:
            impls["plain NumPy reference"] = lambda: prepare_reference(w, n)
        if torch is not None:
            impls["PyTorch default Adam"] = lambda: prepare_torch(w, n)
            impls["PyTorch Adam(fused=True)"] = lambda: prepare_torch(w, n, fused=True)
        else:
            log("  (torch is not installed: PyTorch columns skipped)")
        with common.threads(n_threads):
            peak_before, _ = common.peak_sgemm()
            warm = min(n, 2560)
            warmups = [prepare_nnlib(w, warm)]
            if not args.no_reference:
                warmups.append(prepare_reference(w, warm))
            if torch is not None:
                warmups += [prepare_torch(w, warm), prepare_torch(w, warm, fused=True)]
            for run in warmups:
                run()  # warm-up: imports, allocator, BLAS buffers
            res = interleaved(impls, args.repeats, log if args.verbose else None)
            peak_after, per_shape = common.peak_sgemm()
            if torch is not None:
                torch_peak, torch_shapes = common.peak_sgemm_torch()
        peak = max(peak_before, peak_after)
        print_table(log, res, n)
        nn_t = statistics.median(s.get(clock) for s in res["nnlib.fit"])
        params = common.n_parameters()
        bound = 6 * params * n / peak
        actual_flops = (
            sum(2 * m * k * q for m, k, q in common.workload_gemm_shapes()) * n / BATCH
        )
        eff = bound / nn_t
        shapes = ", ".join(
            f"{m}x{k}@{k}x{q}: {f / 1e9:.0f}" for (m, k, q), f in per_shape.items()
        )
        log(
            "  peak sgemm (np.matmul float32, workload shapes, best of 7): "
            f"{peak / 1e9:.1f} GFLOP/s"
            f" ({shapes})"
        )
        log(
            f"  GEMM lower bound 6 x {params:,} params x {n:,} samples / peak = "
            f"{bound:.3f} s; "
            f"nnlib efficiency = bound / nnlib {clock} time = {eff:.0%}"
        )
        log(
            f"  (nnlib's products actually need {actual_flops / 1e9:.0f} GFLOP, not "
            f"{6 * params * n / 1e9:.0f}: it skips the first layer's input gradient; "
            f"at peak that is {actual_flops / peak:.3f} s)"
        )
        if torch is not None:
            fused_t = statistics.median(
                s.get(clock) for s in res["PyTorch Adam(fused=True)"]
            )
            log(
                f"  torch.mm on the same shapes: {torch_peak / 1e9:.1f} GFLOP/s peak ("
                + ", ".join(
                    f"{m}x{k}@{k}x{q}: {f / 1e9:.0f}"
                    for (m, k, q), f in torch_shapes.items()
                )
                + "); PyTorch fused's 'efficiency' against NumPy's bound: "
                f"{bound / fused_t:.0%}"
            )
        tag = f"{n_threads} thread{'s' if n_threads > 1 else ''}"
        lines = []
        if "plain NumPy reference" in res:
            r, lo, hi = ratio_stats(
                res["plain NumPy reference"], res["nnlib.fit"], clock
            )
            lines.append(
                (
                    f"nnlib >= {MIN_SPEEDUP_VS_REFERENCE:.0f}x faster than plain "
                    "reference: "
                    f"{r:.2f}x [rounds {lo:.2f}-{hi:.2f}]",
                    r >= MIN_SPEEDUP_VS_REFERENCE,
                )
            )
        if torch is not None:
            r, lo, hi = ratio_stats(
                res["nnlib.fit"], res["PyTorch default Adam"], clock
            )
            lines.append(
                (
                    f"nnlib / PyTorch default <= {MAX_VS_TORCH_DEFAULT}: {r:.2f} "
                    f"[rounds {lo:.2f}-{hi:.2f}]",
                    r <= MAX_VS_TORCH_DEFAULT,
                )
            )
            r, lo, hi = ratio_stats(
                res["nnlib.fit"], res["PyTorch Adam(fused=True)"], clock
            )
            lines.append(
                (
                    f"nnlib / PyTorch fused <= {MAX_VS_TORCH_FUSED}: {r:.2f} "
                    f"[rounds {lo:.2f}-{hi:.2f}]",
                    r <= MAX_VS_TORCH_FUSED,
                )
            )
        lines.append(
            (
                f"nnlib GEMM efficiency >= {MIN_GEMM_EFFICIENCY:.0%}: {eff:.0%}",
                eff >= MIN_GEMM_EFFICIENCY,
            )
        )
        if n_threads > 1:  # the least disturbed round of each implementation
            best = {k: min(s.wall for s in v) for k, v in res.items()}
            log(
                "  best rounds (least disturbed): "
                + ", ".join(f"{k} {v:.2f} s" for k, v in best.items())
            )
            if torch is not None:
                log(
                    f"  ratios of best rounds: nnlib/torch default "
                    f"{best['nnlib.fit'] / best['PyTorch default Adam']:.2f}, "
                    "nnlib/torch fused "
                    f"{best['nnlib.fit'] / best['PyTorch Adam(fused=True)']:.2f}"
                )
        for text, ok in lines:
            gate = (
                ""
                if n_threads == 1
                else " (informational: 2-thread timings swing widely)"
            )
            log(f"  {verdict(ok)}  {text}{gate}")
            summary.append(f"[{tag}, {clock}] {verdict(ok)}  {text}")


def section_eval(args, w: common.Workload, log: Tee, summary: list[str]) -> None:
    n_eval = len(w.x_eval)
    repeats = max(args.repeats, 5)
    for n_threads in args.threads:
        clock = args.clock if n_threads == 1 else "wall"
        log(
            f"\n== Evaluation of {n_eval:,} images, {n_threads} thread(s), {repeats} "
            "rounds =="
        )
        impls: dict[str, Callable[[], Prepared]] = {
            "nnlib.evaluate (batch 2048)": lambda: prepare_eval_nnlib(w),
            "nnlib.evaluate (batch 256)": lambda: prepare_eval_nnlib(w, 256),
        }
        if not args.no_reference:
            impls["plain reference (all at once)"] = lambda: prepare_eval_reference(w)
        if torch is not None:
            impls["PyTorch inference_mode 2048"] = lambda: prepare_eval_torch(w)
        with common.threads(n_threads):
            for prep in impls.values():
                prep()()
            res = interleaved(impls, repeats)
        print_table(log, res, n_eval)
        if torch is not None:
            r, lo, hi = ratio_stats(
                res["nnlib.evaluate (batch 2048)"],
                res["PyTorch inference_mode 2048"],
                clock,
            )
            text = (
                "nnlib evaluation at least as fast as PyTorch's: nnlib/torch = "
                f"{r:.2f} "
                f"[rounds {lo:.2f}-{hi:.2f}]"
            )
            log(f"  {verdict(r <= 1.0)}  {text}")
            summary.append(
                f"[{n_threads} thread(s), {clock}] {verdict(r <= 1.0)}  {text}"
            )


def profile_epoch(
    w: common.Workload,
    n: int,
    batch: int = BATCH,
    hidden: tuple[int, ...] = HIDDEN,
    optimizer: type[nnlib.Optimizer] = nnlib.Adam,
    loss_cls: type[nnlib.Loss] = nnlib.SoftmaxCrossEntropy,
    **patches: bool,
) -> tuple[float, dict[str, float]]:
    """One ``nnlib.fit`` epoch with every layer, the loss, Adam and the batch iterator
    timed.

    The library's objects are wrapped at run time (instance attributes), nothing is
    edited. Returns the epoch's CPU time and seconds per phase.
    """
    clock = time.process_time
    phases: dict[str, float] = defaultdict(float)

    def wrap(obj: object, method: str, key: str) -> None:
        fn = getattr(obj, method)

        def timed_call(*a, **k):
            t = clock()
            try:
                return fn(*a, **k)
            finally:
                phases[key] += clock() - t

        setattr(obj, method, timed_call)

    model = nnlib.mlp(784, list(hidden), N_CLASSES, dropout=DROPOUT, rng=0)
    proposals.patch_model(model, **patches)
    for layer in model.layers:
        kind = next(
            c.__name__
            for c in (nnlib.Dense, nnlib.ReLU, nnlib.Dropout, nnlib.Layer)
            if isinstance(layer, c)
        )  # a patched copy is named after its base class
        wrap(layer, "forward", f"{kind} forward")
        wrap(layer, "backward", f"{kind} backward")
    loss, opt = loss_cls(), optimizer(LR)
    wrap(loss, "forward", "softmax-CE forward (loss)")
    wrap(loss, "backward", "softmax-CE backward")
    wrap(opt, "step", "Adam step")
    original = training.iterate_minibatches

    def timed_batches(*a, **k):
        it = original(*a, **k)

        def gen():
            while True:
                t = clock()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    phases["batch gather + uint8->float32"] += clock() - t
                yield item

        return gen()

    training.iterate_minibatches = timed_batches
    try:
        t = clock()
        nnlib.fit(
            model,
            loss,
            opt,
            w.x_train[:n],
            w.y_train[:n],
            epochs=1,
            batch_size=batch,
            rng=0,
            progress=False,
        )
        total = clock() - t
    finally:
        training.iterate_minibatches = original
    return total, dict(phases)


def section_profile(args, w: common.Workload, log: Tee, summary: list[str]) -> None:
    n = args.samples
    log(
        f"\n== Profile of one nnlib.fit epoch ({n:,} samples, 1 thread, CPU time, "
        f"median of {args.profile_repeats} epochs) =="
    )
    with common.threads(1):
        runs = [profile_epoch(w, n) for _ in range(args.profile_repeats)]
        gemm = common.replay_gemms(n, BATCH)
    total = statistics.median(r[0] for r in runs)
    keys = sorted({k for r in runs for k in r[1]})
    phases = {k: statistics.median(r[1].get(k, 0.0) for r in runs) for k in keys}
    dense = phases.pop("Dense forward") + phases.pop("Dense backward")
    rows = {
        "matrix products (GEMM, replayed alone)": gemm,
        "Dense outside GEMM (bias add/sum, checks)": max(dense - gemm, 0.0),
        **phases,
    }
    rows["fit loop rest (isfinite, argmax, Python)"] = max(
        total - dense - sum(phases.values()), 0
    )
    log(f"  {'phase':44s} {'CPU s':>7s} {'share':>6s}   per batch")
    n_batches = math.ceil(n / BATCH)
    for k, v in sorted(rows.items(), key=lambda kv: -kv[1]):
        log(f"  {k:44s} {v:7.3f} {v / total:6.1%}   {v / n_batches * 1e6:7.1f} us")
    log(f"  {'total epoch (with timing wrappers)':44s} {total:7.3f} {1:6.1%}")
    non_gemm = {k: v for k, v in rows.items() if not k.startswith("matrix")}
    top = sorted(non_gemm.items(), key=lambda kv: -kv[1])[:4]
    summary.append(
        f"[profile] GEMM {gemm / total:.0%} of the epoch, everything else "
        f"{1 - gemm / total:.0%}; top non-GEMM: "
        + ", ".join(f"{k.split(' (')[0]} {v / total:.0%}" for k, v in top)
    )
    log("  " + summary[-1])
    if dense < gemm:
        log(
            "  (the replayed products took longer than the Dense layers in the epoch: "
            "noise)"
        )
    with common.threads(1):
        bw = common.stream_bandwidth()
    floor = 7 * 4 * common.n_parameters() * n_batches / bw
    log(
        "  Adam's memory floor: a step reads g and updates w, m, v in place (7 x 4 B "
        "x "
        f"{common.n_parameters():,} params = {28 * common.n_parameters() / 1e6:.1f} "
        "MB, more "
        f"than the 2 MB L2); at the measured in-place stream bandwidth {bw / 1e9:.1f} "
        "GB/s a "
        f"single-pass (fused) Adam needs about {floor:.3f} s per epoch; NumPy's Adam "
        "makes one "
        f"pass per operation (13 here) and took {phases.get('Adam step', 0):.3f} s"
    )


def section_scaling(args, w: common.Workload, log: Tee, summary: list[str]) -> None:
    n = args.scaling_samples
    log(
        f"\n== Scaling: {n:,} samples per epoch, 1 thread, CPU time, median of "
        f"{args.scaling_repeats} rounds (us per sample; GEMM share = replayed "
        "products / nnlib) =="
    )
    configs = [("batch", b, HIDDEN) for b in BATCHES] + [
        ("width", BATCH, (h, h)) for h in WIDTHS
    ]
    rows = []
    head = f"  {'sweep':6s} {'batch':>5s} {'hidden':>10s} {'nnlib':>8s} {'GEMM':>6s}"
    if torch is not None:
        head += f" {'torch':>8s} {'fused':>8s} {'nn/torch':>8s} {'nn/fused':>8s}"
    log(head)
    with common.threads(1):
        for sweep, batch, hidden in configs:
            impls: dict[str, Callable[[], Prepared]] = {
                "nnlib": lambda b=batch, h=hidden: prepare_nnlib(w, n, b, h)
            }
            if torch is not None:
                impls["torch"] = lambda b=batch, h=hidden: prepare_torch(w, n, b, h)
                impls["fused"] = lambda b=batch, h=hidden: prepare_torch(
                    w, n, b, h, fused=True
                )
            for prep in impls.values():
                prep()()  # warm-up at this shape
            res = interleaved(impls, args.scaling_repeats)
            med = {k: statistics.median(s.cpu for s in v) for k, v in res.items()}
            gemm = common.replay_gemms(n, batch, hidden, repeats=2)
            row = {
                "sweep": sweep,
                "batch": batch,
                "hidden": hidden,
                **{k: v / n * 1e6 for k, v in med.items()},
                "gemm_share": gemm / med["nnlib"],
            }
            rows.append(row)
            line = (
                f"  {sweep:6s} {batch:5d} {'x'.join(map(str, hidden)):>10s} "
                f"{row['nnlib']:8.2f} {row['gemm_share']:6.0%}"
            )
            if torch is not None:
                line += (
                    f" {row['torch']:8.2f} {row['fused']:8.2f} "
                    f"{row['nnlib'] / row['torch']:8.2f} "
                    f"{row['nnlib'] / row['fused']:8.2f}"
                )
            log(line)
    plot = args.out.with_suffix(
        ".png"
    )  # beside the text output, e.g. results/bench_epoch.png
    plot_scaling(rows, plot)
    log(f"  plot saved to {common.shown(plot)}")


def plot_scaling(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, sweep, xkey, xlabel in (
        (axes[0], "batch", "batch", "batch size (784-512-256-47)"),
        (axes[1], "width", "hidden", "hidden width h (784-h-h-47, batch 128)"),
    ):
        sel = [r for r in rows if r["sweep"] == sweep]
        xs = [r[xkey] if xkey == "batch" else r[xkey][0] for r in sel]
        for key, label, style in (
            ("nnlib", "nnlib", "o-"),
            ("torch", "PyTorch default", "s--"),
            ("fused", "PyTorch fused Adam", "^--"),
        ):
            if key in sel[0]:
                ax.plot(xs, [r[key] for r in sel], style, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("CPU time per training sample (us), 1 thread")
        ax.grid(True, which="both", alpha=0.3)
        share = ax.twinx()
        share.plot(
            xs,
            [100 * r["gemm_share"] for r in sel],
            "k:",
            alpha=0.6,
            label="nnlib GEMM share (%)",
        )
        share.set_ylim(0, 100)
        share.set_ylabel("share of nnlib's epoch in matrix products (%)")
        lines = ax.get_legend_handles_labels()
        lines2 = share.get_legend_handles_labels()
        ax.legend(
            lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="upper center"
        )
    fig.suptitle("One training epoch: time per sample and GEMM share")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


MEMORY_CHILD = """
import os, sys, time
sys.path.insert(0, {here!r})
import common, nnlib
t = time.perf_counter()
w = common.load_workload({n})
model = nnlib.mlp(784, list(common.HIDDEN), common.N_CLASSES,
                 dropout=common.DROPOUT, rng=0)
hist = nnlib.fit(model, nnlib.SoftmaxCrossEntropy(), nnlib.Adam(common.LR),
                 w.x_train, w.y_train, epochs={epochs}, batch_size=common.BATCH,
                 rng=0, progress=False, validation_data=(w.x_eval, w.y_eval))
status = open("/proc/self/status").read().split("\\n")
hwm = [line.split()[1] for line in status if line.startswith("VmHWM")]
seconds = f"{{time.perf_counter() - t:.1f}}"
print(int(hwm[0]) if hwm else -1, seconds, hist.val_accuracy[-1])
"""

# The launcher is a small fresh interpreter: ru_maxrss(RUSAGE_CHILDREN) read in *this*
# process would include the pages a forked child shares with the big benchmark process
# before exec.
MEMORY_LAUNCHER = """
import resource, subprocess, sys
proc = subprocess.run([sys.executable, "-c", sys.argv[1]], capture_output=True,
                      text=True)
sys.stderr.write(proc.stderr)
print(proc.stdout.strip(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(proc.returncode)
"""


def section_memory(args, w: common.Workload, log: Tee, summary: list[str]) -> None:
    n = args.samples
    log(
        "\n== Memory: peak RSS of a full run in a fresh process (load EMNIST, "
        f"{args.memory_epochs} "
        f"epoch(s) of nnlib.fit on {n:,} samples with validation on "
        f"{len(w.x_eval):,}) =="
    )
    env = dict(os.environ, BENCH_NO_TORCH="1", OPENBLAS_NUM_THREADS="1")
    code = MEMORY_CHILD.format(here=str(HERE), n=n, epochs=args.memory_epochs)
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_LAUNCHER, code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        log("  child failed:\n" + proc.stderr)
        summary.append("[memory] FAIL  the child process failed")
        return
    hwm_kb, seconds, val_acc, maxrss_kb = proc.stdout.split()
    hwm_mb, maxrss_mb = int(hwm_kb) / 1024, int(maxrss_kb) / 1024
    log(
        f"  child ran {float(seconds):.1f} s (val accuracy {float(val_acc):.3f}); "
        f"VmHWM {hwm_mb:.0f} MB; ru_maxrss(RUSAGE_CHILDREN) seen by the launcher "
        f"{maxrss_mb:.0f} MB"
    )
    peak = max(hwm_mb, maxrss_mb)
    ok = peak < 400
    text = f"peak RSS of a full training run incl. data loading {peak:.0f} MB < 400 MB"
    log(f"  {verdict(ok)}  {text}")
    summary.append(f"[memory] {verdict(ok)}  {text}")


def section_proposals(args, w: common.Workload, log: Tee, summary: list[str]) -> None:
    n = args.samples
    proposals.check()
    log(
        "\n== Proposed library changes (patched copies in proposals.py; checked "
        "equal), "
        f"{n:,} samples, 1 thread, {args.repeats} rounds, judged on {args.clock} time "
        "=="
    )
    impls: dict[str, Callable[[], Prepared]] = {
        "nnlib (as is)": lambda: prepare_nnlib(w, n),
        "+ BlockedAdam": lambda: prepare_nnlib(w, n, optimizer=proposals.BlockedAdam),
        "+ BlockedAdam11": lambda: prepare_nnlib(
            w, n, optimizer=proposals.BlockedAdam11
        ),
        "+ FastDropout": lambda: prepare_nnlib(w, n, dropout=True),
        "+ FloatMaskReLU": lambda: prepare_nnlib(w, n, relu=True),
        "+ LeanSoftmaxCE": lambda: prepare_nnlib(
            w, n, loss_cls=proposals.LeanSoftmaxCrossEntropy
        ),
        "BlockedAdam11+FastDropout": lambda: prepare_nnlib(
            w, n, optimizer=proposals.BlockedAdam11, dropout=True
        ),
    }
    if torch is not None:
        impls["PyTorch default Adam"] = lambda: prepare_torch(w, n)
        impls["PyTorch Adam(fused=True)"] = lambda: prepare_torch(w, n, fused=True)
    with common.threads(1):
        for prep in impls.values():
            prep()()
        res = interleaved(impls, args.repeats, log if args.verbose else None)
        peak, _ = common.peak_sgemm()
    print_table(log, res, n)
    base = res["nnlib (as is)"]
    bound = 6 * common.n_parameters() * n / peak
    log(
        f"  {'variant':26s} {'time vs as-is':>14s} {'vs torch':>9s} {'vs fused':>9s} "
        f"{'GEMM eff.':>9s}"
    )
    for name, samples in res.items():
        if name.startswith("PyTorch"):
            continue
        r, lo, hi = ratio_stats(samples, base, args.clock)
        med = statistics.median(s.get(args.clock) for s in samples)
        line = f"  {name:26s} {r:6.3f} [{lo:.2f}-{hi:.2f}]"
        if torch is not None:
            vs_torch = ratio_stats(samples, res["PyTorch default Adam"], args.clock)
            vs_fused = ratio_stats(samples, res["PyTorch Adam(fused=True)"], args.clock)
            line += f" {vs_torch[0]:9.2f} {vs_fused[0]:9.2f}"
        log(line + f" {bound / med:9.0%}")
    r = ratio_stats(res["BlockedAdam11+FastDropout"], base, args.clock)
    summary.append(
        f"[proposals] BlockedAdam11 + FastDropout: epoch x{r[0]:.3f} of today's "
        f"nnlib [rounds {r[1]:.2f}-{r[2]:.2f}]"
    )

    # The same comparison phase by phase (less noisy than whole epochs on a busy
    # machine).
    variants = {
        "as is": {},
        "BlockedAdam": {"optimizer": proposals.BlockedAdam},
        "BlockedAdam11": {"optimizer": proposals.BlockedAdam11},
        "FastDropout": {"dropout": True},
        "FloatMaskReLU": {"relu": True},
        "LeanSoftmaxCE": {"loss_cls": proposals.LeanSoftmaxCrossEntropy},
    }
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
    with common.threads(1):
        for _ in range(args.profile_repeats):
            for name, kw in variants.items():
                total, phases = profile_epoch(w, n, **kw)
                runs[name].append({**phases, "epoch total": total})
    keys = [
        "Adam step",
        "Dropout forward",
        "Dropout backward",
        "ReLU forward",
        "ReLU backward",
        "softmax-CE forward (loss)",
        "epoch total",
    ]
    log(
        f"  per phase, CPU s per epoch, median of {args.profile_repeats} profiled "
        "epochs:"
    )
    log(f"  {'phase':26s}" + "".join(f" {k:>13s}" for k in variants))
    for key in keys:
        meds = [statistics.median(r.get(key, 0.0) for r in runs[k]) for k in variants]
        log(f"  {key[:26]:26s}" + "".join(f" {m:13.3f}" for m in meds))


def section_parts(args, w: common.Workload, log: Tee, summary: list[str]) -> None:
    """Adam and dropout variants alone: one epoch's worth of steps, interleaved rounds.

    Less noisy than whole epochs: only the part that changes is timed. Adam: ``step``
    over the model's six parameters, 882 steps (one epoch of 112,800 / 128), fixed
    random gradients. Dropout: forward + backward of both dropout layers, 882 batches.
    """
    n_steps = math.ceil(args.samples / BATCH)
    proposals.check()
    log(
        f"\n== Parts alone: Adam and dropout variants, {n_steps} steps (one epoch), "
        f"1 thread, CPU s, {args.parts_repeats} interleaved rounds =="
    )
    model = nnlib.mlp(784, list(HIDDEN), N_CLASSES, dropout=DROPOUT, rng=0)
    rng = np.random.default_rng(0)
    for p in model.parameters():
        p.grad[...] = rng.standard_normal(p.grad.shape, dtype=np.float32) * 1e-2

    def adam_run(cls: type[nnlib.Optimizer]) -> Prepared:
        opt = cls(LR)

        def run() -> None:
            for _ in range(n_steps):
                opt.step(model)

        return run

    adams = {
        "Adam (nnlib)": nnlib.Adam,
        "Float32Adam (bit-identical)": proposals.Float32Adam,
        "BlockedAdam 32k (bit-identical)": proposals.BlockedAdam,
        "BlockedAdam16k (bit-identical)": proposals.BlockedAdam16k,
        "BlockedAdam128k (bit-identical)": proposals.BlockedAdam128k,
        "BlockedAdam11 (float32 rounding)": proposals.BlockedAdam11,
        "Adam11 (float32 rounding)": proposals.Adam11,
    }
    xs = [rng.random((BATCH, h), dtype=np.float32) for h in HIDDEN]

    def dropout_run(cls: type[nnlib.Dropout]) -> Prepared:
        layers = [cls(DROPOUT, rng=i) for i in range(len(HIDDEN))]

        def run() -> None:
            for _ in range(n_steps):
                for layer, x in zip(layers, xs, strict=True):
                    layer.backward(layer.forward(x, training=True))

        return run

    dropouts = {
        "Dropout (nnlib)": nnlib.Dropout,
        "CastMaskDropout (bit-identical)": proposals.CastMaskDropout,
        "FastDropout (raw bits)": proposals.FastDropout,
    }
    for title, group, make in (
        ("Adam.step", adams, adam_run),
        ("Dropout forward+backward", dropouts, dropout_run),
    ):
        impls = {n: (lambda c=c, mk=make: mk(c)) for n, c in group.items()}
        with common.threads(1):
            res = interleaved(impls, args.parts_repeats, log if args.verbose else None)
        base = next(iter(res.values()))
        log(f"  {title}: CPU s per epoch, median [min-max]; ratio to the library's")
        for name, samples in res.items():
            r, lo, hi = ratio_stats(samples, base, "cpu")
            cpu = [x.cpu for x in samples]
            log(f"    {name:34s} {common.fmt_stats(cpu)}  x{r:.3f} [{lo:.2f}-{hi:.2f}]")
            if name != next(iter(res)):
                summary.append(f"[parts] {title}: {name} x{r:.3f} of the library's")


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=5, help="interleaved rounds (default 5)"
    )
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1 or 1,2")
    parser.add_argument(
        "--samples",
        type=int,
        default=common.N_TRAIN,
        help="training samples per epoch (default 112,800)",
    )
    parser.add_argument(
        "--sections", default="epoch,eval,profile,scaling,memory,parts,proposals"
    )
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="clock judged at 1 thread (2 threads: always wall)",
    )
    parser.add_argument("--scaling-samples", type=int, default=25_600)
    parser.add_argument("--scaling-repeats", type=int, default=3)
    parser.add_argument("--profile-repeats", type=int, default=3)
    parser.add_argument("--memory-epochs", type=int, default=1)
    parser.add_argument("--parts-repeats", type=int, default=7)
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the plain reference"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="12,800 samples, 2 rounds, 1 thread, small scaling subset",
    )
    parser.add_argument("--verbose", action="store_true", help="print every timed run")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="also write the output here, and the scaling plot beside it as .png "
        "(default results/bench_epoch.txt, results/bench_epoch_quick.txt with "
        "--quick: these overwrite the committed results)",
    )
    args = parser.parse_args()
    if args.quick:
        args.samples, args.repeats, args.threads = 12_800, 2, "1"
        args.scaling_samples, args.scaling_repeats, args.profile_repeats = 6_400, 2, 1
    args.threads = [int(t) for t in str(args.threads).split(",")]
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - {
        "epoch",
        "eval",
        "profile",
        "scaling",
        "memory",
        "parts",
        "proposals",
    }
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    RESULTS.mkdir(exist_ok=True)
    out = args.out = args.out or RESULTS / (
        "bench_epoch_quick.txt" if args.quick else "bench_epoch.txt"
    )
    log = Tee(out)
    log(
        f"bench_epoch.py {' '.join(sys.argv[1:])}  "
        f"({time.strftime('%Y-%m-%d %H:%M:%S')})"
    )
    log("machine: " + common.machine_line())
    w = common.load_workload(max(args.samples, args.scaling_samples))
    log(f"data: {w.description}")
    log(
        f"model: 784-{'-'.join(map(str, HIDDEN))}-{N_CLASSES}, ReLU, dropout "
        f"{DROPOUT}, "
        f"softmax-CE, Adam lr {LR}, batch {BATCH}, float32; "
        f"{common.n_parameters():,} parameters"
    )
    if torch is None:
        log(
            "torch is not installed: the PyTorch comparisons are skipped "
            "(see benchmarks/README.md for the separate venv)"
        )
    summary: list[str] = []
    runners = {
        "epoch": section_epoch,
        "eval": section_eval,
        "profile": section_profile,
        "scaling": section_scaling,
        "memory": section_memory,
        "parts": section_parts,
        "proposals": section_proposals,
    }
    for name in sections:
        runners[name](args, w, log, summary)
    log("\n== Summary ==")
    for line in summary:
        log("  " + line)
    log("machine at the end: " + common.machine_line())


if __name__ == "__main__":
    main()
