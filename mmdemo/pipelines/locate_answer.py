"""Locate the answer to a medical question: which video, and where in it.

Two ways in, one way out:
- no upload: search the bundled demo corpus (indexed once per process, on first use);
- an uploaded video (with an SRT/VTT file or embedded subtitles), or a subtitle file alone:
  index just those captions and localise the answer inside them;
- an uploaded video without subtitles: its speech is recognised (``mmdemo.speech``) into caption
  lines first, and a transcript the person corrected is used for later questions on that clip.
Either way the result names the best span, the runners-up, the per-caption relevance of the
chosen video (for the timeline plot) and, when there is a video, what to play: the whole video
when a browser can play its streams (the player is moved to the answer), else the answer re-encoded.
With a span QA reader installed, the reader also picks the sentence(s) of the span's transcript
that answer the question.

Every answer carries a calibrated probability that its video holds the answer
(``mmdemo.retrieval.confidence``); when even the best is below the fitted threshold the result is
"no answer in these videos" (``no_answer``), shown as such instead of a span. Top answers are one
per video unless more are asked for, and spans of one video never overlap.

The locator holds only read-only things (the text encoder, the corpus index), so one instance
serves every user; everything about one request lives in its ``LocateResult``.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mmdemo.config import Settings
from mmdemo.errors import InputError
from mmdemo.media.subtitles import Caption, to_srt, to_vtt
from mmdemo.names import without_dirs
from mmdemo.pipelines.base import ModelCard, Pipeline, Progress, reporter
from mmdemo.pipelines.text_input import check_text
from mmdemo.retrieval.corpus import Video
from mmdemo.speech.transcriber import Transcriber

if TYPE_CHECKING:  # imported when first needed: it pulls in torch, which would slow app start-up
    from mmdemo.retrieval.corpus_index import CorpusIndex

log = logging.getLogger(__name__)

METHOD = "hybrid"  # BM25 + MiniLM cosine, fused (mmdemo.retrieval.corpus_index)
CCGS_DIR = "ccgs"  # a CCGS export under the checkpoint root turns on the trained localizer
SPAN_QA_DIR = "span_qa"  # a span QA export there picks the answer sentences inside the span
MAX_TOP_K = 20
CLIP_ROOT = Path(tempfile.gettempdir()) / "mmdemo-answers"  # default home of per-request clip folders
CLIP_TTL_SECONDS = 2 * 3600  # gradio has copied a clip into its own cache long before this


@dataclass(frozen=True)
class Source:
    """A candidate's video: enough to play and transcribe any candidate later."""

    media_path: Path | None
    captions: tuple[Caption, ...]
    relevance: dict[str, list] = field(default_factory=dict)  # per caption: "times" (midpoints), "texts", [0, 1] "scores"
    duration: float | None = None  # seconds, when known


@dataclass(frozen=True)
class Playback:
    """What the player loads for one answer: a file, and the source video's time at the file's zero."""

    path: Path
    offset: float = 0.0  # 0 for the whole video; the cut's start for a clip of the answer alone


@dataclass(frozen=True)
class Subtitles:
    """Where an upload's captions came from; for recognised speech, what the recogniser found."""

    source: str  # "file", "embedded", "speech" (recognised), or "corrected" (recognised, then edited by the person)
    captions: tuple[Caption, ...]  # all of them, in the video's time
    digest: str | None = None  # sha256 of the uploaded video, so a correction is used for that file only
    language: str | None = None  # detected by the recogniser (ISO 639-1)
    language_probability: float | None = None
    model: str | None = None

    @property
    def recognised(self) -> bool:
        return self.source in ("speech", "corrected")

    def corrected(self, captions: list[Caption]) -> "Subtitles":
        """These subtitles after a person edited the recognised lines (themselves when nothing changed);
        pass them to ``AnswerLocator.run``."""
        return self if tuple(captions) == self.captions else replace(self, source="corrected", captions=tuple(captions))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source}
        if self.recognised:
            out |= {"language": self.language, "language_probability": round(self.language_probability or 0.0, 3),
                    "model": self.model,
                    "captions": [{"start": c.start, "end": c.end, "text": c.text} for c in self.captions]}
        return out


@dataclass(frozen=True)
class ReaderAnswer:
    """What the span QA reader extracted from a span's transcript."""

    text: str  # the extracted characters
    sentences: tuple[Caption, ...]  # the captions that text touches


@dataclass
class LocateResult:
    question: str
    video_id: str
    title: str
    start: float  # seconds
    end: float
    score: float  # calibrated P(this video holds the answer), in [0, 1]
    candidates: list[dict[str, Any]]  # best first: video_id, title, start, end, score (= probability)
    transcript: list[Caption]  # captions inside the chosen span
    playback: Playback | None  # what the player loads; None when only subtitles were given or nothing answers
    media_path: Path | None  # the chosen video's full file
    models: dict[str, str]
    sources: dict[str, Source] = field(default_factory=dict, repr=False)
    # CCGS only: the chosen video's global-span matrix, one row and column per caption ("starts"/"ends"
    # in seconds, "scores" an (R, R) array, -inf for impossible spans); None with the zero-shot localizer.
    span_matrix: dict[str, Any] | None = None
    reading: ReaderAnswer | None = None  # the reader's answer inside the transcript; None without a reader
    subtitles: Subtitles | None = None  # the upload's captions and their origin; None for the bundled corpus
    no_answer: bool = False  # the best probability is below ``refuse_below``: no video answers the question
    refuse_below: float = 0.0

    @property
    def message(self) -> str | None:
        """What to tell the person instead of a span when nothing answers; None when something does."""
        if not self.no_answer:
            return None
        return (f"No answer in these videos: the best match is only {self.score:.0%} likely to hold the answer "
                f"(answers below {self.refuse_below:.0%} are withheld).")

    def to_json(self) -> dict[str, Any]:
        """The API answer: plain JSON types only."""
        return {
            "video_id": self.video_id,
            "title": self.title,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "score": round(self.score, 4),
            "probability": round(self.score, 4),  # the same number, named for what it is
            "no_answer": self.no_answer,
            "message": self.message,
            "refuse_below": self.refuse_below,
            "candidates": [
                {**c, "start": round(c["start"], 3), "end": round(c["end"], 3), "score": round(c["score"], 4)}
                for c in self.candidates
            ],
            "models": dict(self.models),
            "transcript": [{"start": round(c.start, 3), "end": round(c.end, 3), "text": c.text} for c in self.transcript],
            "answer_text": self.reading.text if self.reading else None,
            "answer_sentences": [{"start": round(c.start, 3), "end": round(c.end, 3), "text": c.text}
                                 for c in (self.reading.sentences if self.reading else [])],
            "subtitles": self.subtitles.to_json() if self.subtitles else {"source": "corpus"},
        }

    def transcript_of(self, index: int) -> list[Caption]:
        """Captions inside candidate ``index``'s span."""
        cand = self.candidates[index]
        return captions_between(self.sources[cand["video_id"]].captions, cand["start"], cand["end"])

    @property
    def timeline(self) -> dict[str, Any]:
        """The chosen video's timeline plot data: caption "times" (midpoints), "texts", [0, 1] "scores",
        the chosen "span" and the "others" found in the same video."""
        return self.timeline_of(0)

    def timeline_of(self, index: int) -> dict[str, Any]:
        """The timeline plot's data for candidate ``index``: its video's caption relevance, its span, and the
        spans of the other candidates in that video (``timeline`` is ``timeline_of(0)``)."""
        cand = self.candidates[index]
        return {**self.sources[cand["video_id"]].relevance, "span": [cand["start"], cand["end"]],
                "others": [[c["start"], c["end"]] for i, c in enumerate(self.candidates)
                           if i != index and c["video_id"] == cand["video_id"]]}


def captions_between(captions: tuple[Caption, ...] | list[Caption], start: float, end: float) -> list[Caption]:
    return [c for c in captions if c.end > start and c.start < end]


def at_most_per_video(found: list, per_video: int) -> list:
    """The candidates, best first, keeping only each video's ``per_video`` best."""
    taken: dict[str, int] = {}
    kept = []
    for c in found:
        if taken.get(c.video_id, 0) < per_video:
            taken[c.video_id] = taken.get(c.video_id, 0) + 1
            kept.append(c)
    return kept


def sweep_old_folders(root: Path, max_age_seconds: float) -> None:
    """Delete request folders older than ``max_age_seconds``, so a long-running server's disk stays flat."""
    cutoff = time.time() - max_age_seconds
    for folder in root.glob("request-*"):
        if folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def request_folder(work_dir: str | Path | None = None) -> Path:
    """A fresh folder for one request's files, so no two requests share a file (default: under CLIP_ROOT)."""
    if work_dir is None:
        CLIP_ROOT.mkdir(exist_ok=True)
        sweep_old_folders(CLIP_ROOT, CLIP_TTL_SECONDS)
    return Path(tempfile.mkdtemp(prefix="request-", dir=work_dir or CLIP_ROOT))


def write_subtitle_files(captions: list[Caption] | tuple[Caption, ...], stem: str,
                         work_dir: str | Path | None = None) -> tuple[Path, Path]:
    """``stem``.srt and ``stem``.vtt of ``captions`` in a fresh request folder, for download."""
    folder = request_folder(work_dir)
    srt, vtt = folder / f"{stem}.srt", folder / f"{stem}.vtt"
    srt.write_text(to_srt(captions), encoding="utf-8")
    vtt.write_text(to_vtt(captions), encoding="utf-8")
    return srt, vtt


@dataclass
class Found:
    """What one search found, before the answer is read and cut."""

    spans: list  # best first, at most ``per_video`` per video
    videos: dict[str, Video]  # every video searched, by id
    candidates: list[dict[str, Any]]  # the spans as the API lists them, with their probabilities
    relevance: dict[str, dict[str, list]]  # per candidate video: its caption relevance, for the plot
    span_matrix: dict[str, Any] | None  # CCGS only: the best video's span matrix, for the heatmap


def check_question(question: str | None, settings: Settings) -> str:
    """The question, stripped; InputError when a person would not call it a question."""
    return check_text(question, settings.limits, "question", "How do I do a chin tuck for neck pain?")


class AnswerLocator(Pipeline):
    """Load cheaply with ``load``; the encoder and the corpus index are built on first use.

    Its root is the checkpoint root: the optional CCGS and span QA exports live in folders there.
    """

    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        super().__init__(settings, root)
        self.disabled: dict[str, str] = {}  # export dir name -> why it is off (broken export), for the UI
        # HF fast tokenizers are not safe to call from two threads at once; searching is
        # milliseconds, so requests take turns here and only clip cutting runs in parallel.
        self._search_lock = threading.Lock()
        self.transcriber = Transcriber.from_settings(settings)  # loads its model on the first clip without subtitles

    def available(self) -> bool:
        """Always: without any export the zero-shot localizer answers over uploads and the corpus."""
        return True

    # ---------------------------------------------------------------- what it runs on

    def corpus_entries(self) -> list[dict[str, Any]]:
        """The bundled corpus listing (assets/corpus/corpus.json); [] when there is none."""
        listing = self.settings.corpus_dir / "corpus.json"
        if not listing.is_file():
            return []
        return json.loads(listing.read_text(encoding="utf-8"))

    def describe(self) -> dict[str, Any]:
        """Which models and data answer questions, as facts (names, no server paths); cheap, so the UI
        can show it before loading. ``disabled``: optional exports that are installed but do not load."""
        entries = self.corpus_entries()
        name = self.settings.text_encoder
        return {
            "text_encoder": "all-MiniLM-L6-v2 (bundled)" if name == "minilm" else without_dirs(name),
            "retrieval": METHOD,
            "localizer": "ccgs" if self.ccgs_path().is_dir() else "zero-shot",
            "reader": self.span_qa_path().is_dir(),
            "models": [ModelCard.read(path) for path in (self.ccgs_path(), self.span_qa_path()) if path.is_dir()],
            "corpus": {"videos": len(entries), "minutes": sum(float(e.get("duration") or 0.0) for e in entries) / 60},
            "disabled": dict(self.disabled),
            "device": self.settings.device,
        }

    def answered_by(self, corpus: str | None = None) -> dict[str, str]:
        """The API answer's ``models``: which encoder, method and data answered (``corpus``: an upload's name)."""
        facts = self.describe()
        method = f"{METHOD} BM25 + dense first stage, " + (
            f"CCGS span localizer ({CCGS_DIR})" if facts["localizer"] == "ccgs" else "zero-shot span localizer")
        if facts["reader"]:
            method += f"; span QA reader ({SPAN_QA_DIR})"
        for name in facts["disabled"]:
            method += f"; {name} turned off (its export does not load)"
        videos, minutes = facts["corpus"]["videos"], facts["corpus"]["minutes"]
        return {"text_encoder": facts["text_encoder"], "method": method,
                "corpus": corpus or f"{videos} bundled demo videos ({minutes:.1f} min)", "device": facts["device"]}

    # ---------------------------------------------------------------- lazily built parts

    def encoder(self):
        from mmdemo.models.encoders import TextEncoder, TextEncoderConfig

        return self.part("encoder", lambda: TextEncoder.from_config(
            TextEncoderConfig(name=self.settings.text_encoder)).to(self.settings.device))

    def ccgs_path(self) -> Path:
        return self.root / CCGS_DIR

    def ccgs(self):
        """The trained CCGS localizer, or None when no CCGS export is installed."""
        from mmdemo.models.factory import CCGS_FAMILY, load_model

        return self._optional_export(CCGS_DIR, lambda path: load_model(path, CCGS_FAMILY))

    def span_qa_path(self) -> Path:
        return self.root / SPAN_QA_DIR

    def span_qa(self):
        """The extractive span QA reader, or None when no span QA export is installed."""
        from mmdemo.models.factory import SPAN_QA, load_model

        return self._optional_export(SPAN_QA_DIR, lambda path: load_model(path, SPAN_QA))

    def _optional_export(self, name: str, load: Callable[[Path], Any]):
        """The model exported under ``<checkpoints>/<name>``, loaded once on first use; None when absent.

        A broken export turns off only its own method: one warning in the log, a note in ``disabled``,
        and no second try (every request would otherwise fail, or pay for the failed load again).
        """

        def build():
            path = self.root / name
            try:
                return load(path).to(self.settings.device) if path.is_dir() else None
            except (OSError, ValueError, RuntimeError) as error:  # CheckpointError is a ValueError
                self.disabled[name] = without_dirs(str(error))  # for the UI: names, no server paths
                log.warning("%s is disabled: its export %s does not load: %s", name, path, error)
                return None

        return self.part(name, build)

    def warm_up(self) -> None:
        """The corpus index (with the encoder) and the optional exports; the speech model waits for a clip."""
        self.corpus_index()
        self.ccgs()
        self.span_qa()

    def read_answer(self, question: str, captions: list[Caption]) -> ReaderAnswer | None:
        """The sentence(s) of ``captions`` that answer ``question``; None without a reader."""
        reader = self.span_qa()
        if reader is None or not captions:
            return None
        with self._search_lock:
            spans = reader.answer_sentences(question, [c.text for c in captions])
        if not spans:
            return None
        return ReaderAnswer(spans[0].text, tuple(captions[spans[0].first : spans[0].last + 1]))

    def _ccgs_search(self, index: CorpusIndex):
        from mmdemo.retrieval.ccgs_search import CCGSSearch

        model = self.ccgs()
        if model is None:
            return None
        if self.loaded("corpus") and index is self.corpus_index():
            return self.part("corpus_ccgs", lambda: CCGSSearch(index, model, METHOD))
        return CCGSSearch(index, model, METHOD)

    def corpus_index(self) -> CorpusIndex:
        return self.part("corpus", self._index_corpus)

    def _index_corpus(self) -> CorpusIndex:
        from mmdemo.retrieval.corpus_index import CorpusIndex

        encoder = self.encoder()
        videos = self._read_corpus()
        with self._search_lock:
            return CorpusIndex.build(videos, encoder)

    def _read_corpus(self) -> list[Video]:
        from mmdemo.media.subtitles import clean_captions, load_subtitles

        root = self.settings.corpus_dir
        entries = self.corpus_entries()
        if not entries:
            raise FileNotFoundError(f"no bundled corpus at {root / 'corpus.json'}; upload a video or subtitles instead")
        videos = []
        for e in entries:
            captions = tuple(clean_captions(load_subtitles(root / e["subtitles"], max_mb=self.settings.limits.max_subtitle_mb)))
            file = root / e["file"] if e.get("file") else None
            videos.append(Video(e["video_id"], captions, file if file is not None and file.is_file() else None,
                                e.get("title") or e["video_id"]))
        return videos

    # ---------------------------------------------------------------- the request

    def run(
        self,
        question: str,
        video_path: str | Path | None = None,
        subtitle_path: str | Path | None = None,
        top_k: int = 5,
        progress: Progress | None = None,
        work_dir: str | Path | None = None,
        corrections: Subtitles | None = None,
        per_video: int = 1,
    ) -> LocateResult:
        """Answer one question; InputError (with a message for a person) on bad input.

        ``per_video``: how many (non-overlapping) answers one video may contribute to the ``top_k``.

        ``corrections``: recognised subtitles a person edited (``Subtitles.corrected``); used in place of
        speech recognition when ``video_path`` is the same file (by content) and no subtitle file is given.
        """
        report = reporter(progress)
        question = check_question(question, self.settings)
        top_k = max(1, min(int(top_k), MAX_TOP_K))
        per_video = max(1, min(int(per_video), top_k))
        index, corpus, subtitles = self._index_for(video_path, subtitle_path, corrections, report)
        report(0.6, desc="Loading the span localizer")
        search = self._ccgs_search(index)
        report(0.7, desc="Searching")
        found = self._search(index, search, question, top_k, per_video)
        refuse_below = index.config.calibration.refuse_below
        no_answer = found.candidates[0]["score"] < refuse_below
        best, chosen = found.spans[0], found.videos[found.spans[0].video_id]
        transcript = captions_between(chosen.captions, best.start, best.end)
        report(0.8, desc="Reading the answer")
        reading = None if no_answer else self.read_answer(question, transcript)
        playback = None
        if chosen.media_path is not None and not no_answer:
            report(0.85, desc="Preparing the video")
            playback = self.playback(chosen.media_path, best.start, best.end, work_dir)
        report(1.0, desc="Done")
        return LocateResult(
            question=question, video_id=best.video_id, title=chosen.title, start=best.start, end=best.end,
            score=found.candidates[0]["score"], candidates=found.candidates,
            transcript=transcript, playback=playback, media_path=chosen.media_path, models=self.answered_by(corpus),
            sources={video_id: Source(found.videos[video_id].media_path, found.videos[video_id].captions, relevance,
                                      found.videos[video_id].duration)
                     for video_id, relevance in found.relevance.items()},
            span_matrix=found.span_matrix, reading=reading, subtitles=subtitles, no_answer=no_answer,
            refuse_below=refuse_below,
        )

    def _index_for(self, video_path: str | Path | None, subtitle_path: str | Path | None,
                   corrections: Subtitles | None, report: Progress) -> tuple[CorpusIndex, str | None, Subtitles | None]:
        """(index to search, the upload's name for the answer or None for the corpus, the upload's subtitles)."""
        from mmdemo.retrieval.corpus_index import CorpusIndex

        if not (video_path or subtitle_path):
            report(0.0, desc="Loading the text encoder and the demo corpus")
            return self.corpus_index(), None, None
        report(0.0, desc="Reading your upload")
        video, subtitles = self._uploaded_video(video_path, subtitle_path, corrections, report)
        report(0.3, desc="Loading the text encoder")
        encoder = self.encoder()
        report(0.5, desc="Indexing the subtitles")
        with self._search_lock:
            index = CorpusIndex.build([video], encoder)
        return index, f"your upload ({video.title})", subtitles

    def _search(self, index: CorpusIndex, search, question: str, top_k: int, per_video: int) -> Found:
        """The best spans (``per_video`` at most per video), their probabilities, and the best video's plots."""
        span_matrix = None
        with self._search_lock:
            cosines = index.window_cosines(question)  # the question is encoded once, here
            scores = index.window_scores(question, METHOD, cosines)  # once: the spans and the plot share them
            if search is not None:
                answer = search.answer(question, top_spans=top_k * per_video, scores=scores)
                spans = answer.candidates
            else:
                spans = index.locate(question, METHOD, top_videos=top_k, top_spans=per_video, scores=scores, cosines=cosines)
            spans = at_most_per_video(spans, per_video)[:top_k]
            if not spans:
                raise InputError("No caption matched the question; try rephrasing it.")
            chance = dict(zip(index.video_ids, index.video_probabilities(scores, cosines)))
            timelines = {c.video_id: index.timeline(question, c.video_id, METHOD, scores=scores) for c in spans}
        videos = {v.video_id: v for v in index.videos}
        best = spans[0]
        if search is not None:
            captions = videos[best.video_id].captions
            span_matrix = {"starts": [c.start for c in captions], "ends": [c.end for c in captions],
                           "scores": answer.matrices[best.video_id]}
        candidates = [{"video_id": c.video_id, "title": videos[c.video_id].title, "start": c.start, "end": c.end,
                       "score": float(chance[c.video_id])} for c in spans]
        relevance = {video_id: {"times": [float(t) for t in timeline.times],
                                "texts": [c.text for c in videos[video_id].captions],
                                "scores": [float(s) for s in timeline.scores]}
                     for video_id, timeline in timelines.items()}
        return Found(spans, videos, candidates, relevance, span_matrix)

    def play(self, result: LocateResult, index: int, work_dir: str | Path | None = None) -> Playback | None:
        """What to play for candidate ``index`` of an earlier result; None when it has no video."""
        if not 0 <= index < len(result.candidates):
            raise InputError("Pick one of the listed answers to play.")
        cand = result.candidates[index]
        media = result.sources[cand["video_id"]].media_path
        return None if media is None else self.playback(media, cand["start"], cand["end"], work_dir)

    def playback(self, media_path: Path, start: float, end: float, work_dir: str | Path | None = None) -> Playback:
        """The whole video when a browser plays its streams, else the answer [start, end] alone.

        A file browsers play is served as it is (no ffmpeg at all); one whose streams they play in
        another container is re-wrapped into MP4 or WebM by stream copy. Only streams no browser
        plays are re-encoded, and then only the answer. New files go to a fresh per-request folder,
        so no two requests share a file.
        """
        from mmdemo.media.video import copy_container, probe, trim_clip

        media_path = Path(media_path)
        info = probe(media_path)
        container = copy_container(info, max_height=info.height or 0)  # any size: nothing is scaled
        if container == media_path.suffix.lower():
            return Playback(media_path)
        folder = request_folder(work_dir)
        if container and info.duration:
            return Playback(trim_clip(media_path, 0.0, info.duration, folder / f"{media_path.stem}{container}",
                                      max_height=info.height or 0, info=info))
        clip = trim_clip(media_path, start, end, folder / f"{media_path.stem}_{start:.0f}-{end:.0f}.mp4", info=info)
        return Playback(clip, offset=max(0.0, start))

    def _uploaded_video(self, video_path: str | Path | None, subtitle_path: str | Path | None,
                        corrections: Subtitles | None, report: Progress) -> tuple[Video, Subtitles]:
        """The upload as a one-video corpus, checked against the limits and cut to the video's length."""
        from mmdemo.media.subtitles import check_cue_count, clean_captions, clip_to_duration, extract_embedded, load_subtitles
        from mmdemo.media.video import validate_upload

        limits = self.settings.limits
        info = validate_upload(Path(video_path), limits) if video_path else None
        if subtitle_path:
            captions = load_subtitles(Path(subtitle_path), max_mb=limits.max_subtitle_mb, max_cues=limits.max_subtitle_cues)
            subtitles = Subtitles("file", ())
        elif info is not None and info.subtitle_streams:
            captions = extract_embedded(Path(video_path), stream=0, max_cues=limits.max_subtitle_cues)
            subtitles = Subtitles("embedded", ())
        else:
            subtitles = self._recognised(info, corrections, report)
            captions = list(subtitles.captions)
            check_cue_count(captions, limits.max_subtitle_cues, "The recognised transcript")
        captions = tuple(clean_captions(captions))
        if not captions:
            raise InputError("The subtitles have no caption text to search.")
        if info is not None and info.duration:
            inside = tuple(clip_to_duration(captions, info.duration))
            if not inside:
                raise InputError(
                    f"The subtitles start at {captions[0].start:.0f} s but the video is only {info.duration:.0f} s long; "
                    "are they for another video?"
                )
            captions = inside
        named = Path(video_path or subtitle_path)
        length = info.duration if info is not None and info.duration else None
        return (Video(named.stem, captions, Path(video_path) if video_path else None, named.name, length),
                replace(subtitles, captions=captions))

    def _recognised(self, info, corrections: Subtitles | None, report: Progress) -> Subtitles:
        """Subtitles from the speech of an uploaded video, or the person's correction of them for this file."""
        from mmdemo.digest import file_sha256

        digest = file_sha256(info.path)
        if corrections is not None and corrections.digest == digest:
            return corrections
        transcript = self.transcriber.transcribe(
            info.path, info=info, digest=digest,
            progress=lambda share: report(0.02 + 0.26 * share, desc=f"Recognising speech ({share:.0%} of the audio)"),
        )
        return Subtitles("speech", transcript.captions, digest, transcript.language, transcript.language_probability,
                         transcript.model)
