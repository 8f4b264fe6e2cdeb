"""One nnlib.fit epoch under two code bases, timed in one run: is the new one slower?

Each code base runs in its own worker process (``PYTHONPATH`` = that code base, so it
imports its own ``nnlib``), started once and kept; both read the same uint8 images from
one temporary ``.npy`` file written by this script. Every round asks each worker for one
epoch of the book's EMNIST model on a fresh model (784-512-256-47, dropout 0.2, Adam,
batch 128, ``nnlib.fit(rng=0, progress=False)``), alternating which goes first; the
workers are limited to the same number of BLAS threads. Reported: median [min-max] CPU
and wall seconds, the ratio of the medians (new / old) and the range of the per-round
ratios. Both code bases should reach the same training loss (printed: same work).

Run from the repository root::

    python benchmarks/compare_commits.py --rev 1181065            # git archive of a
    commit
    python benchmarks/compare_commits.py --old ../other-checkout   # a directory
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import blas_env  # noqa: E402

blas_env.use_native_kernel()  # before NumPy loads OpenBLAS: see blas_env.py

import common  # noqa: E402
import numpy as np  # noqa: E402

MAX_SLOWDOWN = 1.03  # the refactor may cost at most 3% of an epoch

# The worker: imports nnlib from its own code base (PYTHONPATH), then answers "run"
# lines with "cpu wall loss" of one epoch on a fresh model.
WORKER = """
import sys, time
import numpy as np
from threadpoolctl import threadpool_limits, threadpool_info
import nnlib
data, threads = sys.argv[1], int(sys.argv[2])
x = np.load(data + "/x.npy")
y = np.load(data + "/y.npy")
kernel = [i.get("architecture") for i in threadpool_info() if i["user_api"] == "blas"]
print("ready", nnlib.__file__, kernel, flush=True)
with threadpool_limits(threads):
    for line in sys.stdin:
        n = int(line)
        model = nnlib.mlp(784, [512, 256], 47, dropout=0.2, rng=0)
        opt, loss = nnlib.Adam(1e-3), nnlib.SoftmaxCrossEntropy()
        w, c = time.perf_counter(), time.process_time()
        hist = nnlib.fit(model, loss, opt, x[:n], y[:n], epochs=1, batch_size=128,
                         rng=0, progress=False)
        c, w = time.process_time() - c, time.perf_counter() - w
        print(c, w, repr(float(hist.train_loss[-1])), flush=True)
"""


class Worker:
    """A long-lived process running ``WORKER`` on the code base at ``root``."""

    def __init__(self, root: Path, data: str, threads: int) -> None:
        env = dict(os.environ, PYTHONPATH=str(root))
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        self.root = root
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, data, str(threads)],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().split(maxsplit=2)
        if not ready or ready[0] != "ready":
            raise SystemExit(f"worker for {root} did not start")
        nnlib_file = Path(ready[1]).resolve()
        if root.resolve() not in nnlib_file.parents:  # the right nnlib, not another
            raise SystemExit(f"worker for {root} imported {nnlib_file}")
        self.kernel = ready[2].strip()

    def epoch(self, n: int) -> tuple[float, float, str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        cpu, wall, loss = self.proc.stdout.readline().split()
        return float(cpu), float(wall), loss

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def extract(rev: str, into: Path) -> Path:
    """The tree of commit ``rev`` (``git archive``; the repository is not changed)."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "archive", rev], cwd=REPO, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--rev", help="the old code base: a commit of this repository")
    where.add_argument("--old", type=Path, help="the old code base: a directory")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (1)")
    parser.add_argument("--samples", type=int, default=common.N_TRAIN)
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "results" / "compare_commits.txt",
        help="also write the output here (default results/compare_commits.txt)",
    )
    args = parser.parse_args()
    args.out.parent.mkdir(exist_ok=True)
    out = open(args.out, "w")

    def log(line: str = "") -> None:
        print(line, flush=True)
        out.write(line + "\n")

    with tempfile.TemporaryDirectory() as tmp:
        old_root = args.old or extract(args.rev, Path(tmp) / "old")
        old_name = f"commit {args.rev}" if args.rev else common.shown(old_root)
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
        w = common.load_workload(args.samples)
        data = Path(tmp) / "data"
        data.mkdir()
        np.save(data / "x.npy", w.x_train[: args.samples])
        np.save(data / "y.npy", w.y_train[: args.samples])

        log(
            f"compare_commits.py {' '.join(sys.argv[1:])}  "
            f"({time.strftime('%Y-%m-%d %H:%M:%S')})"
        )
        log("machine: " + common.machine_line())
        log(f"data: {w.description}")
        names = {"old": old_name, "new": f"this tree (HEAD {head})"}
        workers = {
            "old": Worker(old_root, str(data), args.threads),
            "new": Worker(REPO, str(data), args.threads),
        }
        for key, worker in workers.items():
            log(f"{key}: {names[key]}; worker's BLAS kernel {worker.kernel}")
        log(
            f"\n== One nnlib.fit epoch, {args.samples:,} samples, batch 128, "
            f"{args.threads} thread(s), {args.rounds} alternating rounds ==",
        )
        for worker in workers.values():  # warm-up, not timed
            worker.epoch(1280)
        runs: dict[str, list[tuple[float, float, str]]] = {"old": [], "new": []}
        for r in range(args.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for key in order:
                runs[key].append(workers[key].epoch(args.samples))
            log(
                f"  round {r + 1}: old {runs['old'][-1][0]:.3f} s, "
                f"new {runs['new'][-1][0]:.3f} s CPU (first: {order[0]})"
            )
        for worker in workers.values():
            worker.close()

    log("\n  code base   CPU s: median [min-max]        wall s: median [min-max]")
    for key in ("old", "new"):
        cpu = [c for c, _, _ in runs[key]]
        wall = [x for _, x, _ in runs[key]]
        log(
            f"  {key:<9s} {common.fmt_stats(cpu)}   {common.fmt_stats(wall)}"
            f"   train loss {runs[key][0][2]}"
        )
    for clock, i in (("cpu", 0), ("wall", 1)):
        old = [run[i] for run in runs["old"]]
        new = [run[i] for run in runs["new"]]
        ratio = statistics.median(new) / statistics.median(old)
        per_round = [b / a for a, b in zip(old, new, strict=True)]
        verdict = "PASS" if ratio <= MAX_SLOWDOWN else "FAIL"
        if clock == "wall":
            verdict = "(informational)"
        log(
            f"  new / old ({clock}): {ratio:.3f} (ratio of medians; rounds "
            f"{min(per_round):.3f}-{max(per_round):.3f}) {verdict}"
            + (f" [at most {MAX_SLOWDOWN:.2f}]" if clock == "cpu" else "")
        )
    same = {run[2] for key in runs for run in runs[key]}
    log(
        "  same training loss in every run (same work): "
        + ("yes" if len(same) == 1 else f"no: {sorted(same)}")
    )
    log("machine at the end: " + common.machine_line())


if __name__ == "__main__":
    main()
