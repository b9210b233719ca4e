"""Speech to timed words and caption lines with faster-whisper (Whisper on CTranslate2).

The audio is decoded by ``mmdemo.media.audio.load_audio`` (the one guarded way to run ffmpeg
on uploads) a window at a time, so memory stays flat however long the clip is. A sentence
that runs over a window's end is not cut in two: the segment that reaches the end is dropped
and the next window starts where it started. Silero voice-activity detection (``vad_filter``)
skips silence and music, which is where Whisper would otherwise invent words; the language is
detected on the first window with speech and kept for the rest.

One ``Transcriber`` serves every user: the model is read-only (``num_workers`` lets requests
run side by side) and finished transcripts are kept by file content (``mmdemo.speech.cache``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdemo.config import Settings
from mmdemo.errors import InputError
from mmdemo.media.subtitles import Caption
from mmdemo.digest import file_sha256
from mmdemo.speech.cache import LRUCache
from mmdemo.speech.lines import LineConfig, Word, group_words
from mmdemo.speech.model import BUNDLED, label, resolve

ShareDone = Callable[[float], Any]  # called with the share of the audio transcribed so far, in [0, 1]
_UPLOAD_SUBTITLES = "upload its subtitles as an SRT or WebVTT file instead"


@dataclass(frozen=True)
class TranscriberConfig:
    compute_type: str = "int8"  # on CPU: int8 weights, ~4x less memory than float32 at the same accuracy
    cuda_compute_type: str = "float16"
    # Greedy decoding (with Whisper's temperature fallback): half the time of faster-whisper's default of
    # 5 beams on two CPU cores, at the same word error rate on jfk.flac and the espeak-ng narrations.
    beam_size: int = 1
    # Audio decoded and transcribed at a time (7.7 MB of float32 at 16 kHz). Peak memory follows the window
    # (benchmarks/transcribe_speed.py, 10 min of speech: 866 MB at 300 s, 658 MB at 120 s), not the clip.
    window_seconds: float = 120.0
    edge_seconds: float = 1.0  # a segment ending this close to a window's end is redone in the next window
    sample_rate: int = 16000  # what Whisper takes
    cpu_threads: int = 0  # 0: CTranslate2's default (4, or fewer cores)
    cache_items: int = 32  # transcripts kept in memory (a 30-minute one is well under 1 MB)
    lines: LineConfig = LineConfig()


@dataclass(frozen=True)
class Transcript:
    """What was said in a file: caption lines, the words they are made of, the language."""

    captions: tuple[Caption, ...]
    words: tuple[Word, ...]
    language: str  # ISO 639-1 code Whisper detected, e.g. "en"
    language_probability: float
    duration: float  # seconds of audio
    model: str  # the recogniser, named for people

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "language_probability": round(self.language_probability, 3),
            "duration": round(self.duration, 3),
            "model": self.model,
            "captions": [{"start": c.start, "end": c.end, "text": c.text} for c in self.captions],
        }


class Transcriber:
    """Cheap to build; the model is loaded (and the bundled one assembled) on first use."""

    def __init__(self, model: str = BUNDLED, cache_dir: Path | None = None, device: str = "cpu",
                 max_seconds: float | None = None, workers: int = 1, config: TranscriberConfig = TranscriberConfig()) -> None:
        self.name = model
        self.cache_dir = cache_dir or Settings().asr_cache_dir
        self.device = device
        self.max_seconds = max_seconds
        self.workers = workers
        self.config = config
        self.label = label(model)
        self._model = None
        self._load_lock = threading.Lock()
        self._cache: LRUCache[Transcript] = LRUCache(config.cache_items)

    @classmethod
    def from_settings(cls, settings: Settings, config: TranscriberConfig = TranscriberConfig()) -> "Transcriber":
        return cls(settings.asr_model, settings.asr_cache_dir, settings.device,
                   settings.limits.max_transcribe_seconds, settings.concurrency, config)

    def model(self):
        """The faster-whisper model; SpeechModelError (with what to do) when it cannot be had."""
        with self._load_lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                cuda = self.device.startswith("cuda")
                self._model = WhisperModel(
                    resolve(self.name, self.cache_dir), device="cuda" if cuda else "cpu",
                    compute_type=self.config.cuda_compute_type if cuda else self.config.compute_type,
                    cpu_threads=self.config.cpu_threads, num_workers=self.workers,
                )
            return self._model

    def transcribe(self, path: str | Path, info=None, digest: str | None = None,
                   progress: ShareDone | None = None) -> Transcript:
        """The speech in a media file's first audio track; InputError (for a person) when there is none.

        ``info``: its ``probe`` when the caller has it; ``digest``: its ``file_sha256``, likewise.
        """
        from mmdemo.media.video import probe

        info = info or probe(path)
        name = info.path.name
        if not info.has_audio:
            raise InputError(f"'{name}' has no audio track, so there is no speech to recognise; {_UPLOAD_SUBTITLES}.")
        if self.max_seconds is not None and info.duration > self.max_seconds:
            raise InputError(
                f"'{name}' has {info.duration / 60:.1f} min of audio; speech recognition takes up to "
                f"{self.max_seconds / 60:g} min. Trim the clip, or {_UPLOAD_SUBTITLES}."
            )
        key = (digest or file_sha256(info.path), self.name)
        if (cached := self._cache.get(key)) is not None:
            return cached
        words, language, probability, seconds = self._recognise(info, progress or (lambda share: None))
        if not words:
            raise InputError(f"No speech was found in '{name}' (its audio is silent, or music or noise only); "
                             f"{_UPLOAD_SUBTITLES}.")
        transcript = Transcript(tuple(group_words(words, self.config.lines)), tuple(words), language, probability,
                                seconds, self.label)
        self._cache.put(key, transcript)
        return transcript

    def _recognise(self, info, progress: ShareDone) -> tuple[list[Word], str, float, float]:
        """Words of the whole track, window by window; the language and its probability; seconds of audio."""
        from mmdemo.media.audio import load_audio

        c = self.config
        model = self.model()
        words: list[Word] = []
        language, probability = None, 0.0
        start = 0.0
        while True:
            audio = load_audio(info.path, c.sample_rate, max_seconds=c.window_seconds, info=info, offset=start)
            seconds = audio.size / c.sample_rate
            end = start + seconds
            last = seconds < c.window_seconds - 0.5 or (info.duration and end >= info.duration - 0.05)
            resume = end
            if seconds > 0:
                segments, found = model.transcribe(audio, language=language, beam_size=c.beam_size,
                                                   word_timestamps=True, vad_filter=True)
                for segment in segments:
                    if not last and segment.end > seconds - c.edge_seconds and segment.start > c.edge_seconds:
                        resume = start + segment.start  # may be cut off: the next window redoes it
                        break
                    words += [Word(round(start + float(w.start), 3), round(start + float(w.end), 3), w.word,
                                   float(w.probability)) for w in segment.words or ()]
                    if language is None and segment.words:
                        language, probability = found.language, float(found.language_probability)
                    progress(min(1.0, (start + segment.end) / (info.duration or end)))
            if last:
                break
            start = resume
            progress(min(1.0, start / (info.duration or end)))
        progress(1.0)
        return words, language or "", probability, end
