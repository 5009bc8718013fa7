"""bfloat16 against float32: the article's optimisation in both, over seeds, judged in float32.

    python benchmarks/precision_accuracy.py SIZE INIT SEEDS      e.g.  256 noise 0,1,2

prints one JSON line per precision and seed: the float32 objective of the optimiser's final
image and of its saved (8-bit) image, and the seconds the 10 x 20 L-BFGS took. The spread of
float32's own results over seeds is the yardstick for bfloat16's difference.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ARTICLE = ROOT.parent / "shared" / "article"


def main(argv: list[str]) -> int:
    from nst import images
    from nst.engine import engine_for
    from nst.inputs import Inputs
    from nst.optimise import lbfgs
    from nst.settings import TransferSettings

    size, init, seeds = int(argv[0]), argv[1], [int(s) for s in argv[2].split(",")]
    content, style = argv[3:5] if len(argv) > 4 else (ARTICLE / "hugo.jpg", ARTICLE / "wave.jpg")
    settings = TransferSettings(size=size, init=init)
    stage = Inputs.load(content, [style], settings).stage(settings, size)
    exact = engine_for(settings, "float32").objective
    exact_targets = stage.targets(exact, settings)
    for precision in ("float32", "bfloat16"):
        objective = engine_for(settings, precision).objective
        targets = stage.targets(objective, settings)
        for seed in seeds:
            x0 = stage.initial_image(settings, np.random.default_rng(seed), None)
            started = time.perf_counter()
            x = lbfgs(lambda image: objective.value_and_grad(image, targets), x0, settings.iterations,
                      settings.evals_per_iteration)
            seconds = time.perf_counter() - started
            saved = images.preprocess(images.deprocess(x).astype(np.float32))
            print(json.dumps({"precision": precision, "seed": seed, "size": size, "init": init,
                              "objective": exact.value(x, exact_targets).total,
                              "png": exact.value(saved, exact_targets).total, "seconds": round(seconds, 1)}),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
