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
def small_images(tmp_path_factory, article) -> dict[str, Path]:
    """Real photographs, downscaled: fast inputs that still have real image statistics."""
    folder = tmp_path_factory.mktemp("small")
    out = {}
    for name, size in (("hugo", (64, 64)), ("wave", (80, 80)), ("scream", (72, 72)), ("hugo_wide", (96, 64))):
        source = "hugo" if name.startswith("hugo") else name
        with Image.open(article / f"{source}.jpg") as im:
            path = folder / f"{name}.png"
            im.convert("RGB").resize(size, Image.Resampling.LANCZOS).save(path)
            out[name] = path
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
