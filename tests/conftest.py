"""Shared fixtures: the article's images (read in place from ../shared/article), small real images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = Path(os.environ.get("NST_ARTICLE_DIR", ROOT.parent / "shared" / "article"))


@pytest.fixture(scope="session")
def article() -> Path:
    if not (ARTICLE / "hugo.jpg").is_file():
        pytest.skip(f"the article's images are not at {ARTICLE} (set NST_ARTICLE_DIR)")
    return ARTICLE


@pytest.fixture(scope="session")
def small_images(tmp_path_factory) -> dict[str, Path]:
    """The project's own example images, downscaled: fast inputs with real image statistics."""
    folder = tmp_path_factory.mktemp("small")
    sources = {
        "content": ("content/chelsea.png", (64, 64)),
        "wide": ("content/chelsea.png", (96, 64)),
        "style": ("styles/strokes.png", (80, 80)),
        "style2": ("styles/mosaic.png", (72, 72)),
    }
    out = {}
    for name, (source, size) in sources.items():
        with Image.open(ROOT / "data" / source) as im:
            path = folder / f"{name}.png"
            im.convert("RGB").resize(size, Image.Resampling.LANCZOS).save(path)
            out[name] = path
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_collection_modifyitems(session, config, items):
    """The Slurm tests last. Once tests/slurm/cluster.sh has run, Slurm's client tools stay
    installed, and while no controller answers every Snakemake start waits ~9 s: the Slurm
    executor plugin asks `scontrol` for MinJobAge when it is imported."""
    items.sort(key=lambda item: item.path.name == "test_slurm.py")
