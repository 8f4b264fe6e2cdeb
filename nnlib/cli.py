"""Command line: ``python -m nnlib train | evaluate | tune``.

Examples::

    python -m nnlib train --split balanced --hidden 512 256 --dropout 0.2 \\
        --optimizer adam --lr 1e-3 --batch-size 128 --epochs 30 --out runs/balanced
    python -m nnlib train --out runs/balanced --resume   # continue after an interrupt
    python -m nnlib evaluate --model runs/balanced/model.npz --split balanced \\
        --out runs/balanced/evaluation
    python -m nnlib tune --split balanced --lr 3e-4 1e-3 3e-3 \\
        --optimizer sgd momentum adam --epochs 5 --n-jobs 2 --out runs/tune
    python -m nnlib tune --split balanced --search random --trials 20 \\
        --lr-range 1e-4:1e-2 --scheduler tcp://scheduler:8786 --out runs/tune-cluster

Installed with pip, the same commands run as ``nnlib train ...``. ``tune`` runs its
trials in local processes (``--n-jobs``) or on a Dask cluster (``--scheduler local``
or the address of a running scheduler; see ``nnlib.tuning``).

No command replaces a file it did not write: ``train --out`` starts a run only in a new
or empty directory (and continues its own with ``--resume``), ``evaluate --out`` and
``tune --out`` write only into a new or empty directory; a command writing into a
directory holds its lock (``nnlib.runlock``), so a second process on it stops with an
error naming the first.
``train`` and ``evaluate`` end with the same summary: test accuracy with its 95% Wilson
score interval, macro-F1, the number of test images and where the report is.

Errors (bad arguments, missing data, a diverging run) end the program with a one-line
reason and a non-zero exit status, never a traceback: 2 for a bad command line (an
``--out`` holding files the command would not write included), 130 for Ctrl-C, 1
otherwise (a directory in use by another process included). An unexpected error (a bug)
is also reported in one line; set the environment variable ``NNLIB_TRACEBACK=1`` to see
its full traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import data, metrics, plots, report, tuning
from ._files import (
    atomic_write,
    atomic_write_text,
    remove_stale_temporaries,
    shown_path,
)
from .callbacks import Callback, EarlyStopping, ModelCheckpoint
from .checkpoint import read_history
from .history import History
from .losses import SoftmaxCrossEntropy
from .model import Sequential, mlp
from .optimizers import Optimizer
from .runlock import RunDirectoryBusy, RunLock
from .schedules import SCHEDULE_NAMES, make_schedule
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
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
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
    """Seeds of ``np.random.default_rng`` must be >= 0: checked while parsing, not after
    loading the data."""
    return _int_at_least(text, 0)


def _probability(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _out_dir(text: str) -> str:
    """``--out``: a directory name (an empty one would mean the current directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a directory, got an empty string")
    return text


def _open_fraction(text: str) -> float:
    """A share strictly between 0 and 1, such as ``--val-fraction``."""
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text}")
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
        help="EMNIST gzip.zip to read (default: NNLIB_EMNIST_PATH, the emnist cache "
        "~/.cache/emnist/emnist.zip, or a download)",
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


def _program_name() -> str:
    """``nnlib`` when run as the installed command, else ``python -m nnlib``."""
    return "nnlib" if Path(sys.argv[0]).stem == "nnlib" else "python -m nnlib"


def build_parser(*, defaults: bool = True) -> argparse.ArgumentParser:
    """The parser of all three commands.

    ``defaults=False``: train's saved options (``CONFIG_KEYS``) default to None, so that
    parsing tells which of them were typed, even with their default values.
    """
    parser = _Parser(
        prog=_program_name(),
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
        "--weight-decay",
        type=_non_negative_float,
        default=0.0,
        metavar="LAMBDA",
        help="L2 penalty: adds LAMBDA * w to the gradient of every parameter "
        "(default: 0, none)",
    )
    train.add_argument(
        "--schedule",
        default="constant",
        choices=SCHEDULE_NAMES,
        help="learning-rate schedule over the --epochs epochs (default: constant). "
        "step: ten times smaller after every third of the epochs (--epochs 30: epochs "
        "1-10 at --lr, 11-20 at lr/10, 21-30 at lr/100); cosine: half a cosine from "
        "--lr at the first batch down to 0 at the end of the last epoch. Applied per "
        "batch, with ceil(training images / batch size) batches per epoch; "
        "--resume --epochs N stretches it to N epochs",
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
        type=_open_fraction,
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
        "--out",
        required=True,
        type=_out_dir,
        metavar="DIR",
        help="output directory, e.g. runs/NAME: a new or empty one (hidden files "
        "aside), or the run to continue with --resume",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from the last checkpoint in --out (other options, and --epochs "
        "if not given, come from its config)",
    )
    train.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )
    if not defaults:
        train.set_defaults(**dict.fromkeys(CONFIG_KEYS))

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
        "--out",
        type=_out_dir,
        metavar="DIR",
        help="write report.html and metrics.json into this new or empty directory "
        "(hidden files aside), e.g. runs/NAME/evaluation",
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
        "--out",
        metavar="DIR",
        help="write results.json and tuning.png into this new or empty directory "
        "(hidden files aside), e.g. runs/tune",
    )
    return parser


# ------------------------------------------------------------------------------ helpers
def _load(args: argparse.Namespace, *, train: bool, test: bool) -> data.EMNIST:
    """Load the split; fail now, before any training, if a part the command needs is
    empty."""
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
                "choose another --split, or pass a complete EMNIST gzip.zip with --data"
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


def _visible_files(directory: Path) -> list[str]:
    """The names in ``directory`` that are not hidden (the lock, temporary files)."""
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


def _is_unstarted_run(directory: Path) -> bool:
    """Does ``directory`` hold only train's ``config.json``, nothing else of a run?

    That is what a run stopped during its first epoch leaves: no checkpoint, so
    nothing to resume, and train may start again there.
    """
    path = directory / "config.json"
    if _visible_files(directory) != ["config.json"] or not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            config = json.loads(f.read(100_000))  # a config is < 1 kB: read no more
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and {"hidden", "optimizer", "seed"} <= set(config)


def _prepare_out(args: argparse.Namespace) -> None:
    """Tidy ``--out`` and check what it holds: no command replaces others' files.

    Temporary files left by a save that was killed are removed (see ``nnlib._files``).
    ``train`` starts in a new or empty directory (or one holding only the config of
    a run stopped in its first epoch) and continues its own run with ``--resume``;
    ``evaluate`` and ``tune`` write into a new or empty directory. Hidden files (the
    lock, ``.gitignore``) don't count.
    """
    if getattr(args, "out", None) is not None and Path(args.out).is_dir():
        removed = remove_stale_temporaries(args.out)
        if removed:
            print(
                f"Removed {len(removed)} temporary file(s) left in {args.out} by a "
                "save that was interrupted"
            )
    if args.command == "train" and not args.resume:
        out = Path(args.out)
        if (out / CHECKPOINT).exists():
            raise UsageError(
                f"{out} already holds a run: use --resume to continue it or another "
                "--out"
            )
        if not _is_unstarted_run(out):
            _refuse_files(
                out,
                "train starts a run only in a new or empty directory (and continues "
                "its own with --resume)",
            )
    elif args.command == "evaluate" and args.out is not None:
        out = Path(args.out)
        _refuse_files(
            out,
            "evaluate writes report.html and metrics.json only into a new or empty "
            f"directory (e.g. {out / 'evaluation'})",
        )
    elif args.command == "tune" and args.out is not None:
        _refuse_files(
            Path(args.out),
            "tune writes results.json and tuning.png only into a new or empty "
            "directory",
        )


def _refuse_files(out: Path, rule: str) -> None:
    """Raise a ``UsageError`` naming the files in ``out``, if it holds any."""
    names = _visible_files(out)
    if names:
        held = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        raise UsageError(
            f"{out} is not empty (it holds {held}): {rule}; choose another --out"
        )


def _check_regular_file(path: str, option: str) -> None:
    """Refuse a path that is not a regular file before opening it.

    Opening a named pipe waits for a writer, forever; a directory or a device is no
    model either.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{option} {path}: no such file")
    if not os.path.isfile(path):
        raise ValueError(f"{option} {path} is not a regular file")


def _summary(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    mapping: Mapping[int, str],
    report_path: Path | None,
) -> str:
    """The block that ``train`` and ``evaluate`` print last (``report.summary``)."""
    text = report.summary(
        report.evaluation_metrics(y_true, y_pred, mapping), report_path
    )
    return text if report_path is not None else text + "\nReport         not written"


def _optimizer(config: dict[str, Any], n_train: int) -> Optimizer:
    """The optimizer of ``--optimizer``, ``--lr``, ``--weight-decay``, ``--schedule``.

    The schedule counts batches: ``ceil(n_train / batch_size)`` per epoch. A config
    written before ``--weight-decay`` and ``--schedule`` existed has neither: no decay,
    a constant rate.
    """
    steps_per_epoch = math.ceil(n_train / config["batch_size"])
    schedule = make_schedule(
        config.get("schedule", "constant"), config["epochs"], steps_per_epoch
    )
    return make_optimizer(
        config["optimizer"],
        config["lr"],
        weight_decay=config.get("weight_decay", 0.0),
        schedule=schedule,
    )


def _save_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, default=str))


# ------------------------------------------------------------------- resuming a run
#: Options that every run's config.json holds (nnlib has written them from the start).
RUN_KEYS = (
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
#: Options saved in config.json. A config.json written before an option existed
#: (one not in RUN_KEYS) gets that option's command-line default on --resume.
CONFIG_KEYS = (*RUN_KEYS, "weight_decay", "schedule")


class _HistoryFile(Callback):
    """After every epoch, write ``history.json``: a readable copy of the history.

    ``checkpoint.npz`` (written by ``fit``) is what ``--resume`` reads.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        history.to_json(self.path)
        return False


def _as_options(config: dict[str, Any]) -> list[str]:
    """The command-line options that give ``config`` (e.g. ``--hidden 512 256``)."""
    argv = []
    for key in CONFIG_KEYS:
        option, value = "--" + key.replace("_", "-"), config[key]
        if value is True:
            argv.append(option)
        elif isinstance(value, list):
            argv += [option, *map(str, value)]
        elif isinstance(value, (str, int, float)) and value is not False:
            argv += [option, str(value)]
        elif value is not None and value is not False:
            raise ValueError(f"{key!r} has an unexpected value {value!r}")
    return argv


def _train_defaults() -> dict[str, Any]:
    return vars(build_parser().parse_args(["train", "--out", "."]))


def _typed_options(argv: Sequence[str]) -> set[str]:
    """The keys of train's saved options typed in ``argv``, whatever their values."""
    typed = vars(build_parser(defaults=False).parse_args(argv))
    return {key for key in CONFIG_KEYS if typed.get(key) is not None}


def _read_config(path: Path) -> dict[str, Any]:
    """A run's ``config.json``, checked by the parser that checks the command line.

    The keys every nnlib wrote (``RUN_KEYS``) must be there; an option added later
    gets its default. Errors name the file, and the key or option.
    """
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"{path} is not readable JSON ({err})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object, not {type(config).__name__}")
    missing = [key for key in RUN_KEYS if key not in config]
    if missing:
        raise ValueError(
            f"{path} has no {missing[0]!r} entry: put it back (see python -m nnlib "
            "train --help), or start again with another --out"
        )
    defaults = _train_defaults()
    config = {key: config.get(key, defaults[key]) for key in CONFIG_KEYS}
    try:
        argv = ["train", "--out", ".", *_as_options(config)]
        parsed = vars(build_parser().parse_args(argv))
    except (UsageError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from None
    return {key: parsed[key] for key in CONFIG_KEYS}


def _resume(args: argparse.Namespace, out: Path) -> tuple[dict[str, Any], History]:
    """The saved run's options (``--epochs`` and ``--data`` may change) and history."""
    if not (out / "config.json").exists() or not (out / CHECKPOINT).exists():
        raise UsageError(
            f"--resume: no checkpoint in {out} (run train without --resume first)"
        )
    config = _read_config(out / "config.json")
    try:
        history = read_history(out / CHECKPOINT)
    except ValueError as err:
        raise ValueError(
            f"{err}; start again with another --out (best.npz in {out} holds the "
            "best model so far)"
        ) from None
    # An option typed with another value than the run's is ignored: say so, also
    # when that value is the default (--hidden 512 256 on a run of --hidden 32).
    ignored = [
        "--" + key.replace("_", "-")
        for key in CONFIG_KEYS
        if key not in ("epochs", "data")
        and key in args.typed_options
        and getattr(args, key) != config[key]
    ]
    if ignored:
        print(
            f"note: --resume continues {out} with its saved options; ignoring "
            f"{', '.join(ignored)}",
            file=sys.stderr,
        )
    if args.epochs is not None:
        if history.stopped_early and args.epochs > len(history):
            last, best = history.epoch[-1], history.best_epoch("val_loss")
            raise UsageError(
                f"{out} stopped early after epoch {last} (no val-loss improvement "
                f"since epoch {best} for --patience {config['patience']} epochs): "
                "nothing to resume"
            )
        config["epochs"] = args.epochs
    if args.data is not None:  # the same data, found elsewhere
        config["data"] = args.data
    return config, history


def _resume_message(out: Path, history: History, epochs: int) -> str:
    last, remaining = history.epoch[-1], epochs - len(history)
    if history.stopped_early or remaining < 1:
        return f"{out}: training ended after epoch {last}; writing what is missing"
    return f"Resuming {out} after epoch {last} for {remaining} more epoch(s)"


# ----------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    out = Path(args.out)
    config_path = out / "config.json"
    if args.resume:
        config, history = _resume(args, out)
    else:
        if (out / CHECKPOINT).exists():
            raise UsageError(
                f"{out} already holds a run: "
                "use --resume to continue it or another --out"
            )
        config = {k: getattr(args, k) for k in CONFIG_KEYS}
        config["epochs"] = args.epochs if args.epochs is not None else DEFAULT_EPOCHS
        history = None
    for key in ("split", "data", "limit", "val_fraction", "seed"):
        setattr(args, key, config[key])

    dataset = _load(args, train=True, test=True)
    x_train, y_train, x_val, y_val = _train_val(args, dataset)
    optimizer = _optimizer(config, n_train=len(x_train))
    # A resumed run rebuilds the same model (same seed); fit then loads the checkpoint.
    model = mlp(
        28 * 28,
        config["hidden"],
        dataset.n_classes,
        activation=config["activation"],
        dropout=config["dropout"],
        rng=config["seed"],
    )
    if history is not None:
        print(_resume_message(out, history, config["epochs"]))
    else:
        out.mkdir(parents=True, exist_ok=True)
    _save_json(config_path, config)  # on --resume: with the (new) number of epochs
    print(model.summary())
    callbacks = [
        EarlyStopping("val_loss", patience=config["patience"]),
        ModelCheckpoint(out / "best.npz", monitor="val_loss"),
        _HistoryFile(out / "history.json"),
    ]
    try:
        # With checkpoint=, epochs is the run's total: fit resumes from the file if it
        # exists (and returns at once for a run whose training ended), and writes the
        # whole state there after every epoch (nnlib.checkpoint).
        history = fit(
            model,
            SoftmaxCrossEntropy(),
            optimizer,
            x_train,
            y_train,
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            validation_data=(x_val, y_val),
            rng=config["seed"],
            callbacks=callbacks,
            progress=not args.no_progress,
            checkpoint=out / CHECKPOINT,
        )
    except KeyboardInterrupt:
        if (out / CHECKPOINT).exists():
            print(
                f"\nInterrupted. The last complete epoch is saved in {out}; "
                "continue with:\n"
                f"  python -m nnlib train --out {out} --resume",
                file=sys.stderr,
            )
        else:
            print(
                "\nInterrupted during the first epoch: nothing to resume.",
                file=sys.stderr,
            )
        return 130
    # best.npz holds the best epoch's weights, also when that epoch came before a
    # --resume (EarlyStopping can only restore weights it saw in this process).
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
    written = [out / "model.npz", out / "history.json", paths["metrics"]]
    print(f"Wrote {', '.join(shown_path(p) for p in written)}")
    print(_summary(dataset.y_test, y_pred, dataset.mapping, paths["html"]))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    _check_regular_file(args.model, "--model")
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
        print(f"Wrote {shown_path(paths['metrics'])}")
    print(
        _summary(y_test, y_pred, dataset.mapping, paths["html"] if args.out else None)
    )
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
EXPECTED_ERRORS = (
    FileNotFoundError,
    ValueError,
    TypeError,
    OSError,
    MemoryError,
    RunDirectoryBusy,
)


def _error_line(err: Exception) -> str:
    """The one line that ``main`` prints for an error."""
    reason = " ".join(str(err).split())  # one line, whatever the message's layout
    if isinstance(err, FloatingPointError):
        return f"training diverged: {reason} (try a smaller --lr)"
    if isinstance(err, MemoryError):
        return (
            f"out of memory ({reason or 'MemoryError'}): try a smaller --hidden, "
            "--batch-size or --limit"
        )
    if isinstance(err, EXPECTED_ERRORS):
        return reason
    return (
        f"unexpected {type(err).__name__}: {reason} (probably a bug in nnlib; rerun "
        f"with {TRACEBACK_ENV}=1 to see the traceback)"
    )


def _run_lock(
    args: argparse.Namespace, argv: Sequence[str]
) -> contextlib.AbstractContextManager[Any]:
    """The lock of ``--out`` (see ``nnlib.runlock``), held while the command runs.

    Every command that writes into ``--out`` holds it, so no two processes write into
    one directory. ``train --resume`` on a missing directory takes none: there is
    nothing to protect, and the resume code says what is wrong.
    """
    out = getattr(args, "out", None)
    if out is not None and not out.strip():  # "" would mean the current directory
        raise UsageError("--out: must name a directory, got an empty string")
    if out is None or (getattr(args, "resume", False) and not Path(out).is_dir()):
        return contextlib.nullcontext()
    if Path(out).exists() and not Path(out).is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    return RunLock(out, command=f"python -m nnlib {shlex.join(argv)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0 success, 1 error, 2 usage, 130 interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
        args.typed_options = _typed_options(argv)  # for train --resume
        with _run_lock(args, argv):
            _prepare_out(args)
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
