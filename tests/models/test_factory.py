"""The model factory: every bundled export loads through ``load_model``, families are refused by name."""

from __future__ import annotations

import pytest
import torch

from mmdemo.checkpoint import CONFIG_FILE, CheckpointError, load_checkpoint, save_checkpoint
from mmdemo.config import REPO_ROOT
from mmdemo.models.factory import (
    FAMILIES,
    SCENE_AUDIO,
    SCENE_FAMILIES,
    SEGMENTATION,
    ModelFamily,
    create_model,
    load_model,
    register_family,
)
from mmdemo.models.scene import AudioSceneConfig, SceneModel

BUNDLED = sorted(path.parent for path in (REPO_ROOT / "assets" / "checkpoints").rglob(CONFIG_FILE))


def test_there_are_bundled_exports():
    assert len(BUNDLED) >= 5


@pytest.mark.parametrize("export", BUNDLED, ids=lambda path: path.relative_to(REPO_ROOT / "assets" / "checkpoints").as_posix())
def test_every_bundled_export_loads_unchanged(export):
    family = load_checkpoint(export).family
    loaded = load_model(export, family)
    model = loaded.model if isinstance(loaded, SceneModel) else loaded
    assert not model.training
    if family in SCENE_FAMILIES.values():
        assert SCENE_FAMILIES[loaded.name] == family


def test_another_family_is_refused_by_name(tmp_path):
    model = create_model(SCENE_AUDIO, AudioSceneConfig(num_classes=2), pretrained=False)
    save_checkpoint(tmp_path / "scene", model, family=SCENE_AUDIO, config=model.config, meta={"classes": ["a", "b"]})
    with pytest.raises(CheckpointError, match="'scene-audio' model, not a segmentation model"):
        load_model(tmp_path / "scene", SEGMENTATION)
    assert load_model(tmp_path / "scene").classes == ("a", "b")


def test_without_pretrained_no_weights_are_downloaded():
    model = create_model(SCENE_AUDIO, AudioSceneConfig(num_classes=2, pretrained=True), pretrained=False)
    assert model.config.pretrained is False


def test_a_family_name_is_never_redefined(monkeypatch):
    monkeypatch.setattr("mmdemo.models.factory.FAMILIES", dict(FAMILIES))
    linear = ModelFamily(dict, lambda config, pretrained: torch.nn.Linear(1, 1), "a linear layer")
    register_family("linear", linear)
    register_family("linear", linear)  # the same family again (a module imported twice) is fine
    with pytest.raises(ValueError, match="already registered"):
        register_family(SCENE_AUDIO, linear)
