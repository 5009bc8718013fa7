"""One loss + gradient evaluation on each backend, here: TensorFlow against PyTorch on the same objective.

    python benchmarks/backends.py [--sizes 64 512] [--precisions float32 bfloat16] [--repeats 4]

For the article's walk-through pair (hugo x wave, ../shared/article), VGG19 to block5_conv3, the
article's losses and weights, targets computed once: each backend's seconds per evaluation (the
best of `--repeats` after three warm-up evaluations), each in a fresh process so neither's
libraries slow the other, alternating so a load that comes and goes falls on both.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT.parent / "shared" / "article"


def child(backend: str, size: int, precision: str, repeats: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from nst.engine import engine_for
    from nst.inputs import Inputs
    from nst.settings import TransferSettings

    settings = TransferSettings(size=size, backend=backend, precision=precision)
    engine = engine_for(settings)
    stage = Inputs.load(ARTICLE / "hugo.jpg", [ARTICLE / "wave.jpg"], settings).stage(settings, size)
    objective, vectors = engine.objective, engine.backend.vectors
    targets = stage.targets(objective, settings)
    x = vectors.from_host(stage.initial_image(settings, np.random.default_rng(0), None))
    for _ in range(3):
        objective.value_and_grad(x, targets)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        objective.value_and_grad(x, targets)
        best = min(best, time.perf_counter() - started)
    return {"backend": backend, "size": size, "precision": precision, "computed_in": engine.precision,
            "seconds": best, "device": engine.backend.describe_device()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        backend, size, precision, repeats = args.child
        print(json.dumps(child(backend, int(size), precision, int(repeats))))
        return 0
    print("| size | precision | TensorFlow | PyTorch | PyTorch / TensorFlow |")
    print("| --- | --- | --- | --- | --- |")
    for size in args.sizes:
        for precision in args.precisions:
            found = {}
            for backend in ("tensorflow", "torch"):
                done = subprocess.run([sys.executable, __file__, "--child", backend, str(size), precision,
                                       str(args.repeats)], capture_output=True, text=True, check=True)
                found[backend] = json.loads(done.stdout.strip().splitlines()[-1])
            tf_s, torch_s = found["tensorflow"]["seconds"], found["torch"]["seconds"]
            print(f"| {size}² | {precision} ({found['tensorflow']['computed_in']} / {found['torch']['computed_in']}) "
                  f"| {1000 * tf_s:.1f} ms | {1000 * torch_s:.1f} ms | {torch_s / tf_s:.2f} |", flush=True)
    print(f"\n{found['torch']['device']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
