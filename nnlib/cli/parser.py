"""The command line's parser: its three commands, their options and the value types.

``build_parser`` is the one place that says what ``train``, ``evaluate`` and ``tune``
accept, with their help texts and defaults. A value that does not fit (a negative
learning rate, ``--dropout 1``) fails while parsing, with one line naming the option:
``_Parser`` raises ``UsageError`` instead of printing the usage and exiting. Which of
train's options a run saves in its ``config.json`` (``RUN_KEYS``, ``CONFIG_KEYS``) is
said here too: they are options of this parser, and ``config_options`` turns a saved
config back into them (for ``--resume``, and the command in a run's report).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from .. import data, tuning
from ..report import reproduce_command
from ..schedules import SCHEDULE_NAMES
from ..tuning import OPTIMIZER_NAMES

DEFAULT_EPOCHS = 30

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


class UsageError(Exception):
    """A problem with the command line that the user can fix."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _number(text: str, ok: Callable[[float], bool], expected: str) -> float:
    """``text`` as a float if it is a finite number for which ``ok`` holds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan  # not a number: fails the check below, with the same message
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"must be {expected}, got {text}")
    return value


def _positive_float(text: str) -> float:
    return _number(text, lambda v: v > 0, "a positive number")


def _non_negative_float(text: str) -> float:
    return _number(text, lambda v: v >= 0, "a number >= 0")


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


def _n_jobs(text: str) -> int:
    """``tune --n-jobs``: a number of processes >= 1, or -1 for one per core."""
    try:
        value = int(text)
    except ValueError:
        value = 0  # not an integer: fails the check below, with the same message
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(
            f"must be an integer >= 1, or -1 (all cores), got {text}"
        )
    return value


def _seed(text: str) -> int:
    """Seeds of ``np.random.default_rng`` must be >= 0: checked while parsing, not after
    loading the data."""
    return _int_at_least(text, 0)


def _probability(text: str) -> float:
    return _number(text, lambda v: 0 <= v < 1, "in [0, 1)")


def _out_dir(text: str) -> str:
    """``--out``: a directory name (an empty one would mean the current directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a directory, got an empty string")
    return text


def _open_fraction(text: str) -> float:
    """A share strictly between 0 and 1, such as ``--val-fraction``."""
    return _number(text, lambda v: 0 < v < 1, "in (0, 1)")


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
        "--val-fraction",
        type=_open_fraction,
        default=0.1,
        help="stratified share of training data held out for validation (default: 0.1)",
    )
    tune.add_argument(
        "--n-jobs",
        type=_n_jobs,
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


def config_options(config: Mapping[str, Any]) -> list[str]:
    """The options of ``train`` that give ``config`` (e.g. ``--hidden 512 256``).

    ``config`` maps options of train (``CONFIG_KEYS``) to values; None gives no option.
    """
    argv = []
    for key, value in config.items():
        option = "--" + key.replace("_", "-")
        if value is True:
            argv.append(option)
        elif isinstance(value, list | tuple):
            argv += [option, *map(str, value)]
        elif isinstance(value, str | int | float) and value is not False:
            argv += [option, str(value)]
        elif value is not None and value is not False:
            raise ValueError(f"{key!r} has an unexpected value {value!r}")
    return argv


def train_command(config: Mapping[str, Any]) -> str:
    """The command that repeats a run of ``config``, shown in its report.

    ``python -m nnlib train`` with every saved option (``CONFIG_KEYS``) but ``--data``,
    a path on the machine that ran it (the report names the archive and its SHA-256
    instead): ``nnlib.report.reproduce_command``, whose ``TRAIN_OPTIONS`` are these
    options (tested). Parsing the command gives back ``config``, ``data`` aside.
    """
    command = reproduce_command(config)
    assert command is not None  # config holds every option of train
    return command
