"""Hyperparameter search: grid and random search on a validation split, in parallel.

Each *trial* builds a fresh model from a dict of hyperparameters, trains it with ``fit``
and records its best validation accuracy. Trials are independent, so they run in
parallel: on this machine through joblib (``n_jobs`` worker processes), or on a Dask
cluster by passing a client (``pip install "dask[distributed]"``)::

    with dask_client("tcp://scheduler:8786") as client:   # or dask_client("local")
        results = grid_search(space, train, val, epochs=10, client=client)

On Dask the data goes to every worker once per search, and each trial's task carries
only its configuration. The results equal joblib's, bit for bit, for the same seed.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from joblib import Parallel, delayed

from ._files import atomic_write_text
from .activations import ACTIVATIONS
from .callbacks import EarlyStopping
from .losses import SoftmaxCrossEntropy
from .model import mlp
from .optimizers import SGD, Adam, Optimizer, RMSProp
from .schedules import make_schedule
from .training import fit

if TYPE_CHECKING:
    from distributed import Client

#: Hyperparameters a trial understands, and their values when a search leaves one out.
DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "batch_size": 128,
    "optimizer": "adam",
    "dropout": 0.0,
    "hidden": (128,),
    "activation": "relu",
    "weight_decay": 0.0,
    "schedule": "constant",
}
OPTIMIZER_NAMES = ("sgd", "momentum", "rmsprop", "adam")
#: Seconds to wait for a remote Dask scheduler (and its first worker) before giving up.
CONNECT_TIMEOUT = 5.0


def make_optimizer(name: str, lr: float, **options: Any) -> Optimizer:
    """``"sgd"``, ``"momentum"`` (SGD with momentum 0.9), ``"rmsprop"`` or ``"adam"``.

    ``options`` go to the optimizer, e.g. ``weight_decay=`` and ``schedule=``.
    """
    if name == "sgd":
        return SGD(lr, **options)
    if name == "momentum":
        return SGD(lr, momentum=0.9, **options)
    if name == "rmsprop":
        return RMSProp(lr, **options)
    if name == "adam":
        return Adam(lr, **options)
    raise ValueError(f"optimizer must be one of {OPTIMIZER_NAMES}, got {name!r}")


@dataclass(frozen=True)
class LogUniform:
    """A random-search distribution: ``exp(U(log low, log high))`` (learning rates)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 < self.low < self.high:
            raise ValueError(
                f"LogUniform needs 0 < low < high, got low={self.low}, high={self.high}"
            )

    def sample(self, rng: np.random.Generator) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass
class Trial:
    """One trained configuration and how well it did on the validation split."""

    params: dict[str, Any]
    val_accuracy: float
    val_loss: float
    best_epoch: int
    epochs_run: int
    seconds: float
    history: dict[str, Any] = field(repr=False)
    diverged: bool = False


def run_trial(
    params: Mapping[str, Any],
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    seed: int = 0,
    patience: int | None = None,
) -> Trial:
    """Train one configuration (``DEFAULTS`` filled in); score its validation accuracy.

    A configuration whose loss becomes NaN or inf is recorded as ``diverged`` (accuracy
    0). ``schedule`` is a name of ``nnlib.schedules.make_schedule`` (``"constant"``,
    ``"step"``, ``"cosine"``), spread over the trial's ``epochs``.
    """
    p = check_config(params, epochs)
    x_train, y_train = train
    steps_per_epoch = math.ceil(len(y_train) / int(p["batch_size"]))
    optimizer = make_optimizer(
        p["optimizer"],
        p["lr"],
        weight_decay=p["weight_decay"],
        schedule=make_schedule(p["schedule"], epochs, steps_per_epoch),
    )
    n_in = int(np.prod(x_train.shape[1:]))
    n_classes = int(max(y_train.max(), val[1].max())) + 1
    model = mlp(
        n_in,
        list(p["hidden"]),
        n_classes,
        activation=p["activation"],
        dropout=p["dropout"],
        rng=seed,
    )
    callbacks = (
        [EarlyStopping("val_accuracy", patience=patience)]
        if patience is not None
        else []
    )
    start = time.perf_counter()
    try:
        # A diverging trial overflows on its way to the error below: that is its
        # result, not news worth a screen of RuntimeWarnings (fit checks the loss).
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = fit(
                model,
                SoftmaxCrossEntropy(),
                optimizer,
                x_train,
                y_train,
                epochs=epochs,
                batch_size=int(p["batch_size"]),
                validation_data=val,
                rng=seed,
                callbacks=callbacks,
                progress=False,
            )
    except FloatingPointError:
        # A learning rate too large makes the loss NaN: a (bad) result, not a reason to
        # lose every other trial of the search.
        return Trial(
            dict(params),
            0.0,
            math.inf,
            0,
            0,
            time.perf_counter() - start,
            {},
            diverged=True,
        )
    best = history.best_epoch("val_accuracy")
    i = history.epoch.index(best)
    return Trial(
        dict(params),
        history.val_accuracy[i],
        history.val_loss[i],
        best,
        len(history),
        time.perf_counter() - start,
        asdict(history),
    )


def check_config(params: Mapping[str, Any], epochs: int) -> dict[str, Any]:
    """``params`` with ``DEFAULTS`` filled in; ``ValueError`` for what cannot train.

    Called for every configuration before any trial starts, so that one bad value
    stops the search at once, not in a worker after other trials have run.
    """
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown hyperparameters {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    p = {**DEFAULTS, **params}
    hidden, dropout, activation = p["hidden"], p["dropout"], p["activation"]
    checks = [
        ("batch_size", "an integer >= 1", _is_positive_int(p["batch_size"])),
        (
            "hidden",
            "a list or tuple of layer widths >= 1, such as (128,) or [512, 256]",
            isinstance(hidden, list | tuple) and all(map(_is_positive_int, hidden)),
        ),
        (
            "dropout",
            "a number in [0, 1)",
            isinstance(dropout, int | float | np.integer | np.floating)
            and not isinstance(dropout, bool)
            and 0 <= dropout < 1,
        ),
        (
            "activation",
            f"one of {sorted(ACTIVATIONS)}",
            isinstance(activation, str) and activation in ACTIVATIONS,
        ),
    ]
    for key, expected, ok in checks:
        if not ok:
            raise ValueError(f"{key} must be {expected}, got {p[key]!r}")
    # Built once here to validate names and numbers (cheap: no parameters yet).
    make_optimizer(p["optimizer"], p["lr"], weight_decay=p["weight_decay"])
    make_schedule(p["schedule"], epochs, 1)
    return p


def _is_positive_int(value: Any) -> bool:
    """An integer >= 1, not a bool (which Python counts as an int)."""
    is_int = isinstance(value, int | np.integer) and not isinstance(value, bool)
    return is_int and bool(value >= 1)


def _rank(trial: Trial) -> tuple[bool, float, float]:
    """Sort key: higher accuracy first, then lower loss; diverged (or NaN) ones last."""
    failed = trial.diverged or math.isnan(trial.val_accuracy)
    loss = trial.val_loss if not math.isnan(trial.val_loss) else math.inf
    return failed, (0.0 if failed else -trial.val_accuracy), loss


@dataclass
class TuningResults:
    """All trials of a search, best first (diverged trials last)."""

    trials: list[Trial]

    def __post_init__(self) -> None:
        self.trials = sorted(self.trials, key=_rank)

    @property
    def best(self) -> Trial:
        return self.trials[0]

    def table(self, max_rows: int | None = None) -> str:
        """A text table of the trials sorted by validation accuracy (best first)."""
        keys = sorted({k for t in self.trials for k in t.params})
        header = [*keys, "val_acc", "val_loss", "best_epoch", "seconds"]
        rows = [
            [_fmt(t.params.get(k, DEFAULTS[k])) for k in keys]
            + [
                f"{t.val_accuracy:.4f}",
                f"{t.val_loss:.4f}",
                str(t.best_epoch),
                f"{t.seconds:.1f}",
            ]
            for t in self.trials[:max_rows]
        ]
        widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
        lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
        lines += [
            "  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows
        ]
        return "\n".join(lines)

    def to_json(self, path: str | Path | None = None) -> str:
        """The trials as strict JSON: a non-finite number (a diverged loss) is null.

        Also written to ``path`` if given, atomically (see ``nnlib._files``): an
        interrupted run never leaves a half-written file. Figures of the results are
        the caller's (``nnlib.plots.plot_tuning_results``): this module only computes.
        """
        trials = _finite_or_none([asdict(t) for t in self.trials])
        text = json.dumps(trials, indent=2, default=_json_default, allow_nan=False)
        if path is not None:
            atomic_write_text(path, text)
        return text


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (tuple, list)):
        return "-".join(map(str, value))
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return _finite_or_none(value.item())
    raise TypeError(f"cannot serialize {type(value).__name__}")


def _finite_or_none(value: Any) -> Any:
    """``value`` with each inf or NaN float (also in nested lists, dicts) set to None.

    JSON has no infinity or NaN: ``json.dumps`` would write ``Infinity``, which strict
    parsers (browsers, ``jq``, most languages) reject.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def check_space(space: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless each value of ``space`` is a non-empty list, a
    ``LogUniform``, or a mapping from each choice to a space of its own."""
    for key, values in space.items():
        if isinstance(values, LogUniform):
            continue
        if isinstance(values, Mapping):
            if not values:
                raise ValueError(f"{key!r} maps no choice to a space")
            for choice, sub in values.items():
                if not isinstance(sub, Mapping):
                    raise ValueError(
                        f"{key!r}: {choice!r} must map to a space (a dict), got {sub!r}"
                    )
                if set(sub) & set(space):
                    again = sorted(set(sub) & set(space))
                    raise ValueError(
                        f"{key!r}: the space of {choice!r} sets {again} again"
                    )
                check_space(sub)
        elif (
            isinstance(values, (str, bytes))
            or not isinstance(values, Sequence)
            or len(values) == 0
        ):
            raise ValueError(
                f"values for {key!r} must be a non-empty list, got {values!r}"
            )


def grid_configs(space: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the listed values.

    ``{"lr": [1e-3, 1e-2], "dropout": [0, 0.2]}`` gives 4 dicts. A value may also map
    each choice to a space of its own, searched only with that choice, e.g. each
    optimizer over its own learning rates::

        {"optimizer": {"sgd": {"lr": [0.03, 0.1]}, "adam": {"lr": [1e-3]}}}

    gives sgd at 0.03 and 0.1, and adam at 1e-3.
    """
    check_space(space)
    configs: list[dict[str, Any]] = [{}]
    for key, values in space.items():
        if isinstance(values, LogUniform):
            raise ValueError(
                f"grid values for {key!r} must be a non-empty list, got {values!r} "
                "(a distribution is for random_configs)"
            )
        if isinstance(values, Mapping):  # each choice with the grid of its own space
            options = [
                {key: choice, **sub}
                for choice, subspace in values.items()
                for sub in grid_configs(subspace)
            ]
        else:
            options = [{key: value} for value in values]
        configs = [{**config, **option} for config in configs for option in options]
    return configs


def random_configs(
    space: Mapping[str, Any], n_trials: int, *, seed: int = 0
) -> list[dict[str, Any]]:
    """``n_trials`` random configurations of ``space`` (see ``sample_config``).

    Each value of ``space`` is a list (one element drawn uniformly), a ``LogUniform``,
    or a mapping from each choice to a space of its own (a choice drawn uniformly, then
    its space), e.g. each optimizer with its own learning-rate range::

        {"optimizer": {"sgd": {"lr": LogUniform(1e-2, 0.3)},
                       "adam": {"lr": LogUniform(1e-4, 1e-2)}},
         "batch_size": [32, 64, 128, 256]}
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    check_space(space)
    rng = np.random.default_rng(seed)
    return [sample_config(space, rng) for _ in range(n_trials)]


def sample_config(space: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """One random configuration of ``space``, drawn with ``rng``."""
    config: dict[str, Any] = {}
    for key, values in space.items():
        if isinstance(values, LogUniform):
            config[key] = values.sample(rng)
        elif isinstance(values, Mapping):  # a choice, then a draw from its own space
            choice = list(values)[int(rng.integers(len(values)))]
            config |= {key: choice, **sample_config(values[choice], rng)}
        else:
            config[key] = values[int(rng.integers(len(values)))]
    return config


def run_search(
    configs: Sequence[Mapping[str, Any]],
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    n_jobs: int = 1,
    seed: int = 0,
    patience: int | None = None,
    client: Client | None = None,
) -> TuningResults:
    """Run every configuration as an independent trial; return them ranked.

    Locally, joblib runs ``n_jobs`` trials at a time in worker processes. With a Dask
    ``client`` (see ``dask_client``) the trials run on its cluster instead, as many at a
    time as its workers have threads (``n_jobs`` is not used).

    A trial gives the same bits wherever it runs if it uses as many BLAS threads: one
    in Dask's workers, (number of cores) // ``n_jobs`` in joblib's, all in this process
    for ``n_jobs=1``. (Threads may split the sums of a matrix product differently.)
    """
    for config in configs:  # fail fast, before any worker starts
        check_config(config, epochs)
    for name, (x, y) in (("train", train), ("val", val)):
        if len(x) == 0 or len(y) == 0:
            raise ValueError(
                f"{name} holds no samples: every trial trains on train and is scored "
                f"on val, so both need some"
            )
    options = {"epochs": epochs, "seed": seed, "patience": patience}
    if client is None:
        trials = Parallel(n_jobs=n_jobs)(
            delayed(run_trial)(config, train, val, **options) for config in configs
        )
        return TuningResults(list(trials))
    from distributed import wait

    # The data goes to every worker once: a task then names it by key (a few dozen
    # bytes) instead of carrying it (megabytes). hash=False: new keys for each search;
    # content-hashed ones would be shared with a search whose copies are being freed.
    data = client.scatter([train, val], broadcast=True, hash=False)
    futures = [
        client.submit(run_trial, config, *data, pure=False, **options)
        for config in configs
    ]
    try:
        wait(futures)  # a Ctrl-C here interrupts cleanly; inside gather it leaves noise
        return TuningResults(client.gather(futures))
    finally:  # also on Ctrl-C: stop the trials still running, free the workers' copies
        client.cancel([*futures, *data])


@contextmanager
def dask_client(
    scheduler: str, *, n_workers: int = 2, timeout: float = CONNECT_TIMEOUT
) -> Iterator[Client]:
    """A Dask client for ``run_search(..., client=...)``, closed on exit (also Ctrl-C).

    Parameters
    ----------
    scheduler : the address of a running scheduler (``"tcp://host:8786"``, started
        with ``dask scheduler``), or ``"local"``: start a cluster of ``n_workers``
        processes on this machine, one thread each, and shut it down on exit.
    n_workers : worker processes of a ``"local"`` cluster.
    timeout : seconds to wait for a remote scheduler and its first worker.

    Raises
    ------
    ModuleNotFoundError
        if Dask is not installed.
    ConnectionError
        if the scheduler cannot be reached, or has no worker, within ``timeout``.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:
        raise ModuleNotFoundError(
            'running trials on Dask needs Dask: pip install "dask[distributed]"'
        ) from err
    if scheduler == "local":
        if n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers}")
        # One thread per worker: a trial is Python code that holds the GIL. The web
        # server on any free local port: the usual 8787 may belong to another cluster.
        with _workers_ignore_ctrl_c():
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",
                # Warnings such as "task cancelled" on Ctrl-C are no news to the user.
                silence_logs=logging.ERROR,
            )
        with cluster, Client(cluster) as client:
            yield client
        return
    _check_scheduler(scheduler, timeout)
    with Client(scheduler, timeout=timeout) as client:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            raise ConnectionError(
                f"the Dask scheduler at {scheduler} has no workers: start some with "
                f"`dask worker {scheduler}`"
            ) from None
        yield client


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes that ignore Ctrl-C: this process stops them itself.

    A terminal sends Ctrl-C's SIGINT to every process in its group; workers would die
    with a page of tracebacks each. A signal ignored when a process starts stays
    ignored (Python installs its KeyboardInterrupt handler only over the default).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change signal handlers
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _check_scheduler(address: str, timeout: float) -> None:
    """Raise one clear error within ``timeout`` seconds unless a scheduler answers.

    ``Client`` alone waits forever on a port where another program listens (say, the
    dashboard's), and a connection it cannot make surfaces as a page of tracebacks.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            comm.abort()

    try:  # in a thread: its own event loop, also inside Jupyter's running one
        with ThreadPoolExecutor(1) as thread:
            reply = thread.submit(
                asyncio.run, asyncio.wait_for(identity(), timeout)
            ).result()
    except ValueError as err:  # e.g. "missing port number in address 'host'"
        raise ValueError(
            f"{address!r} is not a Dask scheduler address like tcp://host:8786: {err}"
        ) from None
    except (OSError, TimeoutError, MemoryError, EOFError) as err:
        # MemoryError: another protocol's bytes read as a Dask message length.
        timed_out = isinstance(err, TimeoutError) or "Timed out" in str(err)
        reason = "" if timed_out or isinstance(err, MemoryError) else f": {err}"
        raise ConnectionError(
            f"cannot reach a Dask scheduler at {address} within {timeout:g} s (is "
            f"`dask scheduler` running there, and is that its port?){reason}"
        ) from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise ConnectionError(f"{address} answers, but it is not a Dask scheduler")


def grid_search(
    space: Mapping[str, Sequence[Any]],
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    **kwargs: Any,
) -> TuningResults:
    """Try every combination in ``space`` (see ``grid_configs``, ``run_search``)."""
    return run_search(grid_configs(space), train, val, **kwargs)


def random_search(
    space: Mapping[str, Any],
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    *,
    n_trials: int,
    seed: int = 0,
    **kwargs: Any,
) -> TuningResults:
    """Try ``n_trials`` random configurations (``random_configs``, ``run_search``)."""
    return run_search(
        random_configs(space, n_trials, seed=seed), train, val, seed=seed, **kwargs
    )
