"""``tune``: a grid or random search, its space built from the options, run locally or
on a Dask cluster.

``_tune_space`` turns the options into the search space of ``nnlib.tuning``;
``_dask_client`` reaches the cluster of ``--scheduler``. Both fail before any data is
read when the options do not fit.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from .. import plots, tuning
from .._files import atomic_write, shown_path
from ..tuning import grid_search, random_search
from .dataset import load_dataset, split_train_val
from .parser import UsageError


def cmd_tune(args: argparse.Namespace) -> int:
    space = _tune_space(args)  # options that do not fit fail before anything starts
    with contextlib.ExitStack() as stack:  # closes a Dask client even on Ctrl-C
        # Reach the cluster first: a wrong address fails before the data is read.
        client = None if args.scheduler is None else _dask_client(args, stack)
        dataset = load_dataset(args, train=True, test=False)
        x_train, y_train, x_val, y_val = split_train_val(args, dataset)
        n_jobs = 1 if args.n_jobs is None else args.n_jobs
        parallel = {"client": client} if client else {"n_jobs": n_jobs}
        common = {"epochs": args.epochs, "seed": args.seed, **parallel}
        train, val = (x_train, y_train), (x_val, y_val)
        if args.search == "grid":
            results = grid_search(space, train, val, **common)
        else:
            results = random_search(space, train, val, n_trials=args.trials, **common)
    print(results.table())
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        json_path, figure_path = out / "results.json", out / "tuning.png"
        results.to_json(json_path)
        _save_figure(plots.plot_tuning_results(results), figure_path)
        print(f"Wrote {shown_path(json_path)} and {shown_path(figure_path)}")
    return 0


def _save_figure(fig: Figure, path: Path) -> None:
    """Write ``fig`` as a PNG in one atomic step (rendered in memory first): an
    interrupted or failed drawing leaves the previous file as it was."""
    png = io.BytesIO()
    try:
        fig.savefig(png, format="png", dpi=200, bbox_inches="tight")
    finally:
        plt.close(fig)

    def write(f: BinaryIO) -> None:
        f.write(png.getvalue())

    atomic_write(path, write)


def _tune_space(args: argparse.Namespace) -> dict[str, Any]:
    """The search space of ``tune``'s options (see ``tuning.grid_configs``)."""
    lr: Any = args.lr or [1e-3]
    optimizer: Any = args.optimizer or ["adam"]
    if args.lr_range is not None:
        lr, optimizer = _lr_ranges(args)
    space = {"lr": lr, "batch_size": args.batch_size, "optimizer": optimizer}
    if lr is None:  # each optimizer with its own range: set by "optimizer"
        del space["lr"]
    return space | {
        "dropout": args.dropout,
        "hidden": args.hidden,
        "weight_decay": args.weight_decay,
        "schedule": args.schedule,
    }


def _lr_ranges(args: argparse.Namespace) -> tuple[Any, Any]:
    """The ``lr`` and ``optimizer`` entries of the space for ``--lr-range``."""
    if args.search != "random":
        raise UsageError("--lr-range draws learning rates: use it with --search random")
    if args.lr is not None:
        raise UsageError("give --lr (values to try) or --lr-range (a range), not both")
    names = [name for name, _ in args.lr_range]
    if names == [None]:  # one range for every optimizer
        ((_, (low, high)),) = args.lr_range
        return tuning.LogUniform(low, high), args.optimizer or ["adam"]
    if None in names or len(set(names)) != len(names):
        raise UsageError(
            "--lr-range: give one LOW:HIGH, or OPTIMIZER=LOW:HIGH once per optimizer"
        )
    if args.optimizer is not None:
        raise UsageError(
            "--lr-range OPTIMIZER=LOW:HIGH names the optimizers: leave out --optimizer"
        )
    return None, {name: {"lr": tuning.LogUniform(*r)} for name, r in args.lr_range}


def _dask_client(args: argparse.Namespace, stack: contextlib.ExitStack) -> Any:
    """The Dask client of ``--scheduler``, closed (with its cluster) with ``stack``."""
    local = args.scheduler == "local"
    n_workers = 2 if args.n_jobs is None else args.n_jobs
    if n_workers == -1:
        n_workers = os.cpu_count() or 1
    if not local and args.n_jobs is not None:
        print(
            "note: --n-jobs is not used with a scheduler address: the cluster's "
            "workers decide how many trials run at a time",
            file=sys.stderr,
        )
    try:
        client = stack.enter_context(
            tuning.dask_client(args.scheduler, n_workers=n_workers)
        )
    except ModuleNotFoundError as err:
        raise UsageError(f"--scheduler: {err}") from None
    where = "a local Dask cluster" if local else f"the Dask cluster at {args.scheduler}"
    workers = len(client.nthreads())
    print(f"Running the trials on {where} ({workers} workers)", flush=True)
    return client
