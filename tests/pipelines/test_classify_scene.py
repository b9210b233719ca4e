"""SceneClassifier on a random-weight checkpoint set: answers, abstentions and bad uploads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from mmdemo.checkpoint import CheckpointError, save_checkpoint
from mmdemo.config import Limits, Settings
from mmdemo.errors import InputError
from mmdemo.media.ffmpeg import ffmpeg_exe
from mmdemo.models.factory import SCENE_AUDIO, SCENE_FRAMES, SCENE_FUSION
from mmdemo.models.scene import (
    AudioSceneConfig,
    AudioSceneModel,
    CLIPLateFusion,
    FrameSceneConfig,
    FrameSceneModel,
    FusionConfig,
)
from mmdemo.models.scene_ensemble import EnsembleConfig
from mmdemo.pipelines.classify_scene import (
    CHECKPOINT_DIR,
    ENSEMBLE_FILE,
    SceneClassifier,
)

CLASSES = ["bus", "park", "tram"]
ENCODER = "ViT-S-32-alt"  # a small open_clip model: random weights offline, 256-d


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True, timeout=120)


def export(folder: Path, family: str, model: torch.nn.Module, classes=CLASSES) -> None:
    save_checkpoint(folder, model, family=family, config=model.config, meta={"task": "test", "classes": list(classes)})


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """<root>/scene/ with all three models (random weights) and a fitted-looking ensemble.json."""
    root = tmp_path_factory.mktemp("checkpoints")
    scene = root / CHECKPOINT_DIR
    torch.manual_seed(0)
    export(scene / "audio", SCENE_AUDIO, AudioSceneModel(AudioSceneConfig(num_classes=3)))
    export(scene / "frames", SCENE_FRAMES, FrameSceneModel(FrameSceneConfig(num_classes=3, image_size=32)))
    export(scene / "fusion", SCENE_FUSION, CLIPLateFusion(FusionConfig(num_classes=3, encoders=(ENCODER,))))
    config = EnsembleConfig(selection={"bus": ("audio",), "park": ("frames", "fusion")})
    (scene / ENSEMBLE_FILE).write_text(json.dumps({"config": {"selection": config.selection}, "fitted": {}}))
    return root


@pytest.fixture(scope="module")
def classifier(root) -> SceneClassifier:
    return SceneClassifier.load(Settings(checkpoints_dir=root, limits=Limits(max_scene_seconds=8.0)))


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    video = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=3"]
    sine = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3"]
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    ffmpeg(*video, *sine, *h264, "-c:a", "aac", "-shortest", folder / "clip.mp4")
    ffmpeg(*video, *h264, folder / "silent.mp4")
    ffmpeg(*sine, folder / "sound.wav")
    ffmpeg(*video, *h264, "-frames:v", "1", folder / "one_frame.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=2160x3840:rate=5:duration=0.4", *h264, folder / "portrait_4k.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=10", *h264, folder / "long.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", folder / "still.png")
    (folder / "notes.mp4").write_text("this is not a video")
    return folder


def test_a_clip_gets_every_model_and_the_ensemble(classifier, media):
    result = classifier.run(media / "clip.mp4")
    answer = result.to_json()
    assert set(answer) == {"label", "probabilities", "per_model", "rule", "abstained"}
    assert answer["label"] in CLASSES and answer["abstained"] == {}
    assert set(answer["per_model"]) == {"audio", "frames", "fusion"}
    for probs in (answer["probabilities"], *answer["per_model"].values()):
        assert list(probs) == CLASSES and sum(probs.values()) == pytest.approx(1.0, abs=1e-3)
    assert json.loads(json.dumps(answer)) == answer
    # section 2.2: 12 frames per 10 s -> 4 of a 3 s clip, in time order, as uint8 images
    assert result.frames.shape[0] == 4 and result.frames.dtype == np.uint8 and result.frames.shape[-1] == 3
    assert result.frame_times == sorted(result.frame_times) and result.frame_times[-1] < 3.0
    assert set(result.timings) == {"decode", "features", "audio", "frames", "fusion", "ensemble"}
    assert all(seconds >= 0 for seconds in result.timings.values())
    assert result.rule  # one line for people, whatever decided


def test_the_fitted_ensemble_json_is_used(classifier):
    config = classifier.ensemble_config()
    assert config.selection == {"bus": ["audio"], "park": ["frames", "fusion"]}
    assert config.audio_replacement and config.post_processing


def test_a_video_without_sound_gets_an_answer_and_the_audio_model_abstains(classifier, media):
    result = classifier.run(media / "silent.mp4")
    assert result.abstained == {"audio": "the clip has no audio track"}
    assert set(result.per_model) == {"frames", "fusion"} and result.label in CLASSES


def test_an_audio_only_file_gets_an_audio_only_answer(classifier, media):
    result = classifier.run(media / "sound.wav")
    assert set(result.abstained) == {"frames", "fusion"} and "no video stream" in result.abstained["frames"]
    assert set(result.per_model) == {"audio"} and result.frames.shape[0] == 0
    assert result.rule == "only audio available"
    audio = result.per_model["audio"]
    assert result.label == max(audio, key=audio.get)


def test_one_frame_and_portrait_4k_videos_are_resized_and_classified(classifier, media):
    one = classifier.run(media / "one_frame.mp4")
    assert one.frames.shape[0] == 1 and one.label in CLASSES
    tall = classifier.run(media / "portrait_4k.mp4")
    height, width = tall.frames.shape[1:3]
    assert height > width and width == 224  # decoded at the CLIP encoder's size, not at 2160 x 3840
    assert tall.abstained == {"audio": "the clip has no audio track"}


@pytest.mark.parametrize("name, message", [
    ("notes.mp4", "not a video or audio file"),
    ("still.png", "still image"),
    ("long.mp4", "10 s long; scene classification takes clips of up to 8 s"),
    ("missing.mp4", "File not found"),
])
def test_bad_uploads_are_refused_with_a_reason(classifier, media, name, message):
    with pytest.raises(InputError, match=message):
        classifier.run(media / name)


def test_no_upload_is_refused(classifier):
    with pytest.raises(InputError, match="Please upload"):
        classifier.run(None)


def test_a_set_without_an_audio_model_cannot_answer_an_audio_only_file(root, media, tmp_path):
    only_frames = tmp_path / "set"
    (only_frames / "frames").parent.mkdir()
    (only_frames / "frames").symlink_to(root / CHECKPOINT_DIR / "frames")
    classifier = SceneClassifier.from_dir(only_frames)
    assert classifier.installed() == ["frames"] and not classifier.describe()["ensemble_fitted"]
    with pytest.raises(InputError, match="None of the installed scene models.*no video stream"):
        classifier.run(media / "sound.wav")
    assert classifier.run(media / "clip.mp4").rule == "only frames available"


def test_missing_or_mismatched_checkpoints_are_clear_errors(root, tmp_path, media):
    with pytest.raises(InputError, match="No scene classification model is installed"):
        SceneClassifier.from_dir(tmp_path / "empty").run(media / "clip.mp4")
    mixed = tmp_path / "mixed"
    (mixed / "frames").parent.mkdir()
    (mixed / "frames").symlink_to(root / CHECKPOINT_DIR / "frames")
    torch.manual_seed(0)
    export(mixed / "audio", SCENE_AUDIO, AudioSceneModel(AudioSceneConfig(num_classes=2)), classes=["bus", "tram"])
    with pytest.raises(CheckpointError, match="different class lists"):
        SceneClassifier.from_dir(mixed).models()
    swapped = tmp_path / "swapped"
    (swapped / "audio").parent.mkdir()
    (swapped / "audio").symlink_to(root / CHECKPOINT_DIR / "frames")
    with pytest.raises(CheckpointError, match="holds a 'frames' model"):
        SceneClassifier.from_dir(swapped).models()


def test_ten_seconds_of_silence_is_said_as_such_not_classified(classifier, tmp_path):
    """Issue 16: a silent track got "street_traffic" at 0.991 from the audio model; now it abstains."""
    video = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=8"]
    quiet = ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "8"]
    ffmpeg(*video, *quiet, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
           "-shortest", tmp_path / "hush.mp4")
    result = classifier.run(tmp_path / "hush.mp4")
    assert set(result.abstained) == {"audio"} and "silent" in result.abstained["audio"]
    assert "audio" not in result.per_model and set(result.per_model) == {"frames", "fusion"}
    ffmpeg(*quiet, tmp_path / "hush.wav")
    with pytest.raises(InputError, match="silent"):
        classifier.run(tmp_path / "hush.wav")  # nothing left that could answer


def test_loudness_of_silence_and_of_a_tone():
    from mmdemo.pipelines.classify_scene import SILENCE_DBFS, loudness_dbfs

    assert loudness_dbfs(np.zeros(48000, np.float32)) == float("-inf")
    assert loudness_dbfs(np.full(100, 1e-4, np.float32)) < SILENCE_DBFS  # -80 dBFS: hiss at most
    tone = 0.1 * np.sin(np.linspace(0, 2 * np.pi * 440, 48000)).astype(np.float32)
    assert loudness_dbfs(tone) == pytest.approx(-23.0, abs=0.1)


@pytest.mark.slow
def test_the_bundled_models_answer_on_real_footage():
    """The real vtest.avi cut in the Scene examples (no sound track): every video model's view, no crash."""
    from mmdemo.config import DEFAULT_ASSETS

    bundled = SceneClassifier.load(Settings())
    result = bundled.run(DEFAULT_ASSETS / "scene_examples" / "real-vtest-campus-road-10s.mp4")
    assert result.abstained == {"audio": "the clip has no audio track"}
    assert set(result.per_model) == {"frames", "fusion"} and result.label in bundled.classes
    assert bundled.models()["fusion"].model.config.encoders == ("efficientnet_lite0",)
    assert result.frames.shape[0] == 12
