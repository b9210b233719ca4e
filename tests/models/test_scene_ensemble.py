import numpy as np
import pytest

from mmdemo.metrics import log_loss
from mmdemo.models.scene_ensemble import (
    EnsembleConfig,
    calibrate,
    fit_classwise_selection,
    run_ensemble,
    stage_metrics,
)

CLASSES = ("park", "bus", "tram")
PLAIN = EnsembleConfig(classwise_selection=False, audio_replacement=False, post_processing=False)


def test_eq_1_on_hand_computed_values():
    x = np.array([0.0, 0.03, 0.06, 0.0601, 0.2, 0.2001, 0.5, 0.7, 0.7001, 1.0])
    expected = [0.001, 0.001, 0.001, 0.06, 0.06, 0.2001, 0.5, 0.7, 0.99, 0.99]
    np.testing.assert_allclose(calibrate(x), expected)


def test_eq_1_parameters_come_from_the_config():
    config = EnsembleConfig(post_edges=(0.1, 0.3, 0.9), post_low=0.01, post_mid=0.1, post_high=0.95)
    np.testing.assert_allclose(calibrate(np.array([0.05, 0.2, 0.5, 0.95]), config), [0.01, 0.1, 0.5, 0.95])


def test_post_processing_stage_renormalises_eq_1():
    probs = {"audio": np.array([[0.75, 0.2, 0.05]])}
    result = run_ensemble(probs, CLASSES, EnsembleConfig(audio_replacement=False))
    np.testing.assert_allclose(result.fused, [[0.75, 0.2, 0.05]])
    np.testing.assert_allclose(result.post, [[0.99 / 1.051, 0.06 / 1.051, 0.001 / 1.051]])  # f = (0.99, 0.06, 0.001)
    np.testing.assert_allclose(result.final, result.post)
    raw = run_ensemble(probs, CLASSES, EnsembleConfig(audio_replacement=False, post_renormalize=False))
    np.testing.assert_allclose(raw.post, [[0.99, 0.06, 0.001]])
    off = run_ensemble(probs, CLASSES, PLAIN)
    assert off.post is None and off.final is off.fused


def test_average_of_all_models():
    probs = {"audio": np.array([[0.6, 0.3, 0.1]]), "video": np.array([[0.2, 0.5, 0.3]]), "clip": np.array([[0.1, 0.7, 0.2]])}
    result = run_ensemble(probs, CLASSES, PLAIN)
    np.testing.assert_allclose(result.fused, [[0.3, 0.5, 0.2]])
    assert result.labels.tolist() == [1] and result.rules == ["average of all models"]
    assert not result.replaced.any()


def test_classwise_selection_uses_the_chosen_models_per_class():
    probs = {"audio": np.array([[0.6, 0.3, 0.1]]), "video": np.array([[0.15, 0.55, 0.3]])}  # gap 0.05: no replacement
    selection = {"park": ("audio",), "bus": ("video",), "tram": ("audio", "video")}
    result = run_ensemble(probs, CLASSES, EnsembleConfig(selection=selection, post_processing=False))
    raw = np.array([0.6, 0.55, 0.2])  # park from audio, bus from video, tram their mean
    np.testing.assert_allclose(result.fused, [raw / raw.sum()])
    assert result.labels.tolist() == [0]
    assert result.rules == ["class-wise selection: audio for 'park'"]
    assert result.used_models["bus"] == ("video",)
    # the same clip without the rule: the plain average picks bus
    off = run_ensemble(probs, CLASSES, EnsembleConfig(selection=selection, classwise_selection=False, post_processing=False))
    np.testing.assert_allclose(off.fused, [[0.375, 0.425, 0.2]])
    assert off.labels.tolist() == [1] and off.rules == ["average of all models"]


def test_audio_replaces_video_when_video_is_0_20_less_sure():
    audio = np.array([[0.9, 0.05, 0.05], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.1, 0.2, 0.7]])
    video = np.array([[0.1, 0.35, 0.55], [0.1, 0.4, 0.5], [0.5, 0.3, 0.2], [0.49, 0.3, 0.21]])
    clip = np.array([[0.1, 0.35, 0.55], [0.2, 0.3, 0.5], [0.5, 0.3, 0.2], [0.49, 0.3, 0.21]])
    probs = {"audio": audio, "video": video, "clip": clip}  # audio max - mean video max: 0.35, 0.0, 0.20, 0.21
    result = run_ensemble(probs, CLASSES, EnsembleConfig(post_processing=False))
    assert result.replaced.tolist() == [True, False, True, True]  # a gap of exactly 0.20 counts
    np.testing.assert_allclose(result.fused[[0, 2, 3]], audio[[0, 2, 3]])
    np.testing.assert_allclose(result.fused[1], (audio[1] + video[1] + clip[1]) / 3)
    assert result.rules[0] == "video confidence 0.35 below audio: audio used"
    assert result.rules[2] == "video confidence 0.20 below audio: audio used"
    assert result.rules[1] == "average of all models"
    assert result.labels.tolist() == [0, 2, 2, 2]
    off = run_ensemble(probs, CLASSES, EnsembleConfig(audio_replacement=False, post_processing=False))
    assert not off.replaced.any() and off.labels[0] == 2  # without the rule, the video models' tram wins


def test_replacement_compares_the_video_models_average():
    audio = np.array([[0.6, 0.2, 0.2]])
    sure_video = np.array([[0.1, 0.8, 0.1]])  # alone it is surer than audio ...
    unsure_clip = np.array([[0.1, 0.1, 0.8]])  # ... but the two video models average to max 0.45
    result = run_ensemble({"audio": audio, "video": sure_video, "clip": unsure_clip}, CLASSES, EnsembleConfig(post_processing=False))
    assert result.replaced.tolist() == [False]  # gap 0.15


def test_missing_models_fall_back_gracefully():
    video = np.array([[0.2, 0.5, 0.3]])
    config = EnsembleConfig(selection={"park": ("audio",), "bus": ("audio",), "tram": ("audio", "video")})
    alone = run_ensemble({"video": video}, CLASSES, config)
    np.testing.assert_allclose(alone.fused, video)
    assert alone.rules == ["only video available"]
    two = run_ensemble({"video": video, "clip": np.array([[0.4, 0.3, 0.3]])}, CLASSES, config)
    np.testing.assert_allclose(two.fused, [[0.3, 0.4, 0.3]])
    assert two.rules == ["average of all models"] and not two.replaced.any()


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="at least one model"):
        run_ensemble({}, CLASSES)
    with pytest.raises(ValueError, match="3 classes"):
        run_ensemble({"audio": np.ones((2, 3)), "video": np.ones((3, 3))}, CLASSES)
    with pytest.raises(ValueError, match="3 classes"):
        run_ensemble({"audio": np.ones((2, 4))}, CLASSES)


def test_fit_classwise_selection_keeps_competitive_models_per_class():
    labels = np.array([0, 0, 1, 1, 2, 2])
    eye = np.eye(3)
    audio = eye[[0, 0, 2, 2, 2, 2]]  # perfect on park, confuses bus with tram
    video = eye[[1, 1, 1, 1, 2, 2]]  # never says park, perfect on tram
    selection = fit_classwise_selection({"audio": audio, "video": video}, labels, CLASSES)
    # F1 park: audio 1, video 0; bus: audio 0, video 2/3; tram: audio 2/3, video 1
    assert selection == {"park": ("audio",), "bus": ("video",), "tram": ("video",)}
    loose = fit_classwise_selection({"audio": audio, "video": video}, labels, CLASSES, tolerance=0.5)
    assert loose["tram"] == ("audio", "video")


def test_stage_metrics_reports_every_model_and_stage():
    audio = np.array([[0.9, 0.05, 0.05], [0.3, 0.4, 0.3]])
    video = np.array([[0.2, 0.5, 0.3], [0.1, 0.8, 0.1]])
    probs = {"audio": audio, "video": video}
    labels = [0, 1]
    result = run_ensemble(probs, CLASSES)
    rows = stage_metrics(probs, result, labels)
    assert list(rows) == ["audio", "video", "fused", "fused+post"]
    assert rows["audio"]["accuracy"] == 100.0 and rows["video"]["accuracy"] == 50.0
    assert rows["fused"]["accuracy"] == 100.0 and rows["fused+post"]["accuracy"] == 100.0
    assert rows["fused+post"]["log_loss"] == pytest.approx(log_loss(result.post, labels))
    assert rows["fused+post"]["log_loss"] < rows["fused"]["log_loss"]  # confident right answers pushed to 0.99
