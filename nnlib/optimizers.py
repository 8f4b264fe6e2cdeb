r"""Optimizers: rules that turn gradients into parameter updates.

Every optimizer is used the same way, after ``model.backward(...)`` filled the
gradients::

    optimizer.step(model)   # updates every array in model.parameters() in place

Each rule appears twice. ``textbook_update`` is the formula as printed, in plain NumPy
with a new array for every intermediate: the version to read (and what the tests
compare against). ``update`` computes the same numbers in place, into buffers kept per
parameter, because a step touches every parameter once per mini-batch and new arrays
there cost memory traffic and allocations.

An optimizer keeps all of its per-parameter arrays in one dict, ``state[name]``: its
*slots* (``slots``, e.g. Adam's ``m`` and ``v``), which checkpoints save, and the work
buffers ``"scratch"`` and ``"decayed"``, which are rebuilt when needed. Slots are kept
in at least float32: in float16, Adam's and RMSProp's ``eps = 1e-8`` would round to 0
and ``g**2`` underflow, so their steps would divide by zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from ._validation import check_number
from .layer import Parameter

#: An optimizer's slots for one parameter, by name (e.g. ``{"m": ..., "v": ...}``).
Slots = dict[str, np.ndarray]


class HasParameters(Protocol):
    def parameters(self) -> Any: ...


class Optimizer:
    r"""Base class: learning rate, weight decay, schedule and per-parameter state.

    Parameters
    ----------
    lr : base learning rate :math:`\eta > 0`.
    weight_decay : L2 penalty :math:`\lambda \ge 0`; adds :math:`\lambda w` to every
        gradient (the gradient of :math:`\tfrac{\lambda}{2}\lVert w \rVert^2`).
    schedule : optional callable ``t -> factor`` (see ``nnlib.schedules``).
    """

    #: Names of the per-parameter arrays that make up the optimizer's memory.
    slots: tuple[str, ...] = ()

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
        #: Per parameter name: its slots and work buffers (see the module docstring).
        self.state: dict[str, dict[str, np.ndarray]] = {}

    @property
    def current_lr(self) -> float:
        """The learning rate the next step will use: ``lr * schedule(iterations)``.

        Raises ``ValueError`` if the schedule returns a negative, NaN or infinite
        factor.
        """
        if self.schedule is None:
            return self.lr
        t = self.iterations
        factor = self.schedule(t)
        if isinstance(factor, np.ndarray) and factor.ndim == 0:  # np.cos(scalar)
            factor = factor.item()
        factor = check_number(
            factor, f"the learning-rate factor schedule({t}) at step {t}", low=0.0
        )
        return self.lr * factor

    def step(self, model: HasParameters) -> None:
        """Update every parameter of ``model`` (``Sequential`` or a layer) in place."""
        lr = self.current_lr
        self.iterations += 1
        for p in model.parameters():
            self.update(p, self._gradient(p), lr)

    def _gradient(self, p: Parameter) -> np.ndarray:
        """The gradient the rule sees: ``g``, or ``g + λw`` with weight decay (L2)."""
        return self._decayed_grad(p) if self.weight_decay else p.grad

    def _decayed_grad(self, p: Parameter) -> np.ndarray:
        """``g + λw``, written into a buffer kept per parameter (no new array)."""
        state = self._state(p)
        buf = state.get("decayed")
        if buf is None:
            buf = state["decayed"] = np.empty_like(state["scratch"])
        np.multiply(p.value, self.weight_decay, out=buf)  # buf = λ w
        buf += p.grad  # buf = λ w + g
        return buf

    def update(self, p: Parameter, grad: np.ndarray, lr: float) -> None:
        """Apply the rule to one parameter (``p.value`` changes in place)."""
        raise NotImplementedError

    def textbook_update(
        self, w: np.ndarray, g: np.ndarray, slots: Slots, lr: float
    ) -> tuple[np.ndarray, Slots]:
        """The rule as printed: new ``w`` and new slots from the old ones, no tricks.

        ``g`` already includes L2 weight decay; Adam reads the step number ``t`` from
        ``self.iterations``, as ``update`` does (1 at the first step).
        """
        raise NotImplementedError

    # -- helpers for subclasses
    def _state(self, p: Parameter) -> dict[str, np.ndarray]:
        """``state[p.name]``, made at first use: zeroed slots and a scratch buffer."""
        state = self.state.get(p.name)
        if state is None:
            dtype = np.promote_types(p.value.dtype, np.float32)  # eps exists there
            names = (*self.slots, "scratch")
            state = self.state[p.name] = {
                n: np.zeros(p.value.shape, dtype) for n in names
            }
        elif state["scratch"].shape != p.value.shape:
            raise ValueError(
                f"optimizer state for {p.name} has shape {state['scratch'].shape} but "
                f"the parameter has shape {p.value.shape}: use a new optimizer for a "
                "new model"
            )
        return state

    def _slots(self, p: Parameter, *names: str) -> list[np.ndarray]:
        """This parameter's slot arrays ``names``, then its scratch buffer."""
        state = self._state(p)
        return [state[n] for n in names] + [state["scratch"]]

    # -- checkpoints (used to resume training)
    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat dict of arrays for ``np.savez``: ``"iterations"``, ``"<param>/<slot>"``.

        Only the slots: the work buffers hold nothing between steps.
        """
        out = {"iterations": np.array(self.iterations)}
        for name, state in self.state.items():
            for slot in self.slots:  # copies: the live arrays change every step
                out[f"{name}/{slot}"] = state[slot].copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what ``state_dict`` returned; raise ``ValueError`` if it is not that.

        ``iterations`` must be >= 0, and each parameter must have every slot (or none,
        if it has not been updated yet), all of one shape. Nothing changes on error.
        """
        iterations = int(state["iterations"])
        if iterations < 0:
            raise ValueError(f"optimizer iterations must be >= 0, got {iterations}")
        found: dict[str, Slots] = {}
        for key, arr in state.items():
            if key != "iterations":
                name, _, slot = key.rpartition("/")
                found.setdefault(name, {})[slot] = np.array(arr)
        for name, slots in found.items():
            self._check_slots(name, slots)
        self.iterations = iterations
        self.state = {
            name: slots | {"scratch": np.empty_like(slots[self.slots[0]])}
            for name, slots in found.items()
        }

    def _check_slots(self, name: str, slots: Slots) -> None:
        """Raise ``ValueError`` unless ``slots`` are exactly this rule's, one shape."""
        rule, unknown = type(self).__name__, sorted(slots.keys() - set(self.slots))
        if unknown:
            raise ValueError(
                f"optimizer state has slot {unknown[0]!r}, "
                f"but {rule} keeps {self.slots}"
            )
        missing = [f"{name}/{slot}" for slot in self.slots if slot not in slots]
        if missing:
            raise ValueError(
                f"optimizer state lacks {missing}: {rule} keeps {self.slots} for "
                "every parameter it has updated"
            )
        shapes = [a.shape for a in slots.values()]
        if len(set(shapes)) > 1:
            raise ValueError(
                f"optimizer state for {name} has slots of different shapes {shapes}"
            )

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

    With :math:`\mu = 0` this is plain :math:`w \leftarrow w - \eta g`. Momentum
    accumulates a running direction, so steps grow along consistent gradients and
    cancel along oscillating ones.
    """

    def __init__(self, lr: float, momentum: float = 0.0, **kwargs: Any) -> None:
        super().__init__(lr, **kwargs)
        self.momentum = check_number(
            momentum, "momentum", low=0.0, high=1.0, high_inclusive=False
        )
        self.slots = ("velocity",) if self.momentum else ()

    def textbook_update(
        self, w: np.ndarray, g: np.ndarray, slots: Slots, lr: float
    ) -> tuple[np.ndarray, Slots]:
        if not self.momentum:
            return w - lr * g, {}  # w ← w − η g
        v = self.momentum * slots["velocity"] + g  # v ← μ v + g
        return w - lr * v, {"velocity": v}  # w ← w − η v

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

    def __repr__(self) -> str:
        return self._describe(momentum=self.momentum)


class RMSProp(Optimizer):
    r"""RMSProp (Tieleman & Hinton, 2012): divide each step by a running RMS of ``g``.

    .. math::
        s \leftarrow \rho s + (1 - \rho) g^2, \qquad
        w \leftarrow w - \eta \frac{g}{\sqrt{s} + \epsilon}
    """

    slots = ("square_avg",)

    def __init__(
        self, lr: float, rho: float = 0.9, eps: float = 1e-8, **kwargs: Any
    ) -> None:
        super().__init__(lr, **kwargs)
        self.rho = check_number(rho, "rho", low=0.0, high=1.0, high_inclusive=False)
        self.eps = check_number(eps, "eps", low=0.0, low_inclusive=False)

    def textbook_update(
        self, w: np.ndarray, g: np.ndarray, slots: Slots, lr: float
    ) -> tuple[np.ndarray, Slots]:
        rho = self.rho
        s = rho * slots["square_avg"] + (1 - rho) * g**2  # s ← ρ s + (1 − ρ) g²
        w = w - lr * g / (np.sqrt(s) + self.eps)  # w ← w − η g / (√s + ε)
        return w, {"square_avg": s}

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
    r"""Adam (Kingma & Ba, 2015): momentum and RMSProp-style scaling, bias-corrected.

    At step :math:`t = 1, 2, \dots`:

    .. math::
        m &\leftarrow \beta_1 m + (1 - \beta_1) g,
            &\qquad \hat m &= m / (1 - \beta_1^t) \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g^2,
            &\qquad \hat v &= v / (1 - \beta_2^t) \\
        w &\leftarrow w - \eta \, \frac{\hat m}{\sqrt{\hat v} + \epsilon}

    :math:`m` and :math:`v` start at zero, so early averages are biased towards zero;
    dividing by :math:`1 - \beta^t` removes that bias (at :math:`t = 1`,
    :math:`\hat m = g` exactly). ``weight_decay`` adds :math:`\lambda w` to :math:`g`
    (L2), so it is scaled like the gradient; ``AdamW`` decouples it.
    """

    slots = ("m", "v")

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

    def textbook_update(
        self, w: np.ndarray, g: np.ndarray, slots: Slots, lr: float
    ) -> tuple[np.ndarray, Slots]:
        b1, b2, t = self.beta1, self.beta2, self.iterations
        m = b1 * slots["m"] + (1 - b1) * g  # m ← β1 m + (1 − β1) g
        v = b2 * slots["v"] + (1 - b2) * g**2  # v ← β2 v + (1 − β2) g²
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)  # bias corrections
        return w - lr * m_hat / (np.sqrt(v_hat) + self.eps), {"m": m, "v": v}

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
        # m_hat / (sqrt(v_hat) + eps) with the bias corrections folded into scalars:
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


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    .. math::
        w \leftarrow w - \eta \left( \frac{\hat m}{\sqrt{\hat v} + \epsilon}
                                     + \lambda w \right)

    with :math:`\hat m, \hat v` as in ``Adam``, computed from the plain gradient. In
    ``Adam`` an L2 penalty :math:`\lambda w` enters :math:`g` and is then divided by
    :math:`\sqrt{\hat v}`: weights with large gradients are barely decayed. Here every
    weight shrinks by the same factor :math:`1 - \eta\lambda` per step, as weight
    decay does in plain SGD. The default :math:`\lambda = 0.01` is PyTorch's.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        *,
        weight_decay: float = 0.01,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay=weight_decay, **kwargs)

    def _gradient(self, p: Parameter) -> np.ndarray:
        return p.grad  # the decay acts on w directly, not through the gradient

    def textbook_update(
        self, w: np.ndarray, g: np.ndarray, slots: Slots, lr: float
    ) -> tuple[np.ndarray, Slots]:
        adam_w, slots = super().textbook_update(w, g, slots, lr)
        return adam_w - lr * self.weight_decay * w, slots  # w ← w − η(... + λw)

    def update(self, p: Parameter, grad: np.ndarray, lr: float) -> None:
        if self.weight_decay:
            w, shrink = p.value, 1.0 - lr * self.weight_decay
            np.multiply(w, shrink, out=w)  # w ← (1 − ηλ) w, then Adam's step
        super().update(p, grad, lr)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "rmsprop": RMSProp,
    "adam": Adam,
    "adamw": AdamW,
}
