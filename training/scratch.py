"""``--init pretrained|scratch`` for tasks whose model starts from a pretrained encoder.

The comparison this serves (../shared/papers/pretrained-vs-scratch-hrnet-distilbert.txt, section
3.2.2) trains "two networks with the same architecture": one pretrained, one whose "initial
weights were sampled from a truncated normal distribution with standard deviation 0.02". For
every task here, scratch means:

- the same architecture, built without loading any pretrained weights (transformers, open_clip,
  timm and PaSST towers alike), a transformer encoder's weights then drawn again by
  ``scratch_init_``: truncated normal for Linear and Embedding weights, zero biases, norms at 1 / 0;
- the whole encoder trained: ``scratch_config`` sets the model config's "top layers trained"
  field to -1. A frozen random layer would only be noise, and an export with nothing frozen
  stores every tensor (``mmdemo.checkpoint.trained_state_dict``), so it reloads exactly,
  without the pretrained weights a partly frozen export is rebuilt on.

A task uses three calls::

    def build_model(self, init):
        self.init = init
        model = Model.from_config(self.model_config(), pretrained=is_pretrained(init))
        init_encoder_(model.encoder, init)
        return model

    def model_config(self):
        return scratch_config(self.config.model, self.init, "train_layers")
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

PRETRAINED, SCRATCH = "pretrained", "scratch"
INITS = (PRETRAINED, SCRATCH)
ALL_LAYERS = -1  # the "top layers trained" value meaning the whole encoder (mmdemo.models.encoders.train_top_layers)

NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)


@dataclass(frozen=True)
class ScratchInitConfig:
    # Section 3.2.2: the scratch DistilBERT's weights come from a truncated normal with std 0.02.
    std: float = 0.02
    # Where the normal is cut, in standard deviations: two, as TensorFlow's truncated_normal
    # (BERT's initializer) cuts it; the paper does not say (ours).
    truncation: float = 2.0


def is_pretrained(init: str) -> bool:
    """``init`` checked: True for "pretrained", False for "scratch", an error for anything else."""
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}; got {init!r}")
    return init == PRETRAINED


def scratch_config(config: Any, init: str, layers_field: str) -> Any:
    """The model config a run with ``init`` trains and exports: under scratch, ``layers_field``
    (the count of top encoder layers fine-tuned) is -1, the whole encoder."""
    return config if is_pretrained(init) else replace(config, **{layers_field: ALL_LAYERS})


def init_encoder_(encoder: nn.Module, init: str, config: ScratchInitConfig = ScratchInitConfig()) -> None:
    """Scratch: draw every weight of ``encoder`` again (``scratch_init_``); pretrained: leave it as loaded."""
    if not is_pretrained(init):
        scratch_init_(encoder, config)


@torch.no_grad()
def scratch_init_(module: nn.Module, config: ScratchInitConfig = ScratchInitConfig()) -> nn.Module:
    """Every parameter of ``module`` from the initializer, in place, from the global torch RNG.

    Linear and Embedding weights: truncated normal (std ``config.std``), an embedding's padding
    row zero (as BERT's initializer); biases zero; LayerNorm, GroupNorm and BatchNorm weight 1,
    bias 0 (BatchNorm's running statistics reset). A parameter held by any other kind of module
    is an error: "every weight from the initializer" is then not what would happen.
    """
    bound = config.truncation * config.std
    covered: set[int] = set()
    for name, sub in module.named_modules():
        if isinstance(sub, (nn.Linear, nn.Embedding)):
            nn.init.trunc_normal_(sub.weight, std=config.std, a=-bound, b=bound)
            if isinstance(sub, nn.Embedding) and sub.padding_idx is not None:
                sub.weight[sub.padding_idx].zero_()
        elif isinstance(sub, NORMS):
            if isinstance(sub, nn.modules.batchnorm._BatchNorm):
                sub.reset_running_stats()
            if sub.weight is not None:
                nn.init.ones_(sub.weight)
        else:
            continue
        if getattr(sub, "bias", None) is not None:
            nn.init.zeros_(sub.bias)
        covered.update(id(p) for p in sub.parameters(recurse=False))
    left = [name for name, p in module.named_parameters() if id(p) not in covered]
    if left:
        raise TypeError(f"scratch_init_ knows no initializer for {', '.join(left[:5])}"
                        f"{' ...' if len(left) > 5 else ''} ({type(module).__name__})")
    return module
