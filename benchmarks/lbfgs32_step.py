"""The float32 L-BFGS's own work per step, apart from any evaluation, on any machine.

    python benchmarks/lbfgs32_step.py [--sizes 512,1024] [--steps 20] [--vectors numpy,torch] [--as-gpu]

Over a quadratic sum(w (x - t)^2) of an image's size (1 x H x W x 3), bounded as a run is, its
memory full and wrapped (m = 10): milliseconds per step with the objective's own time taken out
(a GPU's queue awaited), and for PyTorch the operations launched per step (each a kernel on a GPU).
`numpy` is the TensorFlow backend's arrays (the host), `torch` the PyTorch backend's on its device
(CUDA where there is one); `--as-gpu` has PyTorch's arrays on a CPU make their products as on a GPU
(its chunks, float64), to count a GPU's operations on a CPU. benchmarks/gpu.py part 8 prints the same
on the H200.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nst.lbfgs32 import LBFGS32  # noqa: E402 (after the path above)


def step_costs(vectors, size: int, steps: int, history: int = 10) -> dict:
    on_torch = vectors.name == "torch"
    if on_torch:
        import torch

        from nst.backends.launches import Launches

        def synchronize():
            if torch.device(vectors.device).type == "cuda":
                torch.cuda.synchronize()
    else:
        def synchronize():
            pass
    rng = np.random.default_rng(0)
    weight, target = (vectors.from_host(a) for a in (rng.uniform(0.1, 10, (1, size, size, 3)),
                                                     50 * rng.normal(size=(1, size, size, 3))))
    counter = Launches() if on_torch else None  # counts only inside `with counter`
    in_objective, evaluations = [0.0], [0]

    def evaluate(x):
        started = time.perf_counter()
        if counter:
            counter.counting = False
        difference = x - target
        value, gradient = float((weight * difference * difference).sum()), 2 * weight * difference
        synchronize()
        if counter:
            counter.counting = True
        in_objective[0] += time.perf_counter() - started
        evaluations[0] += 1
        return value, gradient, None

    solver = LBFGS32(evaluate, vectors.zeros((1, size, size, 3)), history, np.full(3, -150, np.float32),
                     np.full(3, 150, np.float32), 1.0, vectors)
    solver.start()
    for _ in range(history + 2):  # the memory filled, and wrapped
        solver.step(20)
    synchronize()
    in_objective[0], evaluations[0], started = 0.0, 0, time.perf_counter()
    for _ in range(steps):
        solver.step(20)
    synchronize()
    found = {"size": size, "vectors": vectors.name, "ms_per_step": 1000 * (time.perf_counter() - started
                                                                           - in_objective[0]) / steps,
             "evaluations_per_step": evaluations[0] / steps}
    if counter:
        with counter:
            for _ in range(steps):
                solver.step(20)
        found["operations_per_step"] = counter.launched / steps
    return found


def describe(found: dict) -> str:
    operations = f", {found['operations_per_step']:.0f} operations" if "operations_per_step" in found else ""
    return (f"{found['size']:>5} {found['vectors']:<6} {found['ms_per_step']:7.2f} ms a step{operations} "
            f"({found['evaluations_per_step']:.2f} evaluations a step, their time taken out)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="512,1024")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--vectors", default="numpy,torch")
    parser.add_argument("--as-gpu", action="store_true", help="PyTorch's products as on a GPU, on any device")
    args = parser.parse_args()
    for kind in args.vectors.split(","):
        if kind == "numpy":
            from nst.backends.vectors import NumpyVectors

            vectors = NumpyVectors()
        else:
            from nst.backends import backend_for

            vectors = backend_for("torch").vectors
            if args.as_gpu:
                vectors.CHUNK, vectors.on_host = 1 << 22, False
        for size in (int(s) for s in args.sizes.split(",")):
            print(describe(step_costs(vectors, size, args.steps)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
