"""MELTR: a small transformer that melts a step's task losses into one loss to minimise.

Paper: Ko et al., "MELTR: Meta Loss Transformer for Learning to Fine-tune Video Foundation
Models" (../shared/papers/meltr-meta-loss-transformer.txt), section 4.1. Read top to bottom:

1. Input: the vector L = (L_1, ..., L_T) of one training step's loss values, the primary loss
   among them (section 4.1: "the primary loss itself is also included in the list of input
   loss functions"). Position t always holds the same task.
2. Scale embedding (eq. 5): SE(L_t) = MLP(L_t), a Linear(1, h) -> ReLU -> Linear(h, d) applied
   to each scalar loss on its own.
3. Task embedding (eq. 5): TE(t), a learned d-vector per position ("plays the role of
   positional encodings"). The input token of task t is SE(L_t) + TE(t).
4. One transformer encoder layer (A.3: 8 heads) over the T tokens: post-norm, ReLU
   feed-forward, no dropout (as PyTorch's TransformerEncoderLayer in the authors' release,
   which they run in eval mode). The attention is written out (softmax(QK^T / sqrt(d_h)) V)
   because torch's fused attention kernels cannot be differentiated twice, and AID-FP-Lite
   (training/aid_fp_lite.py) differentiates through MELTR's gradient.
5. Pooling (section 4.1, "pooled to a scalar loss value"): the mean of the T output tokens,
   then Linear(d, 1) without bias (the release's pooling). No output activation: the unified
   loss L_aux = M(L; phi) of eq. (4) is any real number.

The regularizer of eq. (6) keeps M(L) near the plain sum of the losses (multi-task learning);
it enters the meta objective, eq. (7), with strength gamma (``MELTRConfig.gamma``). Where phi
starts is ``MELTRConfig.init``: PyTorch's initialisation, or fitted to a scaled plain sum.

Analysis (section 5.2): ``loss_weights`` is Figure 4's weight of each task, dM/dL_t at the
current losses; ``transformation_curves`` is Figure 3, M as one input loss sweeps a grid while
the others stay fixed. Both take any callable from loss vectors to a loss, so the baselines
(``training.aid_fp_lite.LossCombiner``) can be drawn the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class MELTRConfig:
    # Section 5 / A.1: UniVL is fine-tuned with eight losses; set this to the number of losses
    # the task feeds in (the primary loss included).
    num_losses: int = 8
    # A.3: "one transformer encoder layer with 8 attention heads and 512 hidden dimensions".
    # In the authors' release (univl/main.py, --transformer_dim 512,128,256) the 512 is the
    # feed-forward width, the token width d is 256 and the scale MLP's hidden width is 128.
    layers: int = 1  # A.3: one encoder layer
    heads: int = 8  # A.3
    dim: int = 256  # d, token width (release)
    ff_dim: int = 512  # A.3's 512 hidden dimensions: the encoder's feed-forward width
    scale_hidden: int = 128  # eq. (5): hidden width of the scale-embedding MLP (release)
    # Eq. (6)-(7): strength of the regularizer in the meta objective; 0 turns it off (the
    # paper's "MELTR-" in Table 1). A.3 / Table 9 search it over 0 ... 100; 0.1 is the
    # release's default.
    gamma: float = 0.1
    # Where phi starts (ours: the paper does not say). "random": PyTorch's initialisation, as the
    # release; its weights dM/dL_t are about +-0.01 with random signs, so the backbone starts by
    # climbing some of its losses. "sum": phi is then fitted (least squares, Adam, ``init_steps``
    # batches of 64 loss vectors drawn uniformly from [0, init_range]^T) to M(L) = init_scale *
    # sum_t L_t, every task weighed alike: the start Figure 4 shows ("at the beginning of training,
    # MELTR equally takes into account all the auxiliary tasks"), multi-task learning up to a
    # constant factor. The factor keeps the fit within reach of the post-norm encoder's bounded
    # output; an Adam-trained backbone does not see it.
    init: str = "random"
    init_scale: float = 0.125
    init_range: float = 12.0  # above ln(30522) = 10.3, a fresh decoder's token cross-entropy
    init_steps: int = 300

    def __post_init__(self) -> None:
        if self.num_losses < 1 or self.layers < 1:
            raise ValueError("MELTR needs at least one loss and one encoder layer")
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        if self.gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {self.gamma}")
        if self.init not in ("random", "sum"):
            raise ValueError(f"init must be 'random' or 'sum', got {self.init!r}")


class EncoderLayer(nn.Module):
    """A post-norm transformer encoder layer (Vaswani et al. 2017), twice differentiable."""

    def __init__(self, dim: int, heads: int, ff_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff_dim), nn.ReLU(), nn.Linear(ff_dim, dim))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, T, d)
        B, T, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (t.view(B, T, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        attention = (q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)).softmax(dim=-1)
        y = (attention @ v).transpose(1, 2).reshape(B, T, d)
        x = self.norm1(x + self.proj(y))
        return self.norm2(x + self.ff(x))


class MELTR(nn.Module):
    """Loss vector (..., T) -> unified loss (...), eq. (4)-(5)."""

    def __init__(self, config: MELTRConfig = MELTRConfig()) -> None:
        super().__init__()
        self.config = config
        c = config
        self.scale = nn.Sequential(nn.Linear(1, c.scale_hidden), nn.ReLU(), nn.Linear(c.scale_hidden, c.dim))
        self.task = nn.Embedding(c.num_losses, c.dim)
        self.layers = nn.ModuleList(EncoderLayer(c.dim, c.heads, c.ff_dim) for _ in range(c.layers))
        self.head = nn.Linear(c.dim, 1, bias=False)
        if c.init == "sum":
            self._fit_to_sum()

    def forward(self, losses: torch.Tensor) -> torch.Tensor:
        T = self.config.num_losses
        if losses.shape[-1:] != (T,):
            raise ValueError(f"MELTR was built for {T} losses, got a tensor of shape {tuple(losses.shape)}")
        batch = losses.shape[:-1]
        values = losses.reshape(-1, T, 1).to(self.head.weight.dtype)
        with torch.autocast(losses.device.type, enabled=False):  # losses in, a loss out: float32 under bf16 too
            x = self.scale(values) + self.task.weight  # eq. (5): SE(L_t) + TE(t), (B, T, d)
            for layer in self.layers:
                x = layer(x)
            return self.head(x.mean(dim=1)).reshape(batch)


    def _fit_to_sum(self) -> None:
        """``MELTRConfig.init`` "sum": least squares to init_scale * sum_t L_t (draws from torch's global RNG)."""
        c = self.config
        optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)
        with torch.enable_grad():
            for _ in range(c.init_steps):
                losses = torch.rand(64, c.num_losses) * c.init_range
                error = ((self(losses) - c.init_scale * losses.sum(dim=-1)) ** 2).mean()
                optimizer.zero_grad(set_to_none=True)
                error.backward()
                optimizer.step()
        self.zero_grad(set_to_none=True)


def regularizer(output: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
    """Eq. (6): how far the unified loss strays from the plain sum of its inputs, |M(L) - sum_t L_t|.

    The release computes it as ``torch.norm(sum(losses) - output)`` of scalars, i.e. the
    absolute difference, which is what this returns (per row for batched inputs).
    """
    return (output - losses.sum(dim=-1)).abs()


def _as_float(losses: torch.Tensor) -> torch.Tensor:
    """A detached copy in float32 or wider (bf16 autocast losses become float32, float64 stays)."""
    return losses.detach().to(torch.promote_types(losses.dtype, torch.float32)).clone()


def loss_weights(meltr: Callable[[torch.Tensor], torch.Tensor], losses: torch.Tensor) -> torch.Tensor:
    """Figure 4's task weights: dM/dL_t at ``losses`` (T,) or (B, T); same shape as ``losses``."""
    with torch.enable_grad():
        x = _as_float(losses).requires_grad_(True)
        (grad,) = torch.autograd.grad(meltr(x).sum(), x)  # rows are independent: one pass for all
    return grad


def sweep(losses: torch.Tensor, index: int, grid: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """(G, T) copies of the loss vector ``losses`` (T,) whose entry ``index`` runs through ``grid``."""
    points = _as_float(losses).reshape(1, -1).repeat(len(grid), 1)
    points[:, index] = torch.as_tensor(grid, dtype=points.dtype, device=points.device)
    return points


def transformation_curves(meltr: Callable[[torch.Tensor], torch.Tensor], losses: torch.Tensor,
                          index: int, grid: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """Figure 3: M(L) as input ``index`` takes each value of ``grid``, the others fixed at ``losses`` (T,)."""
    with torch.no_grad():
        return meltr(sweep(losses, index, grid))
