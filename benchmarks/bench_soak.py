"""The 24-hour soak (`benchmarks/soak.py`) for the seeds issue 13 names: 1, 2 and 9, in turn.

About four minutes of wall time each. Every figure goes next to its target in `make bench`'s
summary; the exit status is 1 when any seed missed one.
"""

from __future__ import annotations

from benchmarks import soak

SEEDS = (1, 2, 9)


def main() -> int:
    return soak.main([arg for seed in SEEDS for arg in ("--seed", str(seed))])


if __name__ == "__main__":
    raise SystemExit(main())
