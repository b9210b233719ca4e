"""Search a collection of sounds by description, or by an example recording.

The collection is a folder of audio with a Clotho-style ``captions.csv`` (the bundled one is
``assets/sounds``), embedded by the trained dual encoder into a vector index. An index built
ahead of time by ``python -m mmdemo.index audio`` is used when it was made by the same
checkpoint; otherwise the collection is embedded on first use. A text query is embedded by
the text tower; a recording by the audio tower, and it also gets the nearest known captions.

One ``AudioSearch`` serves every user: it holds only read-only models and indexes, and all
that belongs to a request is in its ``AudioSearchResult``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdemo.config import Settings
from mmdemo.errors import InputError
from mmdemo.pipelines.base import ModelCard, Pipeline, Progress, reporter
from mmdemo.pipelines.text_input import check_text

if TYPE_CHECKING:  # imported when first needed: they pull in torch and faiss
    from mmdemo.pipelines.audio_retriever import AudioTextRetriever
    from mmdemo.retrieval.vector_index import VectorIndex

CHECKPOINT_DIR = "audio_retrieval"  # the dual encoder export under the checkpoint root
COLLECTION_DIR = "sounds"  # the bundled collection under assets/
INDEX_DIR = "sounds_index"  # its prebuilt index under assets/
CAPTIONS_FILE = "captions.csv"
MAX_TOP_K = 10


@dataclass(frozen=True)
class AudioHit:
    clip_id: str
    score: float  # cosine similarity in the shared space
    caption: str  # its first known caption; "" when the collection has none
    path: Path


@dataclass
class AudioSearchResult:
    query: str  # the text, or the uploaded file's name
    hits: list[AudioHit]
    captions: list[dict[str, Any]] = field(default_factory=list)  # audio queries: nearest known captions
    spectrograms: list[dict[str, Any]] = field(default_factory=list)  # per hit: "clip_id", mel "power", "seconds"
    note: str = ""  # anything the user should know about how the query was read

    def to_json(self) -> dict[str, Any]:
        """The API answer: the query, its ``results`` (``{clip_id, score, caption}``, best first), the
        nearest known ``captions`` (audio queries; [] for text) and the ``note``."""
        return {"query": self.query,
                "results": [{"clip_id": h.clip_id, "score": round(h.score, 4), "caption": h.caption} for h in self.hits],
                "captions": list(self.captions), "note": self.note}


class AudioSearch(Pipeline):
    """Load cheaply with ``load``; the model and the indexes are built on first use."""

    checkpoint_dir = CHECKPOINT_DIR
    missing = "No audio search model is installed"

    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        super().__init__(settings, root)
        self._model_lock = threading.Lock()  # HF tokenizers are not thread-safe; queries are milliseconds

    @property
    def collection_dir(self) -> Path:
        return self.settings.assets_dir / COLLECTION_DIR

    @property
    def index_dir(self) -> Path:
        return self.settings.assets_dir / INDEX_DIR

    def available(self) -> bool:
        return self.root.is_dir() and (self.collection_dir / CAPTIONS_FILE).is_file()

    def describe(self) -> dict[str, Any]:
        """The model's card and the collection's name and size, cheaply (for the tab's header)."""
        clips = sum(1 for _ in self.collection_dir.glob("*.wav")) if self.collection_dir.is_dir() else 0
        return {"models": [ModelCard.read(self.root)] if self.root.is_dir() else [],
                "collection": self.collection_dir.name, "clips": clips}

    # ---------------------------------------------------------------- lazily built parts

    def retriever(self) -> AudioTextRetriever:
        from mmdemo.pipelines.audio_retriever import AudioTextRetriever

        self.require()
        return self.part("retriever", lambda: AudioTextRetriever.load(self.root, device=self.settings.device))

    def index(self, progress: Progress | None = None) -> VectorIndex:
        retriever = self.retriever()
        return self.part("index", lambda: self._load_or_build_index(retriever, progress))

    def warm_up(self) -> None:
        self.index()
        self.caption_index()

    def _load_or_build_index(self, retriever: AudioTextRetriever, progress: Progress | None) -> VectorIndex:
        from mmdemo.data.clotho import read_captions_csv
        from mmdemo.retrieval.vector_index import VectorIndex, VectorIndexConfig

        items = read_captions_csv(self.collection_dir / CAPTIONS_FILE, self.collection_dir)
        if self.index_dir.is_dir():
            prebuilt = VectorIndex.load(self.index_dir)
            if prebuilt.info.get("weights_sha256") == retriever.weights_sha256:
                return prebuilt
        report = reporter(progress)
        vectors = []
        for i, item in enumerate(items):
            report(i / max(len(items), 1), desc=f"Indexing the sound collection ({i}/{len(items)})")
            vectors.append(retriever.embed_audio_file(item.audio_path))
        metadata = [{"clip_id": item.clip_id, "path": item.audio_path.name, "caption": item.captions[0]} for item in items]
        return VectorIndex.build(np.stack(vectors), [item.clip_id for item in items], metadata,
                                 VectorIndexConfig(kind="exact"), info=retriever.describe())

    def caption_index(self) -> tuple[np.ndarray, list[tuple[str, str]]]:
        """Every known caption of the collection, embedded once: the answers to "what is this sound?"."""
        retriever = self.retriever()
        return self.part("captions", lambda: self._embed_captions(retriever))

    def _embed_captions(self, retriever: AudioTextRetriever) -> tuple[np.ndarray, list[tuple[str, str]]]:
        from mmdemo.data.clotho import read_captions_csv

        items = read_captions_csv(self.collection_dir / CAPTIONS_FILE, self.collection_dir)
        owners = [(item.clip_id, caption) for item in items for caption in item.captions]
        with self._model_lock:
            return retriever.embed_texts([caption for _, caption in owners]), owners

    # ---------------------------------------------------------------- the requests

    def search_text(self, query: str | None, top_k: int = 5, progress: Progress | None = None) -> AudioSearchResult:
        """Clips that sound like the description; InputError (for a person) on bad input."""
        text = check_text(query, self.settings.limits, "description of a sound", "a dog barks while rain falls on a tin roof")
        top_k = max(1, min(int(top_k), MAX_TOP_K))
        index, retriever = self.index(progress), self.retriever()  # never taken while holding the model lock
        with self._model_lock:
            vector = retriever.embed_texts([text])[0]
        hits = self._hits(index.search(vector, top_k)[0])
        return AudioSearchResult(query=text, hits=hits, spectrograms=self._spectrograms(hits))

    def search_audio(self, path: str | Path | None, top_k: int = 5, progress: Progress | None = None) -> AudioSearchResult:
        """Clips that sound like the recording, and the known captions nearest to it."""
        if not path:
            raise InputError("Please upload or record a sound to search with.")
        path = Path(path)
        top_k = max(1, min(int(top_k), MAX_TOP_K))
        retriever = self.retriever()
        index = self.index(progress)
        waveform = retriever.load_waveform(path)
        note = ""
        limit = retriever.checks.max_seconds
        if len(waveform) >= limit * retriever.sample_rate - 1:
            note = f"The recording is longer than {limit / 60:g} minutes; only its first {limit / 60:g} minutes were used."
        with self._model_lock:
            vector = retriever.embed_waveform(waveform)
        hits = self._hits(index.search(vector, top_k)[0])
        caption_vectors, owners = self.caption_index()
        scores = caption_vectors @ vector
        best = np.argsort(-scores, kind="stable")[:top_k]
        captions = [{"caption": owners[i][1], "clip_id": owners[i][0], "score": round(float(scores[i]), 4)} for i in best]
        return AudioSearchResult(query=path.name, hits=hits, captions=captions,
                                 spectrograms=self._spectrograms(hits), note=note)

    def _hits(self, found) -> list[AudioHit]:
        return [AudioHit(h.id, float(h.score), h.metadata.get("caption", ""), self.collection_dir / h.metadata["path"])
                for h in found]

    def _spectrograms(self, hits: list[AudioHit]) -> list[dict[str, Any]]:
        """Each hit's mel spectrogram (the model's own front end), for plotting."""
        return [{"clip_id": hit.clip_id, **self.retriever().spectrogram(hit.path)} for hit in hits]
