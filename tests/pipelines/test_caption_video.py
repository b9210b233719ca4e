"""VideoCaptioner on a small random-weight export: decoding modes, the MELTR record, bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch

from mmdemo.checkpoint import save_checkpoint
from mmdemo.config import Limits, Settings
from mmdemo.errors import InputError
from mmdemo.media.ffmpeg import ffmpeg_exe
from mmdemo.models.captioner import LOSS_NAMES, Captioner, CaptionerConfig
from mmdemo.models.factory import CAPTIONER
from mmdemo.pipelines.caption_video import CHECKPOINT_DIR, VideoCaptioner

RECORD = {"epochs": [0, 1], "tasks": list(LOSS_NAMES), "weights": [[1.0] * 8, [0.5] * 8], "combiner": "meltr",
          "curves": {"epoch": 1, "anchor": [1.0] * 8, "grid": [0.0, 1.0, 2.0], "output": [[0.0, 1.0, 2.0]] * 8,
                     "weight": [[1.0, 1.0, 1.0]] * 8}}


def ffmpeg(*args) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True, timeout=60)


def export(root: Path, meta: dict) -> Path:
    torch.manual_seed(0)
    config = CaptionerConfig(dim=32, heads=2, ff_dim=64, video_layers=1, cross_layers=1, decoder_layers=1,
                             text_train_layers=0, max_caption_tokens=12)
    model = Captioner.from_config(config, pretrained=True)
    save_checkpoint(root / "checkpoints" / CHECKPOINT_DIR, model.trained_state_dict(), family=CAPTIONER, config=config,
                    meta=meta)
    return root


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x96:rate=8:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           folder / "clip.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x96:rate=8:duration=4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           folder / "long.mp4")
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", folder / "sound.wav")
    (folder / "broken.mp4").write_text("not a video")
    return folder


@pytest.fixture(scope="module")
def captioner(tmp_path_factory) -> VideoCaptioner:
    root = export(tmp_path_factory.mktemp("assets"), {"meltr": RECORD, "features": {"model": "ViT-B-32", "fps": 4}})
    return VideoCaptioner.load(Settings(assets_dir=root, limits=Limits(max_caption_seconds=3)))


def test_greedy_and_beam_captions_from_video_and_transcript(captioner, clips):
    greedy = captioner.run(clips / "clip.mp4")
    assert greedy.mode == "V" and len(greedy.beams) == 1 and greedy.caption == greedy.beams[0]["caption"]
    assert greedy.frames == 8  # 2 s at the export's 4 frames per second
    assert captioner.run(clips / "clip.mp4").caption == greedy.caption  # decoding is deterministic
    beams = captioner.run(clips / "clip.mp4", transcript="  now the red circle moves left ", beam_size=3)
    assert beams.mode == "V+T" and len(beams.beams) == 3
    scores = [b["score"] for b in beams.beams]
    assert scores == sorted(scores, reverse=True)
    assert {"caption", "beams", "mode"} <= set(beams.to_json())
    assert (beams.transcript_source, greedy.transcript_source) == ("typed", None)  # a silent clip: no speech to hear


@pytest.mark.slow
def test_an_empty_transcript_is_recognised_from_the_clips_speech(captioner, narrated_upload):
    clip, narration = narrated_upload
    roomy = VideoCaptioner.load(Settings(assets_dir=captioner.settings.assets_dir))  # the talk is longer than 3 s
    result = roomy.run(clip)
    assert result.mode == "V+T" and result.transcript_source == "speech" and result.language == "en"
    assert "hamstring" in result.transcript
    assert roomy.run(clip, speech=False).mode == "V"
    assert roomy.run(clip, transcript="typed words").transcript == "typed words"


@pytest.mark.parametrize("name, message", [(None, "Please upload a video"), ("sound.wav", "no video stream"),
                                           ("broken.mp4", "Could not read"), ("long.mp4", "up to 3 s"),
                                           ("missing.mp4", "File not found")])
def test_bad_clips_are_refused_with_a_reason(captioner, clips, name, message):
    with pytest.raises(InputError, match=message):
        captioner.run(clips / name if name else None)


def test_the_meltr_record_is_read_from_the_export(captioner):
    record = captioner.meltr_weights()
    assert record.epochs == [1, 2] and record.curves["epoch"] == 2  # counted from 1 everywhere, as the plots show
    assert record.to_json()["epochs"] == [1, 2] and record.tasks == list(LOSS_NAMES)
    assert record.to_json()["weights"][1] == [0.5] * 8
    assert record.curves["grid"] == [0.0, 1.0, 2.0]


def test_an_export_without_a_record_says_so(tmp_path):
    captioner = VideoCaptioner.load(Settings(assets_dir=export(tmp_path, {"task": "caption"})))
    with pytest.raises(InputError, match="no MELTR record"):
        captioner.meltr_weights()


def test_without_a_model_the_captioner_says_what_is_missing(tmp_path, clips):
    captioner = VideoCaptioner.load(Settings(assets_dir=tmp_path))
    assert not captioner.available()
    with pytest.raises(InputError, match="No captioning model"):
        captioner.run(clips / "clip.mp4")
