"""``evaluate``: a saved model on a split's test set, and the summary that ends it.

``summary`` is the block that ``evaluate`` prints last; ``train`` ends with the same
block for the model it trained.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .. import metrics, report
from .._files import shown_path
from ..model import Sequential
from .dataset import load_dataset
from .parser import UsageError


def _check_regular_file(path: str, option: str) -> None:
    """Refuse a path that is not a regular file before opening it.

    Opening a named pipe waits for a writer, forever; a directory or a device is no
    model either.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{option} {path}: no such file")
    if not os.path.isfile(path):
        raise ValueError(f"{option} {path} is not a regular file")


def summary(
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    _check_regular_file(args.model, "--model")
    model = Sequential.load(args.model)
    dataset = load_dataset(args, train=False, test=True)
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
    print(summary(y_test, y_pred, dataset.mapping, paths["html"] if args.out else None))
    return 0
