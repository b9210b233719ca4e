"""One way to make a model: ``create_model(family, config)`` builds one, ``load_model(path)`` rebuilds an export.

A family is the name an export's ``config.json`` gives its model. ``FAMILIES`` maps each name
to its Config dataclass, how to build it and how its export is read back. Exports come in two
kinds, and ``ModelFamily.frozen_prefix`` says which:

- whole (``frozen_prefix`` None): the export holds every tensor; the model is built without
  downloading anything and the tensors are loaded strictly;
- partial: the pretrained layers training froze (under ``frozen_prefix``) are left out of the
  export (``mmdemo.checkpoint.trained_state_dict``); the model is built on the same pretrained
  weights and exactly the exported tensors are loaded over them.

To add a model: its Config dataclass and module in ``models/<name>.py``, then a family constant
and a ``ModelFamily`` line here; its training task names the constant as its ``family``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from torch import nn

from mmdemo.checkpoint import Checkpoint, CheckpointError, config_from_dict, load_checkpoint, load_weights
from mmdemo.data.cityscapes import TRAIN_CLASSES
from mmdemo.models.audio_text import DualEncoder, DualEncoderConfig
from mmdemo.models.captioner import MELTR_PREFIX, Captioner, CaptionerConfig
from mmdemo.models.ccgs import CCGS, CCGSConfig
from mmdemo.models.scene import (
    AudioSceneConfig,
    AudioSceneModel,
    CLIPLateFusion,
    FrameSceneConfig,
    FrameSceneModel,
    FusionConfig,
    SceneModel,
)
from mmdemo.models.segmentation import HRNetSegmenter, SegmentationConfig
from mmdemo.models.span_qa import SpanQA, SpanQAConfig

# Family names, as written in every export's config.json (renaming one orphans its exports).
CCGS_FAMILY = "ccgs"
AUDIO_TEXT = "audio-text-dual-encoder"
SPAN_QA = "span-qa"
CAPTIONER = "univl-captioner"
SEGMENTATION = "segmentation-hrnet"
SCENE_AUDIO = "scene-audio"
SCENE_FRAMES = "scene-frames"
SCENE_FUSION = "scene-fusion"
SCENE_FAMILIES = {"audio": SCENE_AUDIO, "frames": SCENE_FRAMES, "fusion": SCENE_FUSION}  # ensemble name -> family


@dataclass(frozen=True)
class ModelFamily:
    """How to build one family's model and read its export back."""

    config: type  # the Config dataclass config.json's "config" fills
    build: Callable[[Any, bool], nn.Module]  # (config, pretrained) -> model
    what: str  # the model in words, for the error an export of another family gets
    frozen_prefix: str | None = None  # partial exports: the frozen pretrained tensors they leave out
    # The model an export is loaded into; by default built without pretrained weights (a whole
    # export holds them all). Partial exports rebuild the pretrained base they were tuned from.
    rebuild: Callable[[Any], nn.Module] | None = None
    extra_prefix: str | None = None  # tensors written beside the model that it does not hold
    finish: Callable[[nn.Module, Checkpoint], Any] | None = None  # meta checks; may wrap the model


def _without_downloads(build: Callable[[Any], nn.Module]) -> Callable[[Any, bool], nn.Module]:
    """``build`` for configs with a ``pretrained`` switch (timm backbones): off unless asked for."""
    def build_model(config: Any, pretrained: bool) -> nn.Module:
        if not pretrained and isinstance(getattr(config, "pretrained", None), bool):
            config = replace(config, pretrained=False)
        return build(config)
    return build_model


def _scene_model(name: str) -> Callable[[nn.Module, Checkpoint], SceneModel]:
    def finish(model: nn.Module, checkpoint: Checkpoint) -> SceneModel:
        classes = checkpoint.meta.get("classes")
        if not isinstance(classes, list) or len(classes) != model.config.num_classes:
            raise CheckpointError(f"Checkpoint {checkpoint.path}: meta.json needs 'classes', a list of "
                                  f"{model.config.num_classes} class names (one per output).")
        return SceneModel(name, model, tuple(classes))
    return finish


def _check_cityscapes_classes(model: nn.Module, checkpoint: Checkpoint) -> nn.Module:
    classes = checkpoint.meta.get("classes")
    if classes != list(TRAIN_CLASSES):
        raise CheckpointError(f"Checkpoint {checkpoint.path}: meta.json 'classes' must be the 19 Cityscapes "
                              f"train classes in train-id order; got {classes!r}.")
    return model


FAMILIES: dict[str, ModelFamily] = {
    # A layer count >= 0 means the model was tuned from pretrained weights with its lower layers
    # frozen; -1 (from scratch) trains and exports everything.
    CCGS_FAMILY: ModelFamily(CCGSConfig, CCGS.from_config, "CCGS", frozen_prefix="plm.",
                             rebuild=lambda config: CCGS.from_config(config, config.train_plm_layers >= 0)),
    AUDIO_TEXT: ModelFamily(  # PaSST's release weights are not needed: the export holds the audio tower
        DualEncoderConfig, DualEncoder.from_config, "an audio-text dual encoder", frozen_prefix="text.backbone.",
        rebuild=lambda config: DualEncoder.from_config(config, config.text_train_layers >= 0, pretrained_audio=False)),
    SPAN_QA: ModelFamily(SpanQAConfig, SpanQA.from_config, "a span QA reader", frozen_prefix="encoder.",
                         rebuild=lambda config: SpanQA.from_config(config, config.train_layers >= 0)),
    CAPTIONER: ModelFamily(CaptionerConfig, Captioner.from_config, "a video captioner", frozen_prefix="text.backbone.",
                           rebuild=lambda config: Captioner.from_config(config, config.text_train_layers >= 0),
                           extra_prefix=MELTR_PREFIX),
    SEGMENTATION: ModelFamily(SegmentationConfig, _without_downloads(HRNetSegmenter), "a segmentation model",
                              finish=_check_cityscapes_classes),
    SCENE_AUDIO: ModelFamily(AudioSceneConfig, _without_downloads(AudioSceneModel), "an audio scene model",
                             finish=_scene_model("audio")),
    SCENE_FRAMES: ModelFamily(FrameSceneConfig, _without_downloads(FrameSceneModel), "a frame scene model",
                              finish=_scene_model("frames")),
    SCENE_FUSION: ModelFamily(FusionConfig, _without_downloads(CLIPLateFusion), "a CLIP late fusion model",
                              finish=_scene_model("fusion")),
}


def register_family(name: str, family: ModelFamily) -> None:
    """Add a family outside the library (the trainer's toy model); a name is never redefined."""
    if name in FAMILIES and FAMILIES[name].config is not family.config:
        raise ValueError(f"model family {name!r} is already registered")
    FAMILIES[name] = family


def create_model(family: str, config: Any, pretrained: bool = True) -> nn.Module:
    """A new ``family`` model from its Config; ``pretrained=False`` draws every weight at random, offline."""
    if family not in FAMILIES:
        raise ValueError(f"Unknown model family {family!r}; the families are: {', '.join(sorted(FAMILIES))}.")
    return FAMILIES[family].build(config, pretrained)


def load_model(path: str | Path, family: str | tuple[str, ...] | None = None) -> Any:
    """Rebuild the export at ``path`` in eval mode; ``family`` (one or several) refuses any other.

    Scene exports come back as a ``SceneModel`` (the module with its class names), every other
    family as the module itself.
    """
    checkpoint = load_checkpoint(path)
    expected = (family,) if isinstance(family, str) else family
    if expected is not None and checkpoint.family not in expected:
        what = " or ".join(FAMILIES[name].what if name in FAMILIES else name for name in expected)
        raise CheckpointError(f"{checkpoint.path} holds a '{checkpoint.family}' model, not {what}.")
    if checkpoint.family not in FAMILIES:
        raise CheckpointError(f"Checkpoint {checkpoint.path} is a '{checkpoint.family}' model; "
                              f"expected one of: {', '.join(sorted(FAMILIES))}.")
    spec = FAMILIES[checkpoint.family]
    config = config_from_dict(spec.config, checkpoint.config)
    model = spec.rebuild(config) if spec.rebuild else spec.build(config, False)
    state = checkpoint.state_dict
    if spec.extra_prefix:
        state = {name: t for name, t in state.items() if not name.startswith(spec.extra_prefix)}
    load_weights(model, state, checkpoint.path, spec.frozen_prefix)
    model.eval()
    return spec.finish(model, checkpoint) if spec.finish else model
