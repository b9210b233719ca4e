"""``--init scratch`` for every task: the paper's initializer, the whole encoder trained, exact exports."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from mmdemo.checkpoint import save_checkpoint
from mmdemo.models.encoders import TextEncoder, TextEncoderConfig
from mmdemo.models.factory import load_model
from training.scratch import ScratchInitConfig, is_pretrained, scratch_init_
from training.tasks.audio_retrieval import AudioRetrievalTask, AudioRetrievalTaskConfig
from training.tasks.caption import CaptionTask, CaptionTaskConfig
from training.tasks.ccgs import CCGSTask, CCGSTaskConfig
from training.tasks.scene import SceneTask, SceneTaskConfig
from training.trainer import seed_everything

# Truncated at +-2 std, a normal's std shrinks by this factor (the variance of N(0,1) cut at +-2).
TRUNCATED_STD = 0.8796


def test_scratch_init_draws_a_truncated_normal_and_resets_norms():
    module = nn.Sequential(nn.Embedding(4000, 64, padding_idx=0), nn.Linear(64, 64), nn.LayerNorm(64),
                           nn.BatchNorm1d(64))
    for p in module.parameters():
        nn.init.constant_(p, 0.5)
    module[3].running_mean.fill_(3.0)
    torch.manual_seed(0)
    scratch_init_(module)
    embedding, linear, norm, batch_norm = module
    weights = torch.cat([embedding.weight[1:].flatten(), linear.weight.flatten()])
    assert weights.abs().max() <= 2 * 0.02
    assert weights.std().item() == pytest.approx(0.02 * TRUNCATED_STD, rel=0.02)
    assert not embedding.weight[0].any() and not linear.bias.any()  # padding row and biases zero
    assert bool((norm.weight == 1).all() and (norm.bias == 0).all() and (batch_norm.weight == 1).all())
    assert not batch_norm.running_mean.any()


def test_scratch_init_refuses_what_it_cannot_draw():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(4, 4)
            self.scale = nn.Parameter(torch.ones(1))

    with pytest.raises(TypeError, match="scale"):
        scratch_init_(Scaled())
    with pytest.raises(ValueError, match="pretrained, scratch"):
        is_pretrained("random")


def pretrained_minilm() -> nn.Module:
    return TextEncoder.from_config(TextEncoderConfig(), pretrained=True).backbone


def build(task, init: str) -> nn.Module:
    seed_everything(0)
    return task.build_model(init)


# task, its encoder inside the model, the model config's "top layers trained" field, the export loader
CASES = {
    "ccgs": (lambda: CCGSTask(CCGSTaskConfig(model=replace(CCGSTaskConfig().model, plm_layers=2, hidden=32))),
             lambda model: model.plm, "train_plm_layers", load_model),
    "audio-retrieval": (lambda: AudioRetrievalTask(AudioRetrievalTaskConfig()),
                        lambda model: model.text.backbone, "text_train_layers", load_model),
    "caption": (lambda: CaptionTask(CaptionTaskConfig()),
                lambda model: model.captioner.text.backbone, "text_train_layers", load_model),
}


@pytest.mark.parametrize("name", list(CASES))
def test_scratch_trains_a_random_encoder_whole_and_its_export_reloads_exactly(name, tmp_path):
    make_task, encoder_of, layers_field, load = CASES[name]
    task = make_task()
    assert getattr(task.config.model, layers_field) >= 0  # the pretrained recipe freezes the lower layers
    model = build(task, "scratch")
    encoder = encoder_of(model)
    assert getattr(task.model_config(), layers_field) == -1
    assert all(p.requires_grad for p in encoder.parameters())

    # every weight comes from the scratch initializer, none from the pretrained MiniLM
    reference = dict(pretrained_minilm().named_parameters())
    matrices = [p for n, p in encoder.named_parameters() if p.dim() == 2]
    assert not any(torch.equal(p, reference[n]) for n, p in encoder.named_parameters() if p.dim() == 2)
    drawn = torch.cat([p.flatten() for p in matrices])
    assert drawn.abs().max() <= 2 * ScratchInitConfig().std
    assert drawn.std().item() == pytest.approx(ScratchInitConfig().std * TRUNCATED_STD, rel=0.05)

    # "training" moves every weight; the export holds them all and reloads them bit for bit
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 1e-3)
    save_checkpoint(tmp_path / "export", task.export_state(model), family=task.family, config=task.model_config())
    reloaded = load(tmp_path / "export")
    mine = model.captioner.state_dict() if name == "caption" else model.state_dict()
    theirs = reloaded.state_dict()
    assert set(theirs) == set(mine) and all(torch.equal(theirs[k], mine[k]) for k in mine)


def test_pretrained_keeps_the_recipe():
    task = CCGSTask(CCGSTaskConfig(model=replace(CCGSTaskConfig().model, plm_layers=3, hidden=32)))
    model = build(task, "pretrained")
    assert task.model_config() == task.config.model
    reference = dict(pretrained_minilm().named_parameters())
    assert all(torch.equal(p, reference[n]) for n, p in model.plm.named_parameters())
    trainable = {n.split(".")[2] for n, p in model.plm.named_parameters() if p.requires_grad}
    assert trainable == {"1", "2"}  # the top train_plm_layers = 2 of 3; embeddings and layer 0 frozen


def test_scene_scratch_never_asks_for_pretrained_backbones_or_clip_features():
    fusion = SceneTask(SceneTaskConfig(model="fusion", fusion=replace(SceneTaskConfig().fusion, pretrained="openai")))
    frames = SceneTask(SceneTaskConfig(model="frames", frames=replace(SceneTaskConfig().frames, pretrained=True)))
    assert fusion.model_config().pretrained == "openai" and frames.model_config().pretrained is True
    build(fusion, "scratch")
    model = build(frames, "scratch")  # pretrained=True would download ImageNet weights: offline, this would fail
    assert fusion.model_config().pretrained == "" and frames.model_config().pretrained is False
    assert model.config.pretrained is False
