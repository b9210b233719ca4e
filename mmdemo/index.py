"""python -m mmdemo.index audio --audio DIR --checkpoint DIR --out INDEX  — embed a folder, write a vector index.

Embedding a large collection takes hours, so the work is resumable: embeddings are appended to
``<out>.partial/`` (a chunk per ``--batch`` files: their vectors as ``.npy`` and their paths
as ``.json``, each renamed into place when complete), and rerunning the same command after an
interruption embeds only the files not done yet. The index is the same as an uninterrupted run's, since rows are ordered by path.
Files the embedder refuses (unreadable, silent, too short) are skipped and reported; the run
fails only when no file at all could be embedded. One sub-command per modality.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from mmdemo.checkpoint import fsync_path, write_json
from mmdemo.data.clotho import read_first_captions
from mmdemo.errors import InputError
from mmdemo.retrieval.vector_index import KINDS, UNIT_NORM_TOLERANCE, VectorIndex, VectorIndexConfig

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus", ".aac", ".mp4", ".mkv", ".webm", ".mov", ".avi")
RUN_FILE = "run.json"
STAGING_VERSION = 1
DEFAULT_BATCH = 64  # files embedded between two flushes: at most this much work is redone after a kill
SHOWN_SKIPS = 10  # skipped files the stderr summary lists before "..."


class AudioEmbedder(Protocol):
    """What the indexer needs from a model; ``mmdemo.pipelines.audio_retriever.AudioTextRetriever`` is one."""

    dim: int

    def embed_audio_file(self, path: Path) -> np.ndarray:
        """(dim,) float32 unit vector; InputError for a file that is unreadable, silent or too short."""

    def describe(self) -> dict[str, Any]:
        """JSON-able provenance (checkpoint, weights digest), stored as the index's ``info``."""


def load_embedder(checkpoint: str | Path, device: str) -> AudioEmbedder:
    if not Path(checkpoint).is_dir():
        raise InputError(f"checkpoint {checkpoint} is not a directory (expected a dual encoder export)")
    from mmdemo.pipelines.audio_retriever import AudioTextRetriever

    return AudioTextRetriever.load(checkpoint, device=device)


@dataclass(frozen=True)
class IndexReport:
    out: Path
    kind: str
    indexed: int
    skipped: list[dict[str, str]]  # {"path", "reason"}
    resumed: int  # files already done by an interrupted run


# ---------------------------------------------------------------------------------------------
# the folder: which files, and what is known about them without decoding
# ---------------------------------------------------------------------------------------------


def list_audio(audio_dir: Path) -> list[str]:
    """Paths (relative, POSIX) of every audio or video file under ``audio_dir``, sorted; hidden ones skipped."""
    found = []
    for root, dirs, files in os.walk(audio_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(root, f) for f in files if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_SUFFIXES]
    return sorted(path.relative_to(audio_dir).as_posix() for path in found)


def wav_seconds(path: Path) -> float | None:
    """Duration from a PCM WAV header (no decoding); None for other formats, where it would cost a decode."""
    if path.suffix.lower() != ".wav":
        return None
    try:
        with wave.open(str(path), "rb") as handle:
            return round(handle.getnframes() / handle.getframerate(), 3)
    except (OSError, EOFError, wave.Error, ZeroDivisionError):
        return None


def clip_metadata(audio_dir: Path, rel: str, captions: dict[str, str]) -> dict[str, Any]:
    path = Path(rel)
    meta: dict[str, Any] = {"clip_id": path.with_suffix("").as_posix(), "path": rel,
                            "duration": wav_seconds(audio_dir / path)}
    caption = captions.get(path.name) or captions.get(path.stem)
    if caption:
        meta["caption"] = caption
    return meta


# ---------------------------------------------------------------------------------------------
# the staging area: what an interrupted run has done
# ---------------------------------------------------------------------------------------------


class Staging:
    """``<out>.partial/``: what an interrupted run finished, append-only so that a flush costs one chunk.

    ``run.json`` names the run (folder, embedder, dim). Chunk k is ``chunk-k.npy`` (vectors) and
    ``chunk-k.json`` (their paths, and the files skipped meanwhile); the JSON is renamed into
    place last, so a chunk without one is a write that was cut short, and it is ignored.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.chunks: list[dict[str, Any]] = []  # {"name", "paths", "skipped"} per flushed chunk
        self.paths: list[str] = []  # pending: embedded, not flushed yet
        self.vectors: list[np.ndarray] = []
        self.skipped: list[dict[str, str]] = []  # pending: {"path", "reason"}

    @classmethod
    def open(cls, directory: Path, identity: dict[str, Any]) -> Staging:
        """Continue the run in ``directory``, or start one; a run with another identity is refused."""
        staging = cls(directory)
        run = directory / RUN_FILE
        if not run.is_file():
            shutil.rmtree(directory, ignore_errors=True)  # leftovers of a run that never began
            directory.mkdir(parents=True)
            _replace_json(run, identity)
            return staging
        found = _read_state(run, directory)
        if found != identity:
            raise InputError(f"{directory} holds an unfinished run with other settings ({found}); "
                             f"delete it to start over, or rerun that command to finish it")
        for path in sorted(directory.glob("chunk-*.json")):
            state = _read_state(path, directory)
            if not isinstance(state.get("paths"), list) or not isinstance(state.get("skipped"), list):
                raise InputError(f"{path} is damaged; delete {directory} to start over")
            staging.chunks.append({"name": path.stem, "paths": state["paths"], "skipped": state["skipped"]})
        return staging

    @property
    def pending(self) -> int:
        return len(self.paths) + len(self.skipped)

    def done(self) -> set[str]:
        return {p for c in self.chunks for p in c["paths"]} | {s["path"] for c in self.chunks for s in c["skipped"]}

    def all_skipped(self) -> list[dict[str, str]]:
        return [s for c in self.chunks for s in c["skipped"]]

    def flush(self) -> None:
        """Write the pending vectors and skips as the next chunk."""
        if not self.pending:
            return
        number = 1 + max((int(c["name"].split("-")[1]) for c in self.chunks), default=-1)
        name = f"chunk-{number:05d}"
        if self.paths:
            tmp = self.directory / f"{name}.npy.tmp"
            with open(tmp, "wb") as handle:
                np.save(handle, np.stack(self.vectors), allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.directory / f"{name}.npy")
        _replace_json(self.directory / f"{name}.json", {"paths": self.paths, "skipped": self.skipped})
        self.chunks.append({"name": name, "paths": self.paths, "skipped": self.skipped})
        self.paths, self.vectors, self.skipped = [], [], []

    def load_vectors(self, dim: int) -> dict[str, np.ndarray]:
        """Every flushed file's vector, by relative path."""
        out: dict[str, np.ndarray] = {}
        for chunk in self.chunks:
            if not chunk["paths"]:
                continue
            path = self.directory / f"{chunk['name']}.npy"
            try:
                array = np.load(path, allow_pickle=False)
            except (OSError, ValueError) as error:
                raise InputError(f"{path} is damaged ({error}); delete {self.directory} to start over") from None
            if array.shape != (len(chunk["paths"]), dim):
                raise InputError(f"{path} has shape {array.shape}, expected {(len(chunk['paths']), dim)}; "
                                 f"delete {self.directory} to start over")
            out.update(zip(chunk["paths"], array))
        return out


def _replace_json(path: Path, data: Any) -> None:
    """Write JSON beside ``path`` and rename it into place: a reader sees the whole file or none."""
    tmp = path.with_name(path.name + ".tmp")
    write_json(tmp, data)
    os.replace(tmp, path)
    fsync_path(path.parent)


def _read_state(path: Path, directory: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path} is damaged ({error}); delete {directory} to start over") from None
    if not isinstance(state, dict):
        raise InputError(f"{path} is damaged (not a JSON object); delete {directory} to start over")
    return state


# ---------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------


def index_audio(audio_dir: str | Path, out: str | Path, embedder: AudioEmbedder,
                config: VectorIndexConfig = VectorIndexConfig(), batch: int = DEFAULT_BATCH) -> IndexReport:
    """Embed every audio file under ``audio_dir`` (resuming a previous run) and save the index at ``out``."""
    from tqdm import tqdm

    given_dir = Path(audio_dir)  # recorded as given: a bundled index must not name this machine's paths
    audio_dir, out = given_dir.resolve(), Path(out).resolve()
    if not audio_dir.is_dir():
        raise InputError(f"audio folder {audio_dir} does not exist")
    if batch < 1:
        raise InputError(f"--batch must be at least 1, got {batch}")
    files = list_audio(audio_dir)
    if not files:
        raise InputError(f"no audio files under {audio_dir} (looked for {', '.join(AUDIO_SUFFIXES)})")
    captions = read_first_captions(audio_dir)

    describe = embedder.describe()
    identity = {"format_version": STAGING_VERSION, "audio_dir": str(audio_dir), "dim": int(embedder.dim),
                "embedder": describe}
    identity = json.loads(json.dumps(identity))  # as run.json will read back (tuples become lists)
    staging = Staging.open(out.with_name(out.name + ".partial"), identity)
    done = staging.done()
    todo = [rel for rel in files if rel not in done]
    try:
        for rel in tqdm(todo, desc="embedding", unit="file", initial=len(files) - len(todo), total=len(files)):
            try:
                vector = np.asarray(embedder.embed_audio_file(audio_dir / rel), dtype=np.float32)
            except InputError as error:
                staging.skipped.append({"path": rel, "reason": str(error)})
                continue
            if vector.shape != (embedder.dim,):
                raise ValueError(f"the embedder returned shape {vector.shape} for {rel}, expected ({embedder.dim},)")
            norm = float(np.linalg.norm(vector))
            if abs(norm - 1.0) <= UNIT_NORM_TOLERANCE:
                staging.paths.append(rel)
                staging.vectors.append(vector)
            else:  # NaN too
                staging.skipped.append({"path": rel, "reason": f"its embedding has norm {norm:.4g}, not 1"})
            if staging.pending >= batch:
                staging.flush()
    finally:
        staging.flush()  # on Ctrl-C too: the finished embeddings are kept for the rerun

    vectors = staging.load_vectors(embedder.dim)
    kept = [rel for rel in files if rel in vectors]
    listed = set(files)  # a file deleted since the interrupted run is neither indexed nor reported
    skipped = sorted((s for s in staging.all_skipped() if s["path"] in listed), key=lambda s: s["path"])
    if not kept:
        shutil.rmtree(staging.directory)  # nothing worth resuming; a rerun retries every file
        reasons = "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:3])
        raise InputError(f"none of the {len(files)} audio files under {audio_dir} could be embedded ({reasons})")
    metadata = [clip_metadata(audio_dir, rel, captions) for rel in kept]
    index = VectorIndex.build(np.stack([vectors[rel] for rel in kept]), [m["clip_id"] for m in metadata], metadata,
                              config, info={**describe, "audio_dir": given_dir.as_posix(), "skipped": skipped})
    index.save(out)
    shutil.rmtree(staging.directory)
    return IndexReport(out=out, kind=index.kind, indexed=len(kept), skipped=skipped, resumed=len(done))


def _run_audio(args: argparse.Namespace) -> IndexReport:
    embedder = load_embedder(args.checkpoint, args.device)
    return index_audio(args.audio, args.out, embedder, VectorIndexConfig(kind=args.kind), batch=args.batch)


def summary(report: IndexReport) -> str:
    lines = [f"indexed {report.indexed} clips ({report.kind}) -> {report.out}"
             + (f"; {report.resumed} files were done by an earlier run" if report.resumed else "")]
    if report.skipped:
        lines.append(f"skipped {len(report.skipped)} files:")
        lines += [f"  {s['path']}: {s['reason']}" for s in report.skipped[:SHOWN_SKIPS]]
        if len(report.skipped) > SHOWN_SKIPS:
            lines.append(f"  ... (all {len(report.skipped)} are listed under info.skipped in index.json)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mmdemo.index", description=__doc__.splitlines()[0])
    modalities = parser.add_subparsers(dest="modality", required=True)
    audio = modalities.add_parser("audio", help="index a folder of sounds with a trained audio-text dual encoder")
    audio.add_argument("--audio", required=True, help="folder searched recursively for audio (and video) files")
    audio.add_argument("--checkpoint", required=True, help="dual encoder export directory (python -m training audio-retrieval)")
    audio.add_argument("--out", required=True, help="index directory to write (vectors.faiss + index.json)")
    audio.add_argument("--kind", choices=KINDS, default="auto",
                       help=f"exact search, IVF, or auto (exact up to {VectorIndexConfig.exact_max:,} clips)")
    audio.add_argument("--device", default="cpu", help="torch device for the audio tower, e.g. cpu or cuda")
    audio.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="files embedded between two saves of the progress")
    audio.set_defaults(run=_run_audio)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = args.run(args)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: the files embedded so far are kept; rerun the same command to continue",
              file=sys.stderr)
        return 130
    print(summary(report), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
