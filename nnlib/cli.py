"""Command line: ``python -m nnlib train | evaluate | tune``.

Examples::

    python -m nnlib train --split balanced --hidden 512 256 --dropout 0.2 --optimizer adam \\
        --lr 1e-3 --batch-size 128 --epochs 30 --out runs/balanced
    python -m nnlib train --out runs/balanced --resume     # continue after an interrupt
    python -m nnlib evaluate --model runs/balanced/model.npz --split balanced --out runs/eval
    python -m nnlib tune --split balanced --lr 3e-4 1e-3 3e-3 --optimizer sgd momentum adam \\
        --epochs 5 --n-jobs 2 --out runs/tune

Errors (bad arguments, missing data, a diverging run) end the program with a one-line reason and
a non-zero exit status, never a traceback: 2 for a bad command line, 130 for Ctrl-C, 1 otherwise.
An unexpected error (a bug) is also reported in one line; set the environment variable
``NNLIB_TRACEBACK=1`` to see its full traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import data, metrics, plots, report, tuning
from ._files import atomic_write, atomic_write_text
from .callbacks import Callback, EarlyStopping, ModelCheckpoint
from .dropout import Dropout
from .history import History
from .losses import SoftmaxCrossEntropy
from .model import Sequential, mlp
from .optimizers import Optimizer
from .schedules import SCHEDULE_NAMES
from .training import fit
from .tuning import OPTIMIZER_NAMES, grid_search, make_optimizer, random_search

TRACEBACK_ENV = (
    "NNLIB_TRACEBACK"  # set to 1 to see the traceback of an unexpected error
)
DEFAULT_EPOCHS = 30
CHECKPOINT = "checkpoint.npz"  # everything --resume needs, in one file


class UsageError(Exception):
    """A problem with the command line that the user can fix."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def _lr_range(text: str) -> tuple[str | None, tuple[float, float]]:
    """``"1e-4:1e-2"`` or ``"adam=1e-4:1e-2"`` for ``tune --lr-range``."""
    name, _, bounds = text.rpartition("=")
    if name and name not in OPTIMIZER_NAMES:
        raise argparse.ArgumentTypeError(
            f"optimizer must be one of {', '.join(OPTIMIZER_NAMES)}, got {name!r}"
        )
    try:
        low, high = (float(b) for b in bounds.split(":"))
        tuning.LogUniform(low, high)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be LOW:HIGH or OPTIMIZER=LOW:HIGH with 0 < LOW < HIGH, got {text}"
        ) from None
    return (name or None), (low, high)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer >= {low}, got {text}"
        ) from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text}")
    return value


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def _seed(text: str) -> int:
    """Seeds of ``np.random.default_rng`` must be >= 0: check while parsing, not after loading data."""
    return _int_at_least(text, 0)


def _probability(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _architecture(text: str) -> tuple[int, ...]:
    """``"512,256"`` → (512, 256) for ``tune --hidden``."""
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated widths like 512,256, got {text}"
        ) from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"widths must be >= 1, got {text}")
    return widths


def _add_data_options(p: argparse.ArgumentParser, limit_part: str = "training") -> None:
    p.add_argument(
        "--split",
        default="balanced",
        choices=data.SPLITS,
        help="EMNIST split (default: balanced)",
    )
    p.add_argument(
        "--data",
        metavar="PATH",
        help="EMNIST gzip.zip to read (default: NNLIB_EMNIST_PATH, the "
        "emnist cache ~/.cache/emnist/emnist.zip, ../shared/data/emnist/emnist.zip, or a download)",
    )
    p.add_argument(
        "--no-download",
        action="store_true",
        help="never download EMNIST; fail if it is missing",
    )
    p.add_argument(
        "--limit",
        type=_positive_int,
        metavar="N",
        help=f"use only the first N {limit_part} images (quick experiments)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m nnlib",
        description="Train, evaluate and tune nnlib models on EMNIST.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )

    train = commands.add_parser(
        "train",
        help="train a model and write model, history and report",
        description="Train an MLP on EMNIST with validation, early stopping and "
        "checkpoints; write model.npz, history.json, report.html and metrics.json.",
    )
    _add_data_options(train)
    train.add_argument(
        "--hidden",
        type=_positive_int,
        nargs="+",
        default=[512, 256],
        metavar="WIDTH",
        help="hidden layer widths (default: 512 256)",
    )
    train.add_argument(
        "--activation",
        default="relu",
        choices=["relu", "leaky_relu", "sigmoid", "tanh"],
        help="hidden activation (default: relu)",
    )
    train.add_argument(
        "--dropout",
        type=_probability,
        default=0.2,
        help="dropout after each hidden layer (default: 0.2)",
    )
    train.add_argument(
        "--optimizer", default="adam", choices=OPTIMIZER_NAMES, help="default: adam"
    )
    train.add_argument(
        "--lr", type=_positive_float, default=1e-3, help="learning rate (default: 1e-3)"
    )
    train.add_argument(
        "--batch-size", type=_positive_int, default=128, help="default: 128"
    )
    train.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help=f"maximum number of epochs (default: {DEFAULT_EPOCHS}; with --resume: the "
        "saved run's)",
    )
    train.add_argument(
        "--patience",
        type=_positive_int,
        default=5,
        help="early stopping: epochs without val-loss improvement (default: 5)",
    )
    train.add_argument(
        "--val-fraction",
        type=_probability,
        default=0.1,
        help="stratified share of training data held out for validation (default: 0.1)",
    )
    train.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed (>= 0) for weights, dropout and shuffling (default: 0)",
    )
    train.add_argument(
        "--out", required=True, metavar="DIR", help="output directory, e.g. runs/NAME"
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from the last checkpoint in --out (other options, and --epochs if "
        "not given, come from its config)",
    )
    train.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )

    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate a saved model on the test set",
        description="Evaluate a saved model on a split's test set; print the "
        "classification report and optionally write report.html/metrics.json.",
    )
    _add_data_options(evaluate, limit_part="test")
    evaluate.add_argument(
        "--model", required=True, metavar="FILE", help="model .npz written by train"
    )
    evaluate.add_argument(
        "--out", metavar="DIR", help="write report.html and metrics.json here"
    )

    tune = commands.add_parser(
        "tune",
        help="grid or random search over hyperparameters",
        description="Search hyperparameters on a validation split; print the "
        "sorted results and write results.json and tuning.png to --out.",
    )
    _add_data_options(tune)
    tune.add_argument(
        "--search", choices=["grid", "random"], default="grid", help="default: grid"
    )
    tune.add_argument(
        "--trials",
        type=_positive_int,
        default=8,
        help="random search: number of trials",
    )
    tune.add_argument(
        "--lr",
        type=_positive_float,
        nargs="+",
        help="learning rates to try (default: 1e-3)",
    )
    tune.add_argument(
        "--lr-range",
        type=_lr_range,
        nargs="+",
        metavar="[OPTIMIZER=]LOW:HIGH",
        help="random search: learning rates log-uniform in [LOW, HIGH] instead of "
        "--lr; OPTIMIZER=LOW:HIGH once per optimizer gives each its own range (and "
        "replaces --optimizer), e.g. sgd=0.01:0.3 adam=1e-4:1e-2",
    )
    tune.add_argument(
        "--batch-size", type=_positive_int, nargs="+", default=[128], help="batch sizes"
    )
    tune.add_argument(
        "--optimizer",
        choices=OPTIMIZER_NAMES,
        nargs="+",
        help="optimizers (default: adam)",
    )
    tune.add_argument(
        "--dropout", type=_probability, nargs="+", default=[0.0], help="dropout rates"
    )
    tune.add_argument(
        "--weight-decay",
        type=_non_negative_float,
        nargs="+",
        default=[0.0],
        metavar="LAMBDA",
        help="L2 penalties to try, as train --weight-decay (default: 0)",
    )
    tune.add_argument(
        "--schedule",
        choices=SCHEDULE_NAMES,
        nargs="+",
        default=["constant"],
        help="learning-rate schedules to try, as train --schedule, each over the "
        "--epochs of a trial (default: constant)",
    )
    tune.add_argument(
        "--hidden",
        type=_architecture,
        nargs="+",
        default=[(128,)],
        metavar="W1,W2",
        help="architectures, e.g. 128 256,128",
    )
    tune.add_argument(
        "--epochs", type=_positive_int, default=5, help="epochs per trial (default: 5)"
    )
    tune.add_argument(
        "--val-fraction", type=_probability, default=0.1, help="validation share"
    )
    tune.add_argument(
        "--n-jobs",
        type=int,
        help="trials in parallel (joblib; -1: all cores; default: 1); with "
        "--scheduler local, the number of Dask workers (default: 2)",
    )
    tune.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the trials on Dask: the address of a running scheduler "
        "(tcp://host:8786, see `dask scheduler`), or 'local' to start a "
        "cluster of --n-jobs worker processes here",
    )
    tune.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed (>= 0) for the split and the trials (default: 0)",
    )
    tune.add_argument(
        "--out", metavar="DIR", help="write results.json and tuning.png here"
    )
    return parser


# ---------------------------------------------------------------------------------------- helpers
def _load(args: argparse.Namespace, *, train: bool, test: bool) -> data.EMNIST:
    """Load the split; fail now, before any training, if a part the command needs is empty."""
    dataset = data.load_emnist(
        args.split, path=args.data, download=not args.no_download
    )
    for part, needed, labels in (
        ("training", train, dataset.y_train),
        ("test", test, dataset.y_test),
    ):
        if needed and len(labels) == 0:
            path = Path(dataset.source.path)
            manifest = path.parent / "MANIFEST.txt"
            what = (
                f"see {manifest} for what it holds"
                if manifest.is_file()
                else "a partial copy?"
            )
            raise ValueError(
                f"{path} holds no {part} images of EMNIST {args.split!r} ({what}): "
                f"choose another --split, or pass a complete EMNIST gzip.zip with --data"
            )
    return dataset


def _train_val(
    args: argparse.Namespace, dataset: data.EMNIST
) -> tuple[np.ndarray, ...]:
    x, y = dataset.x_train, dataset.y_train
    if args.limit is not None:
        x, y = x[: args.limit], y[: args.limit]
    parts = data.train_val_split(x, y, val_fraction=args.val_fraction, rng=args.seed)
    # Each class gives round(val_fraction * its size) images to validation: with few
    # images per class, one part can be empty. Say which option to change.
    for part, images, change in (
        ("training", parts[1], "lower"),
        ("validation", parts[3], "raise"),
    ):
        if len(images) == 0:
            more = "raise --limit or " if args.limit is not None else ""
            raise UsageError(
                f"the {part} split is empty ({len(y):,} images in "
                f"{len(np.unique(y))} classes, --val-fraction {args.val_fraction} of "
                f"each class, rounded, for validation): {more}{change} --val-fraction"
            )
    return parts


def _save_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, default=str))


class ResumeCheckpoint(Callback):
    """After every epoch, write everything ``--resume`` needs to one file, ``checkpoint.npz``.

    The epoch number, the history, the weights (``model/<name>``), the optimizer's state
    (``optimizer/<name>``, e.g. Adam's moment estimates) and the states of the random generators
    (``rng/<name>``: the shuffling order and every dropout layer's masks) go into a single file with
    a single atomic write, so they always belong to the same epoch: a run interrupted at any moment
    resumes from the last complete epoch, and continues exactly as if it had never stopped.
    ``history.json`` is a readable copy of the history.
    """

    def __init__(
        self, out: Path, optimizer: Optimizer, rngs: dict[str, np.random.Generator]
    ) -> None:
        self.out, self.optimizer, self.rngs = out, optimizer, rngs

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        arrays = {"epoch": np.array(epoch), "history": np.array(history.to_json())}
        arrays |= {f"model/{p.name}": p.value for p in model.parameters()}
        arrays |= {
            f"optimizer/{name}": a for name, a in self.optimizer.state_dict().items()
        }
        # A generator's state is a small dict of (large) integers: stored as JSON text.
        arrays |= {
            f"rng/{name}": np.array(json.dumps(gen.bit_generator.state))
            for name, gen in self.rngs.items()
        }
        atomic_write(self.out / CHECKPOINT, lambda f: np.savez(f, **arrays))
        atomic_write_text(self.out / "history.json", history.to_json())
        return False


def _read_checkpoint(out: Path) -> tuple[History, dict[str, np.ndarray]]:
    """Read ``checkpoint.npz`` (see ``ResumeCheckpoint``): its history and all of its arrays.

    Raises ``ValueError``, saying how to recover, if the file is unreadable, from an older nnlib
    or inconsistent.
    """
    path = out / CHECKPOINT
    restart = f"start again with another --out (best.npz in {out} holds the best model so far)"
    try:
        with np.load(path, allow_pickle=False) as f:
            saved = {name: f[name] for name in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"{path} is not a readable checkpoint ({type(err).__name__}: {err}); {restart}"
        ) from err
    if "epoch" not in saved or "history" not in saved:
        raise ValueError(
            f"{path} was written by an older nnlib (weights and optimizer state in separate "
            f"files, possibly of different epochs), so it cannot be resumed safely; {restart}"
        )
    history = History.from_json(str(saved["history"]))
    epoch = int(saved["epoch"])
    if not history.epoch or history.epoch[-1] != epoch:
        raise ValueError(
            f"{path} holds the weights of epoch {epoch} but a history ending at epoch "
            f"{history.epoch[-1] if history.epoch else 'none'}; {restart}"
        )
    return history, saved


def _generators(
    model: Sequential, shuffle: np.random.Generator
) -> dict[str, np.random.Generator]:
    """The random generators a training run draws from, by name: shuffling, and each dropout layer."""
    return {"shuffle": shuffle} | {
        f"dropout/{i}": layer.rng
        for i, layer in enumerate(model.layers)
        if isinstance(layer, Dropout)
    }


def _restore(
    saved: dict[str, np.ndarray],
    model: Sequential,
    optimizer: Optimizer,
    rngs: dict[str, np.random.Generator],
    out: Path,
) -> None:
    """Copy a checkpoint's weights into ``model``, its state into ``optimizer`` and ``rngs``."""
    weights = {
        name.removeprefix("model/"): a
        for name, a in saved.items()
        if name.startswith("model/")
    }
    params = {p.name: p.value for p in model.parameters()}
    if set(weights) != set(params) or any(
        weights[n].shape != params[n].shape for n in params
    ):
        raise ValueError(
            f"{out / CHECKPOINT} does not fit the model described by {out / 'config.json'}"
        )
    for name, value in params.items():
        value[...] = weights[name]
    optimizer.load_state_dict(
        {
            name.removeprefix("optimizer/"): a
            for name, a in saved.items()
            if name.startswith("optimizer/")
        }
    )
    if any(f"rng/{name}" not in saved for name in rngs):
        raise ValueError(
            f"{out / CHECKPOINT} has no random-generator states (written by an older nnlib): "
            f"start again with another --out"
        )
    for name, gen in rngs.items():
        gen.bit_generator.state = json.loads(str(saved[f"rng/{name}"]))


# ---------------------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    out = Path(args.out)
    config_path = out / "config.json"
    if args.resume:
        if not config_path.exists() or not (out / CHECKPOINT).exists():
            raise UsageError(
                f"--resume: no checkpoint in {out} (run train without --resume first)"
            )
        config = json.loads(config_path.read_text())
        if (
            args.epochs is not None
        ):  # else: the number of epochs the run was started with
            config["epochs"] = args.epochs
        history, saved = _read_checkpoint(out)
        last, best = history.epoch[-1], history.best_epoch("val_loss")
        if last - best >= config["patience"]:
            raise UsageError(
                f"{out} stopped early after epoch {last} (no val-loss improvement since epoch "
                f"{best} for --patience {config['patience']} epochs): nothing to resume"
            )
        remaining = config["epochs"] - len(history)
        if remaining < 1:
            raise UsageError(
                f"{out} already trained {len(history)} epochs; pass a larger --epochs to continue"
            )
    else:
        if (out / CHECKPOINT).exists():
            raise UsageError(
                f"{out} already holds a run: use --resume to continue it or another --out"
            )
        config = {
            k: getattr(args, k)
            for k in (
                "split",
                "data",
                "limit",
                "hidden",
                "activation",
                "dropout",
                "optimizer",
                "lr",
                "batch_size",
                "epochs",
                "patience",
                "val_fraction",
                "seed",
            )
        }
        config["epochs"] = args.epochs if args.epochs is not None else DEFAULT_EPOCHS
        history, remaining = None, config["epochs"]
    for key in ("split", "data", "limit", "val_fraction", "seed"):
        setattr(args, key, config[key])

    dataset = _load(args, train=True, test=True)
    x_train, y_train, x_val, y_val = _train_val(args, dataset)
    optimizer = make_optimizer(config["optimizer"], config["lr"])
    # A resumed run rebuilds the same model (same seed), then loads the checkpoint's weights.
    model = mlp(
        28 * 28,
        config["hidden"],
        dataset.n_classes,
        activation=config["activation"],
        dropout=config["dropout"],
        rng=config["seed"],
    )
    # The shuffling generator is created here, not inside fit, so that its state can be saved
    # after every epoch and restored on --resume (default_rng(seed) gives the same order either way).
    rngs = _generators(model, np.random.default_rng(config["seed"]))
    if history is not None:
        _restore(saved, model, optimizer, rngs, out)
        if (
            best == last
        ):  # an interrupt may have come between writing checkpoint.npz and best.npz
            model.save(out / "best.npz")
        print(f"Resuming {out} after epoch {last} for {remaining} more epoch(s)")
    else:
        out.mkdir(parents=True, exist_ok=True)
    _save_json(
        config_path, config
    )  # on --resume: with the (possibly new) number of epochs
    print(model.summary())
    # ResumeCheckpoint first: best.npz is never newer than checkpoint.npz. The trackers of
    # EarlyStopping and ModelCheckpoint take the epochs of a resumed history into account.
    callbacks = [
        ResumeCheckpoint(out, optimizer, rngs),
        EarlyStopping("val_loss", patience=config["patience"]),
        ModelCheckpoint(out / "best.npz", monitor="val_loss"),
    ]
    try:
        # No numpy overflow warnings: fit itself reports a diverging loss (a FloatingPointError).
        with np.errstate(over="ignore", invalid="ignore"):
            history = fit(
                model,
                SoftmaxCrossEntropy(),
                optimizer,
                x_train,
                y_train,
                epochs=remaining,
                batch_size=config["batch_size"],
                validation_data=(x_val, y_val),
                rng=rngs["shuffle"],
                callbacks=callbacks,
                progress=not args.no_progress,
                history=history,
            )
    except KeyboardInterrupt:
        if (out / CHECKPOINT).exists():
            print(
                f"\nInterrupted. The last complete epoch is saved in {out}; continue with:\n"
                f"  python -m nnlib train --out {out} --resume",
                file=sys.stderr,
            )
        else:
            print(
                "\nInterrupted during the first epoch: nothing to resume.",
                file=sys.stderr,
            )
        return 130
    # best.npz holds the best epoch's weights, also when that epoch came before a --resume
    # (EarlyStopping can only restore weights it saw in this process).
    model = Sequential.load(out / "best.npz")
    model.save(out / "model.npz")
    atomic_write_text(out / "history.json", history.to_json())
    y_pred = model.predict(dataset.x_test)
    paths = report.write_report(
        out,
        model=model,
        history=history,
        y_true=dataset.y_test,
        y_pred=y_pred,
        mapping=dataset.mapping,
        hyperparameters=config,
        source=dataset.source,
        x_test=dataset.x_test,
        title=f"EMNIST {dataset.split}: training report",
        n_train_used=len(x_train) + len(x_val),
    )
    print(
        f"Test accuracy {metrics.accuracy(dataset.y_test, y_pred):.4f} on {len(y_pred):,} images"
    )
    print(
        f"Wrote {out / 'model.npz'}, {out / 'history.json'}, {paths['html']}, {paths['metrics']}"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = Sequential.load(args.model)
    dataset = _load(args, train=False, test=True)
    n_outputs = model.output_shape((28 * 28,))[-1]
    if n_outputs != dataset.n_classes:
        raise UsageError(
            f"{args.model} has {n_outputs} outputs but EMNIST {args.split} has "
            f"{dataset.n_classes} classes: evaluate it on the split it was trained on"
        )
    x_test, y_test = (
        dataset.x_test[: args.limit],
        dataset.y_test[: args.limit],
    )  # [:None]: all
    y_pred = model.predict(x_test)
    labels = sorted(
        dataset.mapping
    )  # the split's classes (letters: 1..26, there is no class 0)
    print(
        metrics.classification_report(
            y_test,
            y_pred,
            n_classes=dataset.n_classes,
            labels=labels,
            target_names=[dataset.mapping[k] for k in labels],
        )
    )
    if args.out:
        hyperparameters = {"model": str(args.model), "limit": args.limit}
        paths = report.write_report(
            args.out,
            model=model,
            history=None,
            y_true=y_test,
            y_pred=y_pred,
            mapping=dataset.mapping,
            hyperparameters=hyperparameters,
            source=dataset.source,
            x_test=x_test,
            title=f"EMNIST {dataset.split}: evaluation",
            evaluation_only=True,
        )
        print(f"Wrote {paths['html']} and {paths['metrics']}")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    space = _tune_space(args)  # options that do not fit fail before anything starts
    with contextlib.ExitStack() as stack:  # closes a Dask client even on Ctrl-C
        # Reach the cluster first: a wrong address fails before the data is read.
        client = None if args.scheduler is None else _dask_client(args, stack)
        dataset = _load(args, train=True, test=False)
        x_train, y_train, x_val, y_val = _train_val(args, dataset)
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
        print(f"Wrote {json_path} and {figure_path}")
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
    if local and n_workers < 1:
        raise UsageError(
            f"--n-jobs must be >= 1 or -1 with --scheduler local, got {args.n_jobs}"
        )
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


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "tune": cmd_tune}
EXPECTED_ERRORS = (FileNotFoundError, ValueError, TypeError, OSError, MemoryError)


def _error_line(err: Exception) -> str:
    """The one line that ``main`` prints for an error."""
    reason = " ".join(str(err).split())  # one line, whatever the message's layout
    if isinstance(err, FloatingPointError):
        return f"training diverged: {reason} (try a smaller --lr)"
    if isinstance(err, MemoryError):
        return f"out of memory ({reason or 'MemoryError'}): try a smaller --hidden, --batch-size or --limit"
    if isinstance(err, EXPECTED_ERRORS):
        return reason
    return (
        f"unexpected {type(err).__name__}: {reason} (probably a bug in nnlib; rerun with "
        f"{TRACEBACK_ENV}=1 to see the traceback)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 success, 1 error, 2 usage, 130 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except Exception as err:
        unexpected = not isinstance(err, (FloatingPointError, *EXPECTED_ERRORS))
        if unexpected and os.environ.get(TRACEBACK_ENV, "0") != "0":
            raise
        print(f"error: {_error_line(err)}", file=sys.stderr)
        return 1
