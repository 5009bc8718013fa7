"""The optimiser's loss after every evaluation of one transfer, for comparing starts, steps and
schedules by how many evaluations they need (not by seconds, which a busy machine stretches).

    python benchmarks/loss_per_evaluation.py CONTENT STYLE [nst transfer options]
    python benchmarks/loss_per_evaluation.py ../shared/article/hugo.jpg ../shared/article/wave.jpg \\
        --preset fast --size 512 --seed 0 --iterations 4 --evals-per-iteration 5 --init content

prints one line per evaluation: its number, the stage's size, seconds into the optimisation and
the loss the optimiser saw (unclipped, unlike the saved image; `nst loss` scores a saved one), and
with --below X the first evaluation whose loss is below X.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nst.run import Observer  # noqa: E402 (after the path above)
from nst.settings_cli import add_arguments, from_arguments  # noqa: E402
from nst.transfer import stylize  # noqa: E402


class Losses(Observer):
    def __init__(self, below: float | None):
        self.below, self.first = below, None

    def evaluated(self, evaluation) -> None:
        total = float(evaluation.losses.total)
        print(f"{evaluation.number} {evaluation.size} {evaluation.seconds:.2f} {total:.4e}", flush=True)
        if self.below is not None and self.first is None and total < self.below:
            self.first = evaluation.number


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("content")
    parser.add_argument("style")
    parser.add_argument("--below", type=float, help="report the first evaluation whose loss is below this")
    add_arguments(parser)
    args = parser.parse_args()
    watcher = Losses(args.below)
    stylize(args.content, [args.style], from_arguments(args), progress=False, observers=[watcher])
    if args.below is not None:
        print(f"first below {args.below:.4e}: evaluation {watcher.first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
