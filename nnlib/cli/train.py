"""``train``: an MLP trained on EMNIST into a run directory, or a run continued there.

A run directory holds ``config.json`` (the options), ``checkpoint.npz`` (everything
``--resume`` needs, rewritten after every epoch), ``best.npz``, ``history.json`` and,
when training ends, ``model.npz``, ``metrics.json`` and ``report.html``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from .. import report
from .._files import atomic_write_text, shown_path
from ..callbacks import Callback, EarlyStopping, ModelCheckpoint
from ..history import History
from ..losses import SoftmaxCrossEntropy
from ..model import Sequential, mlp
from ..optimizers import Optimizer
from ..schedules import make_schedule
from ..training import fit
from ..tuning import make_optimizer
from .dataset import load_dataset, split_train_val
from .evaluate import summary
from .parser import CONFIG_KEYS, DEFAULT_EPOCHS, UsageError, train_command
from .resume import resume_message, resume_run
from .rundir import CHECKPOINT


class _HistoryFile(Callback):
    """After every epoch, write ``history.json``: a readable copy of the history.

    ``checkpoint.npz`` (written by ``fit``) is what ``--resume`` reads.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        history.to_json(self.path)
        return False


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


def cmd_train(args: argparse.Namespace) -> int:
    out = Path(args.out)
    config_path = out / "config.json"
    if args.resume:
        config, history = resume_run(args, out)
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

    dataset = load_dataset(args, train=True, test=True)
    x_train, y_train, x_val, y_val = split_train_val(args, dataset)
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
        print(resume_message(out, history, config["epochs"]))
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
        command=train_command(config),
    )
    written = [out / "model.npz", out / "history.json", paths["metrics"]]
    print(f"Wrote {', '.join(shown_path(p) for p in written)}")
    print(summary(dataset.y_test, y_pred, dataset.mapping, paths["html"]))
    return 0
