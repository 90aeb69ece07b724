"""The parsers' bounded caches: full means emptied back to their seed entries, never unbounded."""

from __future__ import annotations

from faxtui.services.caches import BoundedCache


def test_a_full_cache_starts_again_from_its_seed() -> None:
    cache: BoundedCache[str | None, int | None] = BoundedCache({None: None}, limit=3)
    for n in range(2):
        cache.remember(str(n), n)
    assert cache == {None: None, "0": 0, "1": 1}
    cache.remember("2", 2)  # full: emptied to the seed, then this one kept
    assert cache == {None: None, "2": 2}
    cache.reset()
    assert cache == {None: None}
