"""pytest setup for the whole repository: parallel runs (pytest-xdist, pyproject.toml).

`pytest` starts one worker process per core (`-n auto`). Each worker, and each notebook
kernel it starts, gets an equal share of the cores for its matrix products: otherwise
every worker's BLAS library starts one thread per core, and n workers on n cores run
n * n busy threads that spin while they wait for each other (measured: 163 s instead of
124 s for the whole suite on 2 cores).
"""

from __future__ import annotations

import os

import pytest

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)  # set in xdist workers only
    if workerinput is None:
        return
    threads = max(1, (os.cpu_count() or 1) // int(workerinput["workercount"]))
    for name in BLAS_THREAD_VARIABLES:  # inherited by the notebook kernels it starts
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)  # this process, in case NumPy is already loaded
