r"""Optimizers: rules that turn gradients into parameter updates.

Every optimizer is used the same way, after ``model.backward(...)`` has filled the gradients::

    optimizer.step(model)   # updates every array in model.parameters() in place

An optimizer keeps its own per-parameter state (velocities, running averages) in ``self.state``,
keyed by parameter name; layers hold only their parameters and gradients.

The updates below are written with in-place NumPy operations into a preallocated scratch array
per parameter. The textbook form of each rule is in its docstring; the in-place form computes the
same numbers without creating new arrays on every step, which matters because an optimizer step
touches every parameter once per mini-batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from ._validation import check_number
from .layer import Parameter


class HasParameters(Protocol):
    def parameters(self) -> Any: ...


class Optimizer:
    """Base class: learning rate, optional weight decay and schedule, per-parameter state.

    Parameters
    ----------
    lr : base learning rate :math:`\\eta > 0`.
    weight_decay : L2 penalty :math:`\\lambda \\ge 0`; adds :math:`\\lambda w` to every gradient
        (the gradient of :math:`\\tfrac{\\lambda}{2}\\lVert w \\rVert^2`).
    schedule : optional callable ``t -> factor`` (see ``nnlib.schedules``).
    """

    def __init__(
        self,
        lr: float,
        *,
        weight_decay: float = 0.0,
        schedule: Callable[[int], float] | None = None,
    ) -> None:
        self.lr = check_number(lr, "lr", low=0.0, low_inclusive=False)
        self.weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
        if schedule is not None and not callable(schedule):
            raise TypeError(
                f"schedule must be a callable step -> factor, got {schedule!r}"
            )
        self.schedule = schedule
        self.iterations = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._scratch: dict[str, np.ndarray] = {}
        self._decayed: dict[
            str, np.ndarray
        ] = {}  # g + lambda w, one buffer per parameter

    @property
    def current_lr(self) -> float:
        """The learning rate the next step will use: ``lr * schedule(iterations)``.

        Raises ``ValueError`` if the schedule returns a negative, NaN or infinite factor.
        """
        if self.schedule is None:
            return self.lr
        t = self.iterations
        factor = self.schedule(t)
        if (
            isinstance(factor, np.ndarray) and factor.ndim == 0
        ):  # e.g. np.cos(...) of a scalar array
            factor = factor.item()
        factor = check_number(
            factor, f"the learning-rate factor schedule({t}) at step {t}", low=0.0
        )
        return self.lr * factor

    def step(self, model: HasParameters) -> None:
        """Update every parameter of ``model`` (a ``Sequential`` or a single layer) in place."""
        lr = self.current_lr
        self.iterations += 1
        for p in model.parameters():
            grad = self._decayed_grad(p) if self.weight_decay else p.grad
            self.update(p, grad, lr)

    def _decayed_grad(self, p: Parameter) -> np.ndarray:
        """``g + lambda w``, written into a buffer kept per parameter (no new array per step)."""
        buf = self._decayed.get(p.name)
        if buf is None or buf.shape != p.value.shape or buf.dtype != p.value.dtype:
            buf = self._decayed[p.name] = np.empty_like(p.value)
        np.multiply(p.value, self.weight_decay, out=buf)  # buf = lambda w
        buf += p.grad  # buf = lambda w + g
        return buf

    def update(self, p: Parameter, grad: np.ndarray, lr: float) -> None:
        """Apply this optimizer's rule to one parameter (``p.value`` is changed in place)."""
        raise NotImplementedError

    # -- helpers for subclasses
    def _slots(self, p: Parameter, *names: str) -> list[np.ndarray]:
        """This parameter's state arrays (created as zeros on first use) and its scratch array."""
        state = self.state.get(p.name)
        if state is None:
            state = self.state[p.name] = {n: np.zeros_like(p.value) for n in names}
            self._scratch[p.name] = np.empty_like(p.value)
        first = state[names[0]]
        if first.shape != p.value.shape:
            raise ValueError(
                f"optimizer state for {p.name} has shape {first.shape} but the parameter has "
                f"shape {p.value.shape}: use a new optimizer for a new model"
            )
        return [state[n] for n in names] + [self._scratch[p.name]]

    # -- checkpoints (used to resume training)
    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat dict of arrays (``"iterations"``, ``"<param>/<slot>"``) suitable for ``np.savez``."""
        out = {"iterations": np.array(self.iterations)}
        for name, slots in self.state.items():
            for slot, arr in slots.items():
                out[f"{name}/{slot}"] = (
                    arr.copy()
                )  # a snapshot: the live arrays change every step
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what ``state_dict`` returned."""
        self.iterations = int(state["iterations"])
        self.state, self._scratch, self._decayed = {}, {}, {}
        for key, arr in state.items():
            if key == "iterations":
                continue
            name, slot = key.rsplit("/", 1)
            self.state.setdefault(name, {})[slot] = np.array(arr)
            self._scratch[name] = np.empty_like(arr)

    def _describe(self, **hyper: float) -> str:
        args = ", ".join(f"{k}={v}" for k, v in {"lr": self.lr, **hyper}.items())
        if self.weight_decay:
            args += f", weight_decay={self.weight_decay}"
        if self.schedule is not None:
            args += f", schedule={self.schedule!r}"
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum :math:`\mu`.

    .. math::
        v \leftarrow \mu v + g, \qquad w \leftarrow w - \eta v

    With :math:`\mu = 0` this is plain :math:`w \leftarrow w - \eta g`. Momentum accumulates a
    running direction, so steps grow along consistent gradients and cancel along oscillating ones.
    """

    def __init__(self, lr: float, momentum: float = 0.0, **kwargs: Any) -> None:
        super().__init__(lr, **kwargs)
        self.momentum = check_number(
            momentum, "momentum", low=0.0, high=1.0, high_inclusive=False
        )

    def update(self, p: Parameter, grad: np.ndarray, lr: float) -> None:
        if self.momentum == 0.0:
            (scratch,) = self._slots(p)
            np.multiply(grad, lr, out=scratch)  # scratch = lr * g
        else:
            velocity, scratch = self._slots(p, "velocity")
            velocity *= self.momentum  # v = mu * v + g
            velocity += grad
            np.multiply(velocity, lr, out=scratch)  # scratch = lr * v
        np.subtract(p.value, scratch, out=p.value)  # w -= step, in place

    def _slots(self, p: Parameter, *names: str) -> list[np.ndarray]:
        if names:
            return super()._slots(p, *names)
        if (
            p.name not in self._scratch
        ):  # plain SGD keeps no state, only a scratch array
            self._scratch[p.name] = np.empty_like(p.value)
        return [self._scratch[p.name]]

    def __repr__(self) -> str:
        return self._describe(momentum=self.momentum)


class RMSProp(Optimizer):
    r"""RMSProp (Tieleman & Hinton, 2012): divide each step by a running RMS of the gradient.

    .. math::
        s \leftarrow \rho s + (1 - \rho) g^2, \qquad
        w \leftarrow w - \eta \frac{g}{\sqrt{s} + \epsilon}
    """

    def __init__(
        self, lr: float, rho: float = 0.9, eps: float = 1e-8, **kwargs: Any
    ) -> None:
        super().__init__(lr, **kwargs)
        self.rho = check_number(rho, "rho", low=0.0, high=1.0, high_inclusive=False)
        self.eps = check_number(eps, "eps", low=0.0, low_inclusive=False)

    def update(self, p: Parameter, grad: np.ndarray, lr: float) -> None:
        square_avg, scratch = self._slots(p, "square_avg")
        np.multiply(grad, grad, out=scratch)  # s = rho * s + (1 - rho) * g^2
        scratch *= 1.0 - self.rho
        square_avg *= self.rho
        square_avg += scratch
        np.sqrt(square_avg, out=scratch)  # w -= lr * g / (sqrt(s) + eps)
        scratch += self.eps
        np.divide(grad, scratch, out=scratch)
        scratch *= lr
        np.subtract(p.value, scratch, out=p.value)  # w -= step, in place

    def __repr__(self) -> str:
        return self._describe(rho=self.rho, eps=self.eps)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015): momentum on the gradient and RMSProp-style scaling, bias-corrected.

    At step :math:`t = 1, 2, \dots`:

    .. math::
        m &\leftarrow \beta_1 m + (1 - \beta_1) g, &\qquad \hat m &= m / (1 - \beta_1^t) \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g^2, &\qquad \hat v &= v / (1 - \beta_2^t) \\
        w &\leftarrow w - \eta \, \frac{\hat m}{\sqrt{\hat v} + \epsilon}

    :math:`m` and :math:`v` start at zero, so early averages are biased towards zero; dividing by
    :math:`1 - \beta^t` removes that bias (at :math:`t = 1`, :math:`\hat m = g` exactly).
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr, **kwargs)
        self.beta1 = check_number(
            beta1, "beta1", low=0.0, high=1.0, high_inclusive=False
        )
        self.beta2 = check_number(
            beta2, "beta2", low=0.0, high=1.0, high_inclusive=False
        )
        self.eps = check_number(eps, "eps", low=0.0, low_inclusive=False)

    def update(self, p: Parameter, grad: np.ndarray, lr: float) -> None:
        m, v, scratch = self._slots(p, "m", "v")
        t = self.iterations  # already incremented by step(): the first update has t = 1
        np.multiply(grad, 1.0 - self.beta1, out=scratch)  # m = b1 m + (1 - b1) g
        m *= self.beta1
        m += scratch
        np.multiply(grad, grad, out=scratch)  # v = b2 v + (1 - b2) g^2
        scratch *= 1.0 - self.beta2
        v *= self.beta2
        v += scratch
        # m_hat / (sqrt(v_hat) + eps) with the bias corrections folded into two scalars:
        #   w -= [lr / (1 - b1^t)] * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
        step_size = lr / (1.0 - self.beta1**t)
        inv_sqrt_bc2 = 1.0 / math.sqrt(1.0 - self.beta2**t)
        np.sqrt(v, out=scratch)
        scratch *= inv_sqrt_bc2
        scratch += self.eps
        np.divide(m, scratch, out=scratch)
        scratch *= step_size
        np.subtract(p.value, scratch, out=p.value)  # w -= step, in place

    def __repr__(self) -> str:
        return self._describe(beta1=self.beta1, beta2=self.beta2, eps=self.eps)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam}
