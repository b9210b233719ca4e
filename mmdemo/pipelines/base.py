"""What every pipeline shares: where its export lives, loading it once, progress, and the facts for its tab.

A pipeline is cheap to create (``load`` or ``from_dir``): nothing is read until a request, or the
app's warm-up (``mmdemo.ui.warmup``), asks for a part. Each part is built once under one lock per
pipeline, so two requests that race for a model load it once; the second waits and reuses it.
Builds of different pipelines take turns (``_BUILDING``).
``describe`` returns facts (names, training data, metrics as numbers), never prose and never a
server path: the UI words them (``mmdemo.ui.model_card``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from mmdemo.config import Settings
from mmdemo.errors import InputError
from mmdemo.names import without_dirs

T = TypeVar("T")
# One build at a time in the whole process, whichever pipeline asks: the libraries the models
# import (transformers' lazy modules) are not safe to import from two threads at once, and the
# warm-up thread is importing them while the first requests arrive. Parts already built are
# handed out without it.
_BUILDING = threading.RLock()


class Progress(Protocol):
    """What ``gr.Progress`` offers; any callable with this shape will do."""

    def __call__(self, progress: float, desc: str | None = None) -> Any: ...


def reporter(progress: Progress | None) -> Progress:
    """``progress``, or a no-op when the caller does not follow progress."""
    return progress or (lambda fraction, desc=None: None)


@dataclass(frozen=True)
class ModelCard:
    """One export as facts: which weights, trained on what, measured how well (from its ``meta.json``)."""

    name: str  # the export's folder name
    note: str = ""  # what the trainer said it is ("video captioning (UniVL-style) ...")
    data: str = ""  # the training data's folder name, never its path
    init: str = ""  # "pretrained" or "scratch"
    metrics: dict[str, float] = field(default_factory=dict)  # validation figures as stored
    selected_by: str = ""  # the metric the exported epoch was chosen by

    @classmethod
    def read(cls, path: Path) -> ModelCard:
        """The card of the export in ``path``; a missing or broken ``meta.json`` gives the bare name."""
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        meta = meta if isinstance(meta, dict) else {}
        metrics = meta.get("metrics") if isinstance(meta.get("metrics"), dict) else {}
        selection = meta.get("selection") if isinstance(meta.get("selection"), dict) else {}
        data = str(meta.get("data") or "")
        return cls(
            name=path.name,
            note=without_dirs(str(meta.get("note") or "")),
            data=Path(data).name if data else "",
            init=str(meta.get("init") or ""),
            metrics={str(k): float(v) for k, v in metrics.items() if isinstance(v, (int, float))},
            selected_by=str(selection.get("metric") or ""),
        )


class Pipeline:
    """Base of every capability's pipeline. Subclasses name their export folder and build their parts.

    ``root``: the export (or checkpoint set) the pipeline runs on; by default
    ``<checkpoint root>/<checkpoint_dir>``.
    """

    checkpoint_dir: ClassVar[str] = ""  # the export's folder under the checkpoint root
    missing: ClassVar[str] = "No model is installed"  # said when a request needs the absent export

    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        self.settings = settings
        self.root = root if root is not None else settings.checkpoint_root / self.checkpoint_dir
        self._parts: dict[str, Any] = {}
        self._load_lock = threading.RLock()  # re-entrant: a part may build on another part

    @classmethod
    def load(cls: type[T], settings: Settings) -> T:
        """The app's pipeline: cheap, the models load on first use."""
        return cls(settings)

    @classmethod
    def from_dir(cls: type[T], path: str | Path, settings: Settings | None = None) -> T:
        """A pipeline over the export in ``path`` (evaluation, benchmarks)."""
        return cls(settings or Settings(), Path(path))

    def available(self) -> bool:
        """Whether the export is installed (cheap: nothing is loaded)."""
        return self.root.is_dir()

    def require(self) -> None:
        """InputError for a person when the export this request needs is not installed."""
        if not self.available():
            raise InputError(f"{self.missing} (expected an export in a checkpoint folder '{self.root.name}').")

    def describe(self) -> dict[str, Any]:
        """Facts for the tab: ``"models"``, the cards of the installed exports; subclasses add theirs."""
        return {"models": [ModelCard.read(self.root)] if self.available() else []}

    def warm_up(self) -> None:
        """Build every part a request needs; the app calls it in the background right after start."""
        raise NotImplementedError

    def part(self, name: str, build: Callable[[], T]) -> T:
        """The part ``name``, built by ``build`` the first time it is asked for, then shared."""
        with self._load_lock:
            if name not in self._parts:
                with _BUILDING:
                    self._parts[name] = build()
            return self._parts[name]

    def loaded(self, name: str) -> bool:
        """Whether the part ``name`` is built already (for tests and status lines)."""
        return name in self._parts
