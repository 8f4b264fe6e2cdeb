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
reason (missing data: followed by the ways to get EMNIST, one per line) and a non-zero
exit status, never a traceback: 2 for a bad command line (an ``--out`` holding files
the command would not write included), 130 for Ctrl-C, 1 otherwise (a directory in use
by another process included). An unexpected error (a bug) is also reported in one line;
set the environment variable ``NNLIB_TRACEBACK=1`` to see its full traceback instead.

The package, one idea per module, each importing only those above it in this list:

``parser``    ``build_parser``: the commands, their options and value types
``rundir``    what ``--out`` may hold before a command writes there; its lock
``resume``    a run's ``config.json`` read back and checked, for ``--resume``
``dataset``   the EMNIST data a command loads and splits, checked first
``evaluate``  ``evaluate``, and the summary that ``train`` ends with too
``train``     ``train``: a run trained into its directory, or continued
``tune``      ``tune``: the search space of the options, a Dask client
this file     ``main``: runs a command, turns its errors into exit statuses
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..runlock import RunDirectoryBusy
from .evaluate import cmd_evaluate
from .parser import UsageError, build_parser
from .resume import typed_options
from .rundir import prepare_out, run_lock
from .train import cmd_train
from .tune import cmd_tune

__all__ = ["UsageError", "build_parser", "main"]

TRACEBACK_ENV = (
    "NNLIB_TRACEBACK"  # set to 1 to see the traceback of an unexpected error
)


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
    """The line that ``main`` prints for an error; for missing data, with the lines
    that follow it (the numbered ways to get EMNIST)."""
    if isinstance(err, FileNotFoundError):
        return "\n".join(line.rstrip() for line in str(err).strip().splitlines())
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0 success, 1 error, 2 usage, 130 interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
        args.typed_options = typed_options(argv)  # for train --resume
        with run_lock(args, argv):
            prepare_out(args)
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
