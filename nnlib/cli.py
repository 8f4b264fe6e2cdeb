"""Command line: ``python -m nnlib train | evaluate | tune``.

Examples::

    python -m nnlib train --split balanced --hidden 512 256 --dropout 0.2 --optimizer adam \\
        --lr 1e-3 --batch-size 128 --epochs 30 --out runs/balanced
    python -m nnlib train --out runs/balanced --epochs 30 --resume     # continue after an interrupt
    python -m nnlib evaluate --model runs/balanced/model.npz --split balanced --out runs/eval
    python -m nnlib tune --split balanced --lr 3e-4 1e-3 3e-3 --optimizer sgd momentum adam \\
        --epochs 5 --n-jobs 2 --out runs/tune

Errors (bad arguments, missing data) end the program with a one-line reason and a non-zero exit
status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import data, metrics, report
from ._files import atomic_write, atomic_write_text
from .callbacks import Callback, EarlyStopping, ModelCheckpoint
from .history import History
from .losses import SoftmaxCrossEntropy
from .model import Sequential, mlp
from .optimizers import Optimizer
from .training import fit
from .tuning import OPTIMIZER_NAMES, grid_search, make_optimizer, random_search


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


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


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
        raise argparse.ArgumentTypeError(f"must be comma-separated widths like 512,256, got {text}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"widths must be >= 1, got {text}")
    return widths


def _add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--split", default="balanced", choices=data.SPLITS, help="EMNIST split (default: balanced)")
    p.add_argument("--data", metavar="PATH", help="EMNIST gzip.zip to read (default: NNLIB_EMNIST_PATH, the "
                   "emnist cache ~/.cache/emnist/emnist.zip, ../shared/data/emnist/emnist.zip, or a download)")
    p.add_argument("--no-download", action="store_true", help="never download EMNIST; fail if it is missing")
    p.add_argument("--limit", type=_positive_int, metavar="N",
                   help="use only the first N training images (quick experiments)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m nnlib", description="Train, evaluate and tune nnlib models on EMNIST.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a model and write model, history and report",
                                description="Train an MLP on EMNIST with validation, early stopping and "
                                "checkpoints; write model.npz, history.json, report.html and metrics.json.")
    _add_data_options(train)
    train.add_argument("--hidden", type=_positive_int, nargs="+", default=[512, 256], metavar="WIDTH",
                       help="hidden layer widths (default: 512 256)")
    train.add_argument("--activation", default="relu", choices=["relu", "leaky_relu", "sigmoid", "tanh"],
                       help="hidden activation (default: relu)")
    train.add_argument("--dropout", type=_probability, default=0.2, help="dropout after each hidden layer "
                       "(default: 0.2)")
    train.add_argument("--optimizer", default="adam", choices=OPTIMIZER_NAMES, help="default: adam")
    train.add_argument("--lr", type=_positive_float, default=1e-3, help="learning rate (default: 1e-3)")
    train.add_argument("--batch-size", type=_positive_int, default=128, help="default: 128")
    train.add_argument("--epochs", type=_positive_int, default=30, help="maximum number of epochs (default: 30)")
    train.add_argument("--patience", type=_positive_int, default=5,
                       help="early stopping: epochs without val-loss improvement (default: 5)")
    train.add_argument("--val-fraction", type=_probability, default=0.1,
                       help="stratified share of training data held out for validation (default: 0.1)")
    train.add_argument("--seed", type=int, default=0, help="seed for weights, dropout and shuffling")
    train.add_argument("--out", required=True, metavar="DIR", help="output directory, e.g. runs/NAME")
    train.add_argument("--resume", action="store_true",
                       help="continue from the last checkpoint in --out (other options come from its config)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    evaluate = commands.add_parser("evaluate", help="evaluate a saved model on the test set",
                                   description="Evaluate a saved model on a split's test set; print the "
                                   "classification report and optionally write report.html/metrics.json.")
    _add_data_options(evaluate)
    evaluate.add_argument("--model", required=True, metavar="FILE", help="model .npz written by train")
    evaluate.add_argument("--out", metavar="DIR", help="write report.html and metrics.json here")

    tune = commands.add_parser("tune", help="grid or random search over hyperparameters",
                               description="Search hyperparameters on a validation split; print the "
                               "sorted results and write results.json and tuning.png to --out.")
    _add_data_options(tune)
    tune.add_argument("--search", choices=["grid", "random"], default="grid", help="default: grid")
    tune.add_argument("--trials", type=_positive_int, default=8, help="random search: number of trials")
    tune.add_argument("--lr", type=_positive_float, nargs="+", default=[1e-3], help="learning rates to try")
    tune.add_argument("--batch-size", type=_positive_int, nargs="+", default=[128], help="batch sizes")
    tune.add_argument("--optimizer", choices=OPTIMIZER_NAMES, nargs="+", default=["adam"], help="optimizers")
    tune.add_argument("--dropout", type=_probability, nargs="+", default=[0.0], help="dropout rates")
    tune.add_argument("--hidden", type=_architecture, nargs="+", default=[(128,)], metavar="W1,W2",
                      help="architectures, e.g. 128 256,128")
    tune.add_argument("--epochs", type=_positive_int, default=5, help="epochs per trial (default: 5)")
    tune.add_argument("--val-fraction", type=_probability, default=0.1, help="validation share")
    tune.add_argument("--n-jobs", type=int, default=1, help="trials in parallel (joblib; -1: all cores)")
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--out", metavar="DIR", help="write results.json and tuning.png here")
    return parser


# ---------------------------------------------------------------------------------------- helpers
def _load(args: argparse.Namespace) -> data.EMNIST:
    dataset = data.load_emnist(args.split, path=args.data, download=not args.no_download)
    return dataset


def _train_val(args: argparse.Namespace, dataset: data.EMNIST) -> tuple[np.ndarray, ...]:
    x, y = dataset.x_train, dataset.y_train
    if args.limit is not None:
        x, y = x[: args.limit], y[: args.limit]
    return data.train_val_split(x, y, val_fraction=args.val_fraction, rng=args.seed)


def _save_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, default=str))


class ResumeCheckpoint(Callback):
    """After every epoch: the model, the optimizer's state and the history, for ``--resume``.

    Each file is replaced atomically, and the optimizer file records the epoch it belongs to, so
    a run interrupted at any moment resumes from the last complete epoch.
    """

    def __init__(self, out: Path, optimizer: Optimizer) -> None:
        self.out, self.optimizer = out, optimizer

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        model.save(self.out / "checkpoint.npz")
        atomic_write(self.out / "checkpoint_optimizer.npz",
                     lambda f: np.savez(f, epoch=np.array(epoch), **self.optimizer.state_dict()))
        atomic_write_text(self.out / "history.json", history.to_json())
        return False


# ---------------------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    out = Path(args.out)
    config_path = out / "config.json"
    if args.resume:
        if not config_path.exists() or not (out / "checkpoint.npz").exists():
            raise UsageError(f"--resume: no checkpoint in {out} (run train without --resume first)")
        config = json.loads(config_path.read_text())
        config["epochs"] = args.epochs
    else:
        if (out / "checkpoint.npz").exists():
            raise UsageError(f"{out} already holds a run: use --resume to continue it or another --out")
        config = {k: getattr(args, k) for k in ("split", "data", "limit", "hidden", "activation", "dropout",
                                                 "optimizer", "lr", "batch_size", "epochs", "patience",
                                                 "val_fraction", "seed")}
    for key in ("split", "data", "limit", "val_fraction", "seed"):
        setattr(args, key, config[key])

    dataset = _load(args)
    x_train, y_train, x_val, y_val = _train_val(args, dataset)
    optimizer = make_optimizer(config["optimizer"], config["lr"])
    if args.resume:
        model = Sequential.load(out / "checkpoint.npz")
        history = History.from_json((out / "history.json").read_text())
        with np.load(out / "checkpoint_optimizer.npz", allow_pickle=False) as f:
            state = {k: f[k] for k in f.files}
        if int(state.pop("epoch")) != history.epoch[-1]:
            raise UsageError(f"{out}: checkpoint files are from different epochs; cannot resume")
        optimizer.load_state_dict(state)
        remaining = config["epochs"] - len(history)
        if remaining < 1:
            raise UsageError(f"{out} already trained {len(history)} epochs; pass a larger --epochs to continue")
        print(f"Resuming {out} after epoch {history.epoch[-1]} for {remaining} more epoch(s)")
    else:
        out.mkdir(parents=True, exist_ok=True)
        _save_json(config_path, config)
        model = mlp(28 * 28, config["hidden"], dataset.n_classes, activation=config["activation"],
                    dropout=config["dropout"], rng=config["seed"])
        history, remaining = None, config["epochs"]
    print(model.summary())
    callbacks = [EarlyStopping("val_loss", patience=config["patience"]),
                 ModelCheckpoint(out / "best.npz", monitor="val_loss"),
                 ResumeCheckpoint(out, optimizer)]
    try:
        history = fit(model, SoftmaxCrossEntropy(), optimizer, x_train, y_train, epochs=remaining,
                      batch_size=config["batch_size"], validation_data=(x_val, y_val),
                      rng=config["seed"] + (len(history) if history else 0), callbacks=callbacks,
                      progress=not args.no_progress, history=history)
    except KeyboardInterrupt:
        print(f"\nInterrupted. The last complete epoch is saved in {out}; continue with:\n"
              f"  python -m nnlib train --out {out} --epochs {config['epochs']} --resume", file=sys.stderr)
        return 130
    model.save(out / "model.npz")
    atomic_write_text(out / "history.json", history.to_json())
    y_pred = model.predict(dataset.x_test)
    paths = report.write_report(out, model=model, history=history, y_true=dataset.y_test, y_pred=y_pred,
                                mapping=dataset.mapping, hyperparameters=config, source=dataset.source,
                                x_test=dataset.x_test, title=f"EMNIST {dataset.split}: training report")
    print(f"Test accuracy {metrics.accuracy(dataset.y_test, y_pred):.4f} on {len(y_pred):,} images")
    print(f"Wrote {out / 'model.npz'}, {out / 'history.json'}, {paths['html']}, {paths['metrics']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = Sequential.load(args.model)
    dataset = _load(args)
    n_outputs = model.layers[-1].output_shape((0,))[-1]
    if n_outputs != dataset.n_classes:
        raise UsageError(f"{args.model} has {n_outputs} outputs but EMNIST {args.split} has "
                         f"{dataset.n_classes} classes: evaluate it on the split it was trained on")
    y_pred = model.predict(dataset.x_test)
    names = [dataset.mapping[k] for k in sorted(dataset.mapping)]
    n_classes = dataset.n_classes
    if len(names) != n_classes:
        names = [dataset.mapping.get(k, str(k)) for k in range(n_classes)]
    print(metrics.classification_report(dataset.y_test, y_pred, target_names=names, n_classes=n_classes))
    if args.out:
        paths = report.write_report(args.out, model=model, history=None, y_true=dataset.y_test,
                                    y_pred=y_pred, mapping=dataset.mapping,
                                    hyperparameters={"model": str(args.model)}, source=dataset.source,
                                    x_test=dataset.x_test, title=f"EMNIST {dataset.split}: evaluation")
        print(f"Wrote {paths['html']} and {paths['metrics']}")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    dataset = _load(args)
    x_train, y_train, x_val, y_val = _train_val(args, dataset)
    space: dict[str, Any] = {"lr": args.lr, "batch_size": args.batch_size, "optimizer": args.optimizer,
                             "dropout": args.dropout, "hidden": args.hidden}
    common = {"epochs": args.epochs, "n_jobs": args.n_jobs, "seed": args.seed}
    if args.search == "grid":
        results = grid_search(space, (x_train, y_train), (x_val, y_val), **common)
    else:
        results = random_search(space, (x_train, y_train), (x_val, y_val), n_trials=args.trials, **common)
    print(results.table())
    if args.out:
        from . import plots

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(results.to_json())
        plots.plot_tuning_results(results).savefig(out / "tuning.png", dpi=100, bbox_inches="tight")
        print(f"Wrote {out / 'results.json'} and {out / 'tuning.png'}")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "tune": cmd_tune}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 success, 1 error, 2 usage, 130 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, TypeError, OSError) as err:
        reason = " ".join(str(err).split())  # one line, whatever the message's layout
        print(f"error: {reason}", file=sys.stderr)
        return 1
