"""The section 2.4 ensemble: per-model clip confidences in, one fused decision (and why) out.

Paper: Okazaki et al., "A multi-modal fusion approach for audio-visual scene classification
enhanced by CLIP variants", section 2.4. The inputs are each model's clip-level probabilities
(already averaged over a clip's 1 s segments or frames, ``scene.segment_average``). In order:

1. Audio replacement: for a clip whose video models' top confidence is 0.20 or more below the
   audio models' top confidence, the video models' confidences are replaced by the audio ones
   (the paper's fix for dark scenes). "Video models" and "audio models" are the averages of
   the models of each kind.
2. Class-wise selection: for each class, the mean over a chosen set of models (the paper uses
   the audio model only for bus, park and tram, where it is competitive); ``fit_classwise_selection``
   learns the sets from validation data. The fused rows are rescaled to sum to 1.
3. Post-processing, eq. (1): confidences are snapped to 0.001 / 0.06 / themselves / 0.99 by bins,
   which bounds the log-loss of confident mistakes.

Every rule can be switched off in ``EnsembleConfig``. The metrics (log-loss, accuracy, F1 per
class) are ``mmdemo.metrics.classification``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mmdemo.metrics.classification import accuracy, log_loss, normalize_rows, per_class_f1

GAP_TOLERANCE = 1e-9  # so that a gap of exactly 0.20 computed in floating point counts as 0.20


@dataclass(frozen=True)
class EnsembleConfig:
    audio_models: tuple[str, ...] = ("audio",)  # section 2.4: which inputs are audio models; the rest are video
    classwise_selection: bool = True  # section 2.4: class-wise choice of models
    # Section 2.4: class name -> the models whose confidences are used for that class (from
    # ``fit_classwise_selection``); a class not listed uses every model.
    selection: dict[str, tuple[str, ...]] = field(default_factory=dict)
    audio_replacement: bool = True  # section 2.4: video confidences replaced by audio ones ...
    replacement_gap: float = 0.20  # ... when the video max confidence is 0.20 below the audio max
    post_processing: bool = True  # section 2.4, eq. (1)
    post_edges: tuple[float, float, float] = (0.06, 0.20, 0.70)  # eq. (1): bin edges of x
    post_low: float = 0.001  # eq. (1): f(x) for 0 < x <= 0.06
    post_mid: float = 0.06  # eq. (1): f(x) for 0.06 < x <= 0.20 (0.20 < x <= 0.70 keeps x)
    post_high: float = 0.99  # eq. (1): f(x) for 0.70 < x <= 1.0
    # Ours: rows rescaled to sum to 1 after eq. (1), so they stay probabilities; this is also
    # what a log-loss that normalises its input (sklearn's, used for DCASE 2021) would score.
    post_renormalize: bool = True


@dataclass
class EnsembleResult:
    """Fused probabilities per stage and, per clip, the decision and the rule that made it."""

    classes: tuple[str, ...]
    models: tuple[str, ...]
    fused: np.ndarray  # (N, C) after replacement and class-wise selection
    post: np.ndarray | None  # (N, C) fused after eq. (1); None when post-processing is off
    labels: np.ndarray  # (N,) argmax of fused (eq. (1) is monotone, so post agrees up to ties)
    replaced: np.ndarray  # (N,) bool: the audio replacement rule fired
    rules: list[str]  # (N,) e.g. "video confidence 0.31 below audio: audio used"
    used_models: dict[str, tuple[str, ...]]  # class -> models averaged for it

    @property
    def final(self) -> np.ndarray:
        """The probabilities the ensemble answers with: post-processed when that stage is on."""
        return self.fused if self.post is None else self.post


def calibrate(probs: np.ndarray, config: EnsembleConfig = EnsembleConfig()) -> np.ndarray:
    """Eq. (1), element by element (x = 0, which eq. (1) leaves out, is treated as 0 < x <= 0.06)::

        f(x) = 0.001 if x <= 0.06;  0.06 if 0.06 < x <= 0.20;  x if 0.20 < x <= 0.70;  0.99 if x > 0.70
    """
    x = np.asarray(probs, dtype=np.float64)
    low, mid, high = config.post_edges
    return np.where(x <= low, config.post_low, np.where(x <= mid, config.post_mid, np.where(x <= high, x, config.post_high)))


def _check_inputs(probs_by_model: Mapping[str, np.ndarray], classes: Sequence[str]) -> dict[str, np.ndarray]:
    if not probs_by_model:
        raise ValueError("the ensemble needs the probabilities of at least one model")
    probs = {name: np.asarray(p, dtype=np.float64) for name, p in probs_by_model.items()}
    shapes = {name: p.shape for name, p in probs.items()}
    if len(set(shapes.values())) != 1 or any(len(s) != 2 or s[1] != len(classes) for s in shapes.values()):
        raise ValueError(f"every model needs (clips, {len(classes)} classes) probabilities; got {shapes}")
    return probs


def run_ensemble(probs_by_model: Mapping[str, np.ndarray], classes: Sequence[str], config: EnsembleConfig = EnsembleConfig()) -> EnsembleResult:
    """Fuse {model name: (N, C) clip probabilities} into one decision per clip (section 2.4).

    Models missing from ``probs_by_model`` (say, the audio model of a silent clip) are left
    out of every rule; a class whose selected models are all missing uses every model present.
    """
    probs = _check_inputs(probs_by_model, classes)
    models = tuple(probs)
    audio = [name for name in models if name in config.audio_models]
    video = [name for name in models if name not in config.audio_models]
    n = next(iter(probs.values())).shape[0]

    # 1. audio replacement
    replaced, gaps = np.zeros(n, dtype=bool), np.zeros(n)
    if config.audio_replacement and audio and video:
        audio_mean = np.mean([probs[name] for name in audio], axis=0)
        video_mean = np.mean([probs[name] for name in video], axis=0)
        gaps = audio_mean.max(axis=1) - video_mean.max(axis=1)
        replaced = gaps >= config.replacement_gap - GAP_TOLERANCE
        for name in video:
            probs[name] = np.where(replaced[:, None], audio_mean, probs[name])

    # 2. class-wise selection (every model for every class when off)
    used: dict[str, tuple[str, ...]] = {}
    for name in classes:
        chosen = tuple(config.selection.get(name, models)) if config.classwise_selection else models
        used[name] = tuple(model for model in chosen if model in probs) or models
    fused = np.stack([np.mean([probs[m][:, c] for m in used[name]], axis=0) for c, name in enumerate(classes)], axis=1)
    fused = normalize_rows(fused)

    # 3. post-processing, eq. (1)
    post = None
    if config.post_processing:
        post = calibrate(fused, config)
        post = normalize_rows(post) if config.post_renormalize else post

    labels = fused.argmax(axis=1)
    rules = [_rule(bool(replaced[i]), float(gaps[i]), classes[labels[i]], used, models) for i in range(n)]
    return EnsembleResult(tuple(classes), models, fused, post, labels, replaced, rules, used)


def _rule(replaced: bool, gap: float, label: str, used: dict[str, tuple[str, ...]], models: tuple[str, ...]) -> str:
    """One line saying which rule decided a clip, for people."""
    if replaced:
        return f"video confidence {gap:.2f} below audio: audio used"
    if len(models) == 1:
        return f"only {models[0]} available"
    if set(used[label]) != set(models):
        return f"class-wise selection: {' + '.join(used[label])} for '{label}'"
    return "average of all models"


def fit_classwise_selection(
    val_probs_by_model: Mapping[str, np.ndarray], val_labels: Sequence[int] | np.ndarray, classes: Sequence[str],
    tolerance: float = 0.05,
) -> dict[str, tuple[str, ...]]:
    """Section 2.4: per class, the models whose recognition of it is competitive on validation.

    "Competitive" (ours, the paper judges it by eye): a per-class F1 within ``tolerance`` of
    the best model's. F1 rather than recall, because a model that answers one class for every
    clip has perfect recall on it. Returns {class: models} for every class, for ``EnsembleConfig.selection``.
    """
    probs = _check_inputs(val_probs_by_model, classes)
    labels = np.asarray(val_labels)
    f1 = {name: per_class_f1(p.argmax(axis=1), labels, len(classes)) for name, p in probs.items()}
    selection = {}
    for c, name in enumerate(classes):
        best = max(scores[c] for scores in f1.values())
        selection[name] = tuple(model for model, scores in f1.items() if scores[c] >= best - tolerance)
    return selection


# ----------------------------------------------------------------------------------------------
# Table 2 / Table 4 rows (log-loss and accuracy)


def stage_metrics(probs_by_model: Mapping[str, np.ndarray], result: EnsembleResult, labels: Sequence[int] | np.ndarray) -> dict[str, dict[str, float]]:
    """Table 2 / 4 rows: log-loss and accuracy of every model, the fused ensemble and fused + post."""
    rows = {name: {"log_loss": log_loss(p, labels), "accuracy": accuracy(p, labels)} for name, p in probs_by_model.items()}
    rows["fused"] = {"log_loss": log_loss(result.fused, labels), "accuracy": accuracy(result.fused, labels)}
    if result.post is not None:
        # the decision stays the fused argmax: eq. (1) only ties classes, never reorders them
        rows["fused+post"] = {"log_loss": log_loss(result.post, labels), "accuracy": accuracy(result.fused, labels)}
    return rows
