"""Every task trains and evaluates with ``train.precision=bf16``, through the real CLI on tiny data.

CPU autocast casts matmuls and convolutions to bfloat16 as CUDA's does, so the bugs a GPU run
would otherwise find first (a bf16 tensor handed to numpy, a metric computed in bf16, a CPU
tensor beside a CUDA one) fail here on any machine; ``MMDEMO_TEST_DEVICE=cuda`` runs the same
on a GPU.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from training.__main__ import main as train_main
from training.config import TrainConfig
from training.tasks.toy import ToyConfig, ToyTask
from training.trainer import Run, fit

REPO = Path(__file__).resolve().parents[2]
COMMON = ["--epochs", "1", "--set", "train.precision=bf16", "--set", "train.checkpoint_every=0",
          "--set", "train.log_every=1"]


class AutocastProbe(ToyTask):
    """The toy task, noting whether each of its hooks ran under autocast (and in which dtype)."""

    seen: dict[str, tuple[bool, torch.dtype]] = {}

    def compute_losses(self, model, batch):
        self.seen["train"] = (torch.is_autocast_enabled(batch[0].device.type), model(batch[0]).dtype)
        return super().compute_losses(model, batch)

    def evaluate(self, model, batches):
        batches = list(batches)
        self.seen["evaluate"] = (torch.is_autocast_enabled(batches[0][0].device.type), model(batches[0][0]).dtype)
        return super().evaluate(model, batches)


@pytest.mark.parametrize("precision", ["auto", "bf16", "fp32"])
def test_precision_sets_training_autocast_and_evaluation_is_float32(precision, device, tmp_path):
    fit(Run("toy", AutocastProbe, tmp_path, tmp_path / "run", TrainConfig(epochs=1, batch_size=16, precision=precision),
            ToyConfig(n_train=32, n_val=16), device=device))
    bf16 = precision == "bf16" or (precision == "auto" and device == "cuda")
    assert AutocastProbe.seen["train"] == (bf16, torch.bfloat16 if bf16 else torch.float32)
    assert AutocastProbe.seen["evaluate"] == (False, torch.float32)  # as mmdemo serves the export


def clotho(root: Path) -> list[str]:
    from training.data.synthetic_audio import SyntheticAudioConfig, generate_clotho

    generate_clotho(root, train=8, val=4, seed=0, config=SyntheticAudioConfig(seconds=2.0))
    return ["audio-retrieval", "--set", "train.batch_size=4", "--set", "task.model.embed_dim=32",
            "--set", "task.model.text_train_layers=1", "--set", "task.model.audio.cnn_channels=[4,8]",
            "--set", "task.model.audio.cnn_segment_seconds=2.0"]


def medvidqa(root: Path) -> list[str]:
    from training.data.synthetic_qa import generate, write_medvidqa_layout

    for split, count, seed in (("train", 4, 0), ("val", 2, 1)):
        write_medvidqa_layout(root, *generate(count, seed=seed, prefix=split), split)
    return ["ccgs", "--set", "train.batch_size=2", "--set", "task.crop_sentences=16", "--set", "task.eval_candidates=2",
            "--set", "task.model.plm_layers=1", "--set", "task.model.train_plm_layers=1", "--set", "task.model.hidden=32"]


def tau(model: str):
    def build(root: Path) -> list[str]:
        from training.data.synthetic_scenes import SynthConfig, generate

        generate(root, clips_per_class=2, config=replace(SynthConfig(), seconds=2.0))
        return ["scene", "--config", str(REPO / f"training/configs/scene_{model}.yaml"), "--set", "train.batch_size=8",
                "--set", "task.frames.image_size=32"]
    return build


def squad(root: Path) -> list[str]:
    from training.data.medvidqa_spans import write_dataset

    write_dataset(root, None, synthetic=3, synthetic_val=1, seed=0)
    return ["extractive-qa", "--set", "train.batch_size=4", "--set", "task.model.encoder_layers=1",
            "--set", "task.model.train_layers=1", "--set", "task.model.max_length=64", "--set", "task.model.doc_stride=16",
            "--set", "task.model.max_answer_tokens=48"]


def streets(root: Path) -> list[str]:
    from training.data.synthetic_streets import StreetConfig, generate

    generate(root, train=2, val=1, train_cities=1, config=StreetConfig(height=64, width=128))
    return ["segmentation", "--init", "scratch", "--config", str(REPO / "training/configs/segmentation_synthetic.yaml"),
            "--set", "task.model.input_size=[32,64]", "--set", "train.batch_size=2"]


BUILDERS = {"ccgs": medvidqa, "audio-retrieval": clotho, "scene-audio": tau("audio"), "scene-frames": tau("frames"),
            "extractive-qa": squad, "segmentation": streets}


@pytest.mark.slow
@pytest.mark.parametrize("run", [*BUILDERS, "caption-meltr", "caption-mtl"])
def test_one_epoch_under_bf16_autocast_trains_and_evaluates(run, device, caption_data, caption_tiny, tmp_path):
    if run.startswith("caption-"):
        data, argv = caption_data, ["caption", "--config", str(REPO / "training/configs/caption_synthetic.yaml"),
                                    "--set", f"task.combiner={run[len('caption-'):]}",
                                    *[arg for value in caption_tiny for arg in ("--set", value)]]
    else:
        data = tmp_path / "data"
        argv = BUILDERS[run](data)
    summary = train_main([*argv, "--data", str(data), "--out", str(tmp_path / "run"), "--device", device, *COMMON])
    assert summary["status"] == "finished"
    metrics = summary["best"]["metrics"]
    assert metrics and all(isinstance(v, float) and math.isfinite(v) for v in metrics.values()), metrics
