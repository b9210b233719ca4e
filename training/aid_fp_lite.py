"""How MELTR is trained (AID-FP-Lite), the baselines it is compared with, and what it learned.

Paper: Ko et al., MELTR (../shared/papers/meltr-meta-loss-transformer.txt), section 4.2,
Algorithm 1, Table 8, Figures 3-4. The module itself is ``mmdemo.models.meltr``.

Bi-level problem (eq. 8), with w the backbone's parameters and phi MELTR's:

    phi* = argmin_phi L_primary(w*(phi); phi)   s.t.   w*(phi) = argmin_w L_aux(w; phi)
    L_aux(w; phi)     = M(L(w); phi)                       on a training batch      (eq. 4, 7)
    L_primary(w; phi) = Lhat(w) + gamma * R(w; phi)                                   (eq. 7)

where Lhat is the primary task's loss on a held-aside meta-data batch and R = |M(L) - sum_t L_t|
(eq. 6) is computed on the training batch.

One iteration of Algorithm 1 (``AIDFPLite.step``):

    K times (eq. 12):  w <- w - alpha * dL_aux/dw           (or the backbone's own optimizer,
                                                              Adam in A.3, on that gradient)
    then (eq. 11, 13): phi <- phi - beta * [ dL_primary/dphi - (d2 L_aux / dphi dw) dL_primary/dw ]

The bracket is the implicit-function hypergradient of eq. (9) with the Hessian d2 L_aux / dw dw
taken as the identity (eq. 11). Since dL_aux/dw = J^T dM/dL (J = dL/dw), its second term only
needs the T numbers c = J dL_primary/dw, one per loss; ``AIDFPLite.meta_step`` gets them from
J's rows, one plain autograd backward per loss, and no second derivative of the backbone is
ever formed. The first term is non-zero only through the regularizer (gamma > 0). The authors'
release drops it and keeps only the second; we follow eq. (9)/(11).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from mmdemo.models.meltr import (
    MELTR,
    loss_weights,
    regularizer,
    sweep,
    transformation_curves,
)

COMBINERS = ("meltr", "mtl", "primary")  # Table 8 / Table 7 rows: MELTR, MTL (plain sum), primary only


@dataclass(frozen=True)
class AIDFPLiteConfig:
    backbone_lr: float = 3e-5  # alpha, eq. (12); A.3: 3e-5 (Adam with linear decay there)
    meta_lr: float = 1e-4  # beta, eq. (13); A.3: 1e-4 (Adam)
    # K, Algorithm 1: inner steps per meta step. A.3 states it but the value is lost in our copy
    # of the text; 3 is the release's `auxgrad_every`. gamma lives in MELTRConfig.gamma.
    inner_steps: int = 3

    def __post_init__(self) -> None:
        if self.inner_steps < 1:
            raise ValueError(f"inner_steps (K) must be >= 1, got {self.inner_steps}")


@dataclass(frozen=True)
class LossCombiner:
    """The loss the backbone minimises from a step's loss vector: MELTR, MTL or the primary loss.

    One switch for Table 8's comparison: "meltr" is M(L) (trained with ``AIDFPLite``), "mtl" the
    plain sum of all losses (multi-task learning), "primary" the primary loss alone (plain
    fine-tuning, Table 7 (A)).
    """

    mode: str
    primary_index: int = 0  # position of the primary loss in the loss vector
    meltr: MELTR | None = None  # required by "meltr"

    def __post_init__(self) -> None:
        if self.mode not in COMBINERS:
            raise ValueError(f"unknown loss combiner {self.mode!r}; use one of {', '.join(COMBINERS)}")
        if self.mode == "meltr" and self.meltr is None:
            raise ValueError("the 'meltr' combiner needs a MELTR module")

    def __call__(self, losses: torch.Tensor) -> torch.Tensor:
        if self.mode == "primary":
            return losses[..., self.primary_index]
        if self.mode == "mtl":
            return losses.sum(dim=-1)
        return self.meltr(losses)


LossVector = Callable[[], torch.Tensor]  # evaluates the (T,) task losses on one batch at the current w


class AIDFPLite:
    """Algorithm 1: K inner steps on the backbone with MELTR's loss, then one meta step on MELTR.

    ``params`` are the backbone parameters w the inner steps update and the hypergradient sees.
    Without ``backbone_optimizer`` an inner step is eq. (12) as written (w -= alpha * grad); with
    one, its ``step()`` applies the same gradient (the paper trains with Adam, A.3). The meta
    optimizer defaults to Adam with lr ``meta_lr`` (A.3); plain SGD(lr=beta) is eq. (13) as written.
    Neither touches the other's gradients: each ``.grad`` is set from ``torch.autograd.grad``.
    """

    def __init__(self, meltr: MELTR, config: AIDFPLiteConfig = AIDFPLiteConfig(),
                 meta_optimizer: torch.optim.Optimizer | None = None,
                 backbone_optimizer: torch.optim.Optimizer | None = None) -> None:
        self.meltr = meltr
        self.config = config
        self.meta_optimizer = meta_optimizer or torch.optim.Adam(meltr.parameters(), lr=config.meta_lr)
        self.backbone_optimizer = backbone_optimizer

    def inner_step(self, params: Sequence[torch.Tensor], losses: torch.Tensor) -> torch.Tensor:
        """Eq. (12) once, from the (T,) losses of a training batch at the current w; returns M(L)."""
        aux = self.meltr(losses)
        grads = torch.autograd.grad(aux, params, allow_unused=True)
        if self.backbone_optimizer is None:
            with torch.no_grad():
                for p, g in zip(params, grads):
                    if g is not None:
                        p.sub_(self.config.backbone_lr * g)
        else:
            for p, g in zip(params, grads):
                p.grad = g
            self.backbone_optimizer.step()
            for p in params:
                p.grad = None
        return aux.detach()

    def meta_step(self, params: Sequence[torch.Tensor], losses: Sequence[torch.Tensor],
                  primary: torch.Tensor) -> dict[str, float]:
        """Eq. (11) and (13) at the current w.

        ``losses``: the T losses of a training batch as separate scalars, ``primary``: the primary
        loss on a meta-data batch, all computed at the current w with their graphs. (A (T,) tensor
        works too, but then every loss's backward below runs through the graphs of all of them.)
        The losses stay usable afterwards, so a task inside the shared trainer can run the meta
        step on the batch it is about to train on and return M(L) for the trainer's own backward
        and optimizer (the inner step). ``params`` may be a subset of w (e.g. the layers nearest
        the losses): the hypergradient then sees only that subset, a cheaper and coarser
        approximation than the paper's. Under torchrun the hypergradient is averaged over ranks
        so that MELTR stays the same everywhere; compute the losses with the unwrapped module
        (DDP's gradient hooks do not fire for ``torch.autograd.grad``).

        How, with J = dL/dw (T x |w|) and g(phi) = dM/dL: dL_aux/dw = J^T g, so the mixed term of
        eq. (11) is d/dphi [g(phi) . c] with c = J u held fixed, u = dL_primary/dw = dLhat/dw +
        J^T z, z = gamma s (g - 1) and s = sign(M - sum L) (eq. 6). Only J's rows, one backward
        per loss (none for a loss that does not reach ``params``), and dLhat/dw touch the
        backbone; the rest is MELTR's own small graph.
        """
        phi = [p for p in self.meltr.parameters() if p.requires_grad]
        gamma = self.meltr.config.gamma
        vector = torch.stack(list(losses))
        aux = self.meltr(vector)
        reg = regularizer(aux, vector)
        point = vector.detach().requires_grad_(True)  # L as MELTR's input only: g and R as functions of phi
        output = self.meltr(point)
        (g,) = torch.autograd.grad(output, point, create_graph=True)
        z = gamma * torch.sign(aux.detach() - vector.detach().sum()) * (g.detach() - 1)  # gamma dR/dL
        rows = [torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True) for loss in losses]
        u = list(torch.autograd.grad(primary, params, allow_unused=True))  # dLhat/dw, on the meta batch
        for weight, row in zip(z, rows) if gamma else ():  # + gamma dR/dw = J^T z
            u = [_plus(a, None if b is None else weight * b) for a, b in zip(u, row)]
        zero = torch.zeros((), dtype=z.dtype, device=z.device)
        c = torch.stack([sum(((a * b).sum() for a, b in zip(row, u) if a is not None and b is not None), zero)
                         for row in rows])
        # eq. (11): dL_primary/dphi (gamma dR/dphi with L fixed) - d/dphi [g . c]
        objective = gamma * regularizer(output, point) - (g * c).sum()
        hypergrad = torch.autograd.grad(objective, phi, allow_unused=True)
        self.meta_optimizer.zero_grad(set_to_none=True)
        for p, grad in zip(phi, hypergrad):
            grad = torch.zeros_like(p) if grad is None else grad
            if dist.is_available() and dist.is_initialized():
                dist.all_reduce(grad)
                grad /= dist.get_world_size()
            p.grad = grad
        hypergrad_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in phi]))
        self.meta_optimizer.step()
        return {"meta_primary": primary.item(), "meta_reg": reg.item(), "meta_aux": aux.item(),
                "hypergrad_norm": hypergrad_norm.item()}

    def step(self, params: Sequence[torch.Tensor], inner_losses: Sequence[LossVector],
             meta_primary: Callable[[], torch.Tensor]) -> dict[str, float]:
        """One iteration of Algorithm 1: one inner step per closure (K of them), then the meta step.

        The meta step's training losses are the last inner batch evaluated again at the updated w.
        """
        if len(inner_losses) != self.config.inner_steps:
            raise ValueError(f"expected K = {self.config.inner_steps} inner-step closures, got {len(inner_losses)}")
        aux = [float(self.inner_step(params, closure())) for closure in inner_losses]
        info = self.meta_step(params, inner_losses[-1](), meta_primary())
        return {"aux": sum(aux) / len(aux), **info}


def _plus(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    """a + b, where None is a gradient that does not exist (zero)."""
    return b if a is None else a if b is None else a + b


class MELTRRecorder:
    """Figures 3 and 4 as data for the export: ``{epochs, tasks, weights, curves}``, JSON-able.

    ``add`` after a training step accumulates that step's task weights dM/dL_t (Figure 4) and its
    losses; ``end_epoch`` stores the epoch's mean weights and redraws the curves (Figure 3) of
    the current combiner around the epoch's mean losses: for each task, M and dM/dL_t as that
    task's loss sweeps ``grid_points`` values from 0 to twice the largest mean loss.
    """

    def __init__(self, tasks: Sequence[str], grid_points: int = 21) -> None:
        self.tasks = tuple(tasks)
        self.grid_points = grid_points
        self.epochs: list[int] = []
        self.weights: list[list[float]] = []
        self.curves: dict[str, Any] = {}
        self._weight_sum: torch.Tensor | None = None  # summed on the losses' device: no sync per step
        self._loss_sum: torch.Tensor | None = None
        self._count = 0

    def add(self, combiner: Callable[[torch.Tensor], torch.Tensor], losses: torch.Tensor) -> None:
        if losses.shape != (len(self.tasks),):
            raise ValueError(f"expected {len(self.tasks)} losses ({', '.join(self.tasks)}), got shape {tuple(losses.shape)}")
        weights, values = loss_weights(combiner, losses).double(), losses.detach().double()
        if self._weight_sum is None or self._loss_sum is None:
            self._weight_sum, self._loss_sum = weights, values
        else:  # sums restored by load_state come back on the CPU, the losses may be on a GPU
            self._weight_sum = self._weight_sum.to(weights.device) + weights
            self._loss_sum = self._loss_sum.to(values.device) + values
        self._count += 1

    def end_epoch(self, epoch: int, combiner: Callable[[torch.Tensor], torch.Tensor]) -> None:
        if self._weight_sum is None or self._loss_sum is None:
            raise ValueError(f"epoch {epoch}: no steps were recorded")
        anchor = (self._loss_sum / self._count).float()
        self.epochs.append(epoch)
        self.weights.append((self._weight_sum / self._count).tolist())
        grid = torch.linspace(0.0, 2.0 * float(anchor.max()), self.grid_points, device=anchor.device)
        outputs, slopes = [], []
        for index in range(len(self.tasks)):
            outputs.append(transformation_curves(combiner, anchor, index, grid).tolist())
            slopes.append(loss_weights(combiner, sweep(anchor, index, grid))[:, index].tolist())
        self.curves = {"epoch": epoch, "anchor": anchor.tolist(), "grid": grid.tolist(),
                       "output": outputs, "weight": slopes}
        self._weight_sum, self._loss_sum, self._count = None, None, 0

    def to_dict(self) -> dict[str, Any]:
        return {"epochs": list(self.epochs), "tasks": list(self.tasks),
                "weights": [list(row) for row in self.weights], "curves": dict(self.curves)}

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything recorded so far, the epoch in progress included, for a training checkpoint."""
        sums = {} if self._weight_sum is None or self._loss_sum is None else \
            {"weight_sum": self._weight_sum, "loss_sum": self._loss_sum}
        return sums, {**self.to_dict(), "count": self._count}

    def load_state(self, tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
        if tuple(info["tasks"]) != self.tasks:
            raise ValueError(f"the saved MELTR record is over {info['tasks']}, not {list(self.tasks)}")
        self.epochs, self.weights, self.curves = list(info["epochs"]), [list(r) for r in info["weights"]], dict(info["curves"])
        self._weight_sum, self._loss_sum = tensors.get("weight_sum"), tensors.get("loss_sum")
        self._count = info["count"]
