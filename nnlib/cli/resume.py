"""Resuming a run: its ``config.json`` read back and checked, and what --resume says.

``train`` saves its options in ``config.json`` (``CONFIG_KEYS``). ``--resume`` reads
them back through the same parser that checks the command line (``read_config``), so
a hand-edited config is checked as typed options are; it keeps the saved options over
typed ones (``typed_options`` tells which were typed, to say which are ignored), and
takes only ``--epochs`` (no fewer than the epochs already run) and ``--data`` anew.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..checkpoint import read_history
from ..history import History
from .parser import CONFIG_KEYS, RUN_KEYS, UsageError, build_parser, config_options
from .rundir import CHECKPOINT


def _train_defaults() -> dict[str, Any]:
    return vars(build_parser().parse_args(["train", "--out", "."]))


def typed_options(argv: Sequence[str]) -> set[str]:
    """The keys of train's saved options typed in ``argv``, whatever their values."""
    typed = vars(build_parser(defaults=False).parse_args(argv))
    return {key for key in CONFIG_KEYS if typed.get(key) is not None}


def read_config(path: Path) -> dict[str, Any]:
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
        argv = ["train", "--out", ".", *config_options(config)]
        parsed = vars(build_parser().parse_args(argv))
    except (UsageError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from None
    return {key: parsed[key] for key in CONFIG_KEYS}


def resume_run(args: argparse.Namespace, out: Path) -> tuple[dict[str, Any], History]:
    """The saved run's options (``--epochs`` and ``--data`` may change) and history."""
    if not (out / "config.json").exists() or not (out / CHECKPOINT).exists():
        raise UsageError(
            f"--resume: no checkpoint in {out} (run train without --resume first)"
        )
    config = read_config(out / "config.json")
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
        if args.epochs < len(history):  # config.json would disagree with the history
            raise UsageError(
                f"--epochs {args.epochs} is fewer than the {len(history)} epochs "
                f"{out} has already run: give --epochs {len(history)} or more, or "
                "leave it out"
            )
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


def resume_message(out: Path, history: History, epochs: int) -> str:
    last, remaining = history.epoch[-1], epochs - len(history)
    if history.stopped_early or remaining < 1:
        return f"{out}: training ended after epoch {last}; writing what is missing"
    return f"Resuming {out} after epoch {last} for {remaining} more epoch(s)"
