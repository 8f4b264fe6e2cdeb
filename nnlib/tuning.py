"""Hyperparameter search: grid and random search scored on a validation split, run in parallel.

Each *trial* builds a fresh model from a dict of hyperparameters, trains it with ``fit`` and
records its best validation accuracy. Trials are independent, so they run in parallel through
joblib. By default joblib starts local worker processes (``n_jobs``); the same code runs on a
cluster by choosing another joblib backend around the call::

    import joblib
    from dask.distributed import Client       # pip install "dask[distributed]"
    client = Client("tcp://scheduler:8786")   # registers the "dask" backend
    with joblib.parallel_config(backend="dask"):
        results = grid_search(space, train, val, epochs=10, n_jobs=-1)

Ray works the same way (``from ray.util.joblib import register_ray; register_ray()`` then
``backend="ray"``).
"""

from __future__ import annotations

import io
import itertools
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from ._files import atomic_write, atomic_write_text
from .callbacks import EarlyStopping
from .losses import SoftmaxCrossEntropy
from .model import mlp
from .optimizers import SGD, Adam, Optimizer, RMSProp
from .training import fit

#: Hyperparameters a trial understands, with the values used when a search leaves one out.
DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "batch_size": 128,
    "optimizer": "adam",
    "dropout": 0.0,
    "hidden": (128,),
    "activation": "relu",
}
OPTIMIZER_NAMES = ("sgd", "momentum", "rmsprop", "adam")


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
    """A distribution for random search: ``exp(U(log low, log high))``, e.g. learning rates."""

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
    """Train one configuration (``DEFAULTS`` filled in) and score it by validation accuracy.

    A configuration whose loss becomes NaN or inf is recorded as ``diverged`` with accuracy 0.
    """
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown hyperparameters {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    p = {**DEFAULTS, **params}
    x_train, y_train = train
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
        history = fit(
            model,
            SoftmaxCrossEntropy(),
            make_optimizer(p["optimizer"], p["lr"]),
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
        # A learning rate too large makes the loss NaN: a (bad) result, not a reason to lose
        # every other trial of the search.
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


def _rank(trial: Trial) -> tuple[bool, float, float]:
    """Sort key: higher accuracy first, then lower loss; diverged (or NaN) trials last."""
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

    def to_json(self) -> str:
        """The trials as strict JSON: a non-finite number (a diverged trial's loss) becomes null."""
        trials = _finite_or_none([asdict(t) for t in self.trials])
        return json.dumps(trials, indent=2, default=_json_default, allow_nan=False)

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``results.json`` and the figure ``tuning.png`` into ``out_dir``; return their paths.

        Each file is written atomically (see ``nnlib._files``): an interrupted run never leaves
        a half-written file behind.
        """
        import matplotlib.pyplot as plt

        from .plots import (
            plot_tuning_results,
        )  # imported here: nnlib.plots imports this module

        out = Path(out_dir)
        json_path, figure_path = out / "results.json", out / "tuning.png"
        atomic_write_text(json_path, self.to_json())
        fig = plot_tuning_results(self)
        png = io.BytesIO()  # render in memory, then write the file in one atomic step
        fig.savefig(png, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        atomic_write(figure_path, lambda f: f.write(png.getvalue()))
        return {"json": json_path, "figure": figure_path}


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
    """``value`` with every inf or NaN float (in nested lists and dicts too) replaced by None.

    JSON has no infinity or NaN: ``json.dumps`` would write ``Infinity``, which strict parsers
    (browsers, ``jq``, most languages) reject.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def grid_configs(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the listed values: ``{"lr": [1e-3, 1e-2], "dropout": [0, .2]}`` → 4 dicts."""
    for key, values in space.items():
        if (
            isinstance(values, (str, bytes))
            or not isinstance(values, Sequence)
            or len(values) == 0
        ):
            raise ValueError(
                f"grid values for {key!r} must be a non-empty list, got {values!r}"
            )
    keys = list(space)
    return [
        dict(zip(keys, combo, strict=True))
        for combo in itertools.product(*space.values())
    ]


def random_configs(
    space: Mapping[str, Any], n_trials: int, *, seed: int = 0
) -> list[dict[str, Any]]:
    """``n_trials`` random configurations; a value is a list (uniform choice) or a ``LogUniform``."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(n_trials):
        config = {}
        for key, values in space.items():
            if isinstance(values, LogUniform):
                config[key] = values.sample(rng)
            else:
                config[key] = values[int(rng.integers(len(values)))]
        configs.append(config)
    return configs


def run_search(
    configs: Sequence[Mapping[str, Any]],
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    n_jobs: int = 1,
    seed: int = 0,
    patience: int | None = None,
) -> TuningResults:
    """Run every configuration as an independent trial, ``n_jobs`` at a time (joblib)."""
    for config in configs:  # fail fast, before any worker starts
        unknown = set(config) - set(DEFAULTS)
        if unknown:
            raise ValueError(
                f"unknown hyperparameters {sorted(unknown)}; known: {sorted(DEFAULTS)}"
            )
        if "optimizer" in config and config["optimizer"] not in OPTIMIZER_NAMES:
            raise ValueError(
                f"optimizer must be one of {OPTIMIZER_NAMES}, got {config['optimizer']!r}"
            )
    trials = Parallel(n_jobs=n_jobs)(
        delayed(run_trial)(
            config, train, val, epochs=epochs, seed=seed, patience=patience
        )
        for config in configs
    )
    return TuningResults(list(trials))


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
    """Try ``n_trials`` random configurations (see ``random_configs``, ``run_search``)."""
    return run_search(
        random_configs(space, n_trials, seed=seed), train, val, seed=seed, **kwargs
    )
