"""Transcripts kept by the content of the file they came from, so a second question costs nothing.

Keys are sha256 digests of the uploaded file (its name and upload path change with every
upload; its bytes do not) and the model name. The cache is bounded (least recently used
entries go first) and thread-safe; it holds only what any user uploading the same bytes would
get anyway, so sharing it between sessions shows no one anything of another's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")


class LRUCache(Generic[T]):
    """At most ``max_items`` values; reading a value makes it the most recently used."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._items: OrderedDict[tuple, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> T | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: tuple, value: T) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
