"""What the forced OpenBLAS kernel costs: the epoch's matrix products, forced vs native.

Runs a child process per setting, alternating: one with the environment's forced
``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` (``--forced``, default ``Haswell``), one
without (the kernel OpenBLAS picks itself). Each child reports its kernel
(threadpoolctl), the peak float32 ``np.matmul`` FLOP/s over the workload's shapes and
the CPU seconds of one epoch's matrix products replayed alone (1 thread). Run from the
repository root::

    python benchmarks/kernel_effect.py --rounds 3 --l2-size 262144
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
import common
from threadpoolctl import threadpool_info, threadpool_limits
kernel = [i.get("architecture") for i in threadpool_info() if i["user_api"] == "blas"]
with threadpool_limits(1):
    peak, _ = common.peak_sgemm()
    seconds = common.replay_gemms(common.N_TRAIN, common.BATCH, repeats=1)
print(kernel[0], peak / 1e9, seconds)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forced", default="Haswell", help="OPENBLAS_CORETYPE value")
    parser.add_argument("--l2-size", help="OPENBLAS_L2_SIZE value (default: unset)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = open(args.out, "w") if args.out else None

    def log(line: str) -> None:
        print(line, flush=True)
        if out:
            out.write(line + "\n")

    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    forced_env = dict(base, OPENBLAS_CORETYPE=args.forced)
    if args.l2_size:
        forced_env["OPENBLAS_L2_SIZE"] = args.l2_size
    envs = {
        f"forced {args.forced}": forced_env,
        "native": base,
    }
    log(
        f"kernel_effect.py {' '.join(sys.argv[1:])}  "
        f"({time.strftime('%Y-%m-%d %H:%M:%S')}), load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    res: dict[str, list[tuple[str, float, float]]] = {k: [] for k in envs}
    for r in range(args.rounds):
        names = list(envs) if r % 2 == 0 else list(envs)[::-1]
        for name in names:
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, str(HERE)],
                env=envs[name],
                capture_output=True,
                text=True,
                check=True,
            )
            kernel, peak, seconds = proc.stdout.split()
            res[name].append((kernel, float(peak), float(seconds)))
            log(
                f"  round {r + 1} {name:16s} kernel {kernel}: peak {float(peak):.1f} "
                f"GFLOP/s, epoch's products {float(seconds):.3f} s CPU"
            )
    med = {
        k: (
            v[0][0],
            statistics.median(x[1] for x in v),
            statistics.median(x[2] for x in v),
        )
        for k, v in res.items()
    }
    for k, (kernel, peak, seconds) in med.items():
        log(
            f"  {k:16s} ({kernel}): median peak {peak:.1f} GFLOP/s, "
            f"products {seconds:.3f} s"
        )
    forced, native = med[f"forced {args.forced}"], med["native"]
    log(f"  native / forced products time: {native[2] / forced[2]:.3f}")


if __name__ == "__main__":
    main()
