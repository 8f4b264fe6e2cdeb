"""The EMNIST data a command works on: loaded, and split for training and validation.

Both fail before any training starts, with a reason the user can act on: a split
whose needed part is empty (``load_dataset``), or a validation split that leaves
training or validation without images (``split_train_val``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .. import data
from .parser import UsageError


def load_dataset(args: argparse.Namespace, *, train: bool, test: bool) -> data.EMNIST:
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


def split_train_val(
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
