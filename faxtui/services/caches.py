"""Bounded caches of values that repeat from item to item and poll to poll (codes, counts, times,
layouts): shared by both parsers."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

CACHE_LIMIT = 16384
"""Most entries in each cache; a full cache is emptied (back to its seed entries) and refilled."""


class BoundedCache(dict[K, V]):
    """A dict that empties itself, back to its seed entries, when it is full. Reads are plain dict
    reads (`get`, `[]`), as fast as any dict's."""

    def __init__(self, seed: Mapping[K, V] | None = None, limit: int = CACHE_LIMIT) -> None:
        super().__init__(seed or {})
        self._seed = dict(seed or {})
        self._limit = limit

    def remember(self, key: K, value: V) -> None:
        if len(self) >= self._limit:
            self.reset()
        self[key] = value

    def reset(self) -> None:
        """Back to the seed entries only."""
        self.clear()
        self.update(self._seed)
