"""Fixtures the training tests share: the device they train on, and the tiny captioning set.

``MMDEMO_TEST_DEVICE=cuda pytest tests/training`` runs every training test that takes ``device``
on the GPU (default: cpu). Asking for cuda where PyTorch sees none fails those tests rather than
skipping them, so a GPU run can never pass by testing nothing.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

DEVICES = ("cpu", "cuda")

# The bundled caption config, shrunk: a width-32 captioner, a width-32 MELTR, a meta step every 2nd batch.
CAPTION_TINY = ["task.model.frame_dim=16", "task.model.max_frames=8", "task.model.max_caption_tokens=24",
                "task.model.text.max_length=16", "task.model.dim=32", "task.model.heads=2", "task.model.ff_dim=64",
                "task.meltr.dim=32", "task.meltr.ff_dim=64", "task.meltr.scale_hidden=16", "task.aid.inner_steps=2",
                "task.meta_fraction=0.25", "task.meta_batch_size=4", "task.max_length=8", "train.batch_size=6",
                "train.lr=2e-3", "train.warmup_ratio=0", "train.log_every=1"]


@pytest.fixture(scope="session")
def device() -> str:
    """The ``--device`` to train on: $MMDEMO_TEST_DEVICE, cpu when unset."""
    name = os.environ.get("MMDEMO_TEST_DEVICE", "cpu")
    if name not in DEVICES:
        pytest.fail(f"MMDEMO_TEST_DEVICE must be one of {', '.join(DEVICES)}; got {name!r}.")
    if name == "cuda" and not torch.cuda.is_available():
        pytest.fail("MMDEMO_TEST_DEVICE=cuda, but PyTorch sees no CUDA device.")
    return name


@pytest.fixture(scope="session")
def caption_tiny() -> list[str]:
    """``--set`` values that shrink the caption task to seconds on ``caption_data``."""
    return list(CAPTION_TINY)


@pytest.fixture(scope="session")
def caption_data(tmp_path_factory) -> Path:
    """16 train (4 of them meta-data) / 4 val clips; each clip's 'features' are noise around a vector of its content."""
    from safetensors.numpy import save_file

    from mmdemo.data.caption_annotations import read_msrvtt
    from training.data.synthetic_captions import SyntheticCaptionConfig, generate

    root = tmp_path_factory.mktemp("captions")
    generate(root, train=16, val=4, config=replace(SyntheticCaptionConfig(), seconds=1.0, size=32, fps=4))
    rng = np.random.default_rng(0)
    (root / "features").mkdir()
    for clip in read_msrvtt(root / "annotations.json"):
        content = np.frombuffer(clip.captions[0].encode()[:16].ljust(16), dtype=np.uint8) / 255.0
        frames = (content + 0.1 * rng.standard_normal((4, 16))).astype(np.float32)
        save_file({"embeddings": frames, "times": np.arange(4, dtype=np.float32) / 4},
                  str(root / "features" / f"{clip.video_id}.safetensors"),
                  metadata={"model": "random", "pretrained": "", "seed": "0", "fps": "4.0"})
    return root
