"""SVG snapshots of the main views at 80×24 and 160×48 (fixed seed, fake clock, pinned latency).

The scenes are those of `faxtui.tui.screenshots`, so the README pictures and these baselines show
the same thing. Regenerate with `pytest tests/test_tui_snapshots.py --snapshot-update` only after
looking at the new pictures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from faxtui.tui.screenshots import VIEWS, close_scene, make_scene

SIZES = ((80, 24), (160, 48))
SCENES = {view.name.removesuffix("-160x48").removesuffix("-80x24"): view for view in VIEWS}


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("scene_name", sorted(SCENES))
def test_snapshot(scene_name: str, size: tuple[int, int], snap_compare: Callable[..., bool],
                  tmp_path: Path) -> None:
    view = SCENES[scene_name]
    scene = make_scene(view.demo, tmp_path)
    try:
        assert snap_compare(scene.app, terminal_size=size,
                            run_before=lambda pilot: view.prepare(scene, pilot))
    finally:
        close_scene(scene)
