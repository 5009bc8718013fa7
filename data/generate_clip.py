"""Generate the project's example clip: a camera panning and zooming across data/content/coffee.png
with a textured disc crossing it (nst.video.synthetic), 48 frames of 512 x 288 at 24 fps.

    python data/generate_clip.py        # rewrites data/clips/coffee_pan.mp4

Its true motion is known to the code that made it, so the tests and benchmarks/video.py use the
generator itself; the file is for `config/video.yaml` and for trying `nst video`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nst.video.clips import write_clip  # noqa: E402
from nst.video.synthetic import synthetic_clip  # noqa: E402


def main() -> None:
    photo = np.asarray(Image.open(HERE / "content" / "coffee.png").convert("RGB"))
    write_clip(synthetic_clip(photo).frames, HERE / "clips" / "coffee_pan.mp4", 24)


if __name__ == "__main__":
    main()
