"""Run a benchmark on the BLAS kernel OpenBLAS picks for this CPU by itself.

Some environments set ``OPENBLAS_CORETYPE`` (e.g. ``Haswell``) and ``OPENBLAS_L2_SIZE``
for every process. OpenBLAS reads them once, when NumPy loads it, and then runs the
forced kernel, which on the CPUs measured here is slower than the one it would choose
(SkylakeX). A benchmark should time the library as a reader's machine runs it, so the
benchmark scripts call ``use_native_kernel()`` before they import NumPy: if either
variable is set, the script starts again (``os.execve``, same interpreter and
arguments) with both removed from its own environment. Nothing else changes: the
shell, the tests and CI keep their environment.
"""

from __future__ import annotations

import os
import sys

#: Variables that force OpenBLAS's kernel choice; removed for the benchmark process.
FORCED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: Set in the restarted process: what was removed (shown in the results' header).
MARKER = "NNLIB_BENCH_UNSET_BLAS"


def use_native_kernel() -> None:
    """Restart this script without ``FORCED`` in its environment, if any is set.

    Must run before NumPy is imported (OpenBLAS reads the variables when it loads).
    """
    forced = [name for name in FORCED if name in os.environ]
    if not forced:
        return
    if "numpy" in sys.modules:
        raise RuntimeError("use_native_kernel() must run before numpy is imported")
    env = {k: v for k, v in os.environ.items() if k not in FORCED}
    env[MARKER] = " ".join(f"{k}={os.environ[k]}" for k in forced)
    sys.stdout.flush()
    argv = [sys.executable, *sys.orig_argv[1:]]  # the same interpreter options too
    os.execve(sys.executable, argv, env)


def unset_note() -> str:
    """What ``use_native_kernel`` removed, for the results' header ('' if nothing)."""
    removed = os.environ.get(MARKER)
    if removed:
        return f"unset for this process: {removed}"
    return "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE not set"


def kernel_line() -> str:
    """The BLAS libraries NumPy loaded as threadpoolctl reports them (kernel,
    threads)."""
    from threadpoolctl import threadpool_info

    libs = [
        f"{i['internal_api']} {i.get('version')}, kernel "
        f"{i.get('architecture', '-')}, {i['num_threads']} threads"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    return "BLAS: " + ("; ".join(libs) or "none found") + f" ({unset_note()})"
