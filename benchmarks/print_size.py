"""Print size: seconds and peak memory of one evaluation, tiled and untiled, from 512 to 4096 px.

    python benchmarks/print_size.py [--sizes 512 1024 2048 4096] [--repeats 2] [--compare-pass-1]

For the walk-through pair (hugo x wave) at each size, in a fresh process per row (so each
peak resident memory is its own): one loss+gradient evaluation untiled where it fits in the
memory available, and tiled as a memory limit makes `nst` tile it (the tile `nst` picks
for `--limit-mb` at that size; at sizes that fit untiled a 512 px tile is forced, to measure
what tiling costs), and in the tile it plans for this size's stage of each larger run; pass 1
(forward only) in the larger tile nst plans for it within the same limit (with --compare-pass-1,
each tiled row again with pass 1 in pass 2's tiles, as before it had its own). Each
row prints seconds per evaluation (the median of --repeats after one untimed evaluation that
traces the graph), seconds per megapixel, peak RSS against nst's own estimate, and the
tiled/untiled cost per pixel where both ran.

Then it forecasts a whole `--preset print` run at each size from the rows: the evaluations of
every stage (nst's own plan) times that stage's measured seconds per evaluation.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ARTICLE = ROOT.parent / "shared" / "article"


def child(*args: str) -> dict | None:
    """One row in a fresh process; None when it ran out of memory or failed (said on stderr)."""
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        print(f"  ({' '.join(args[:3])} did not run: {done.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(size: int, tile: int, limit_mb: int, same_tiles: bool, precision: str, repeats: int, content: str,
            style: str) -> dict:
    """Inside the child: plan (`tile` forced, pass 1's tile as nst plans it within `limit_mb`), build,
    trace, then time `repeats` evaluations."""
    import statistics
    import time

    import numpy as np

    from nst.engine import engine_for
    from nst.estimate import StagePlan, peak_rss_mib, plan_stage
    from nst.inputs import Inputs
    from nst.settings import TransferSettings

    settings = TransferSettings(size=size, precision=precision, tile=tile, max_memory=0)
    inputs = Inputs.load(content, [style], settings)
    engine = engine_for(settings)
    plan: StagePlan = plan_stage(settings, engine.backbone, *inputs.shape_at(size),
                                 limit_mb * 2**20 if tile and limit_mb else None, engine.precision)
    forward_tile = tile if same_tiles else plan.forward_tile
    objective = engine.objective_for(tile, forward_tile)
    stage = inputs.stage(settings, size)
    targets = stage.targets(objective, settings)
    x = stage.initial_image(settings, np.random.default_rng(0), None)
    objective.value_and_grad(x, targets)  # traces
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        objective.value_and_grad(x, targets)
        seconds.append(time.perf_counter() - start)
    h, w = stage.shape
    evaluation = statistics.median(seconds)
    return {"size": size, "height": h, "width": w, "tile": tile, "forward_tile": forward_tile,
            "backbone": engine.backbone, "precision": engine.precision, "seconds": evaluation,
            "seconds_per_mpx": evaluation / (h * w / 1e6), "peak_rss_mib": peak_rss_mib(),
            "estimate_mib": (plan.bytes - _state_bytes(plan, h, w)) / 2**20}


def _state_bytes(plan, h: int, w: int) -> int:
    """The optimiser's share of a plan's estimate: no optimiser runs in this benchmark."""
    from nst.estimate import state_bytes

    return state_bytes(plan.optimizer, plan.lbfgs_history, h, w)


def planned(settings, size: int, limit_bytes: int | None, content: str, style: str):
    """nst's own plan for a `size` stage of `settings` within `limit_bytes`, and that stage's (h, w)."""
    from nst.engine import engine_for
    from nst.estimate import plan_stage
    from nst.inputs import Inputs

    inputs = Inputs.load(content, [style], settings)
    shape = inputs.shape_at(size)
    engine = engine_for(settings)
    return plan_stage(settings, engine.backbone, *shape, limit_bytes, engine.precision), shape


def tile_for(size: int, limit_mb: int, content: str, style: str) -> int:
    """The tile nst picks for a `size` run within `limit_mb` (0 when it runs untiled)."""
    from nst.settings import TransferSettings

    return planned(TransferSettings.from_preset("print", size=size), size, limit_mb * 2**20, content, style)[0].tile


def fits_untiled(size: int, content: str, style: str) -> bool:
    from nst.estimate import available_bytes
    from nst.settings import TransferSettings

    plan, shape = planned(TransferSettings(size=size), size, None, content, style)
    return plan.bytes - _state_bytes(plan, *shape) < 0.8 * (available_bytes() or 0)


def forecast(rows: list[dict], size: int, limit_mb: int, content: str, style: str) -> tuple[float, list[str]]:
    """Seconds of a whole `--preset print --size size` run within `limit_mb`, stage by stage."""
    from nst.settings import TransferSettings

    settings = TransferSettings.from_preset("print", size=size)
    total, parts = 0.0, []
    for stage in settings.stages():
        tile = planned(settings, stage.size, limit_mb * 2**20, content, style)[0].tile
        row = next((r for r in rows if r["size"] == stage.size and r["tile"] == tile and r["limit_mb"] in (0, limit_mb)),
                   None)
        if row is None:
            return float("nan"), [f"no row at {stage.size} px {f'in {tile} px tiles' if tile else 'untiled'}"]
        evaluations = stage.iterations * stage.evals_per_iteration  # print's one L-BFGS run or Adam: its budget
        total += evaluations * row["seconds"]
        parts.append(f"{stage.size} px: {evaluations} x {row['seconds']:.1f} s")
    return total, parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--compare-pass-1", action="store_true",
                        help="each tiled row again with pass 1 in pass 2's tiles (its own larger tiles otherwise)")
    parser.add_argument("--limit-mb", type=int, nargs="+", default=[4000, 4000, 4000, 8000],
                        help="memory limit per size (the last one repeats): the tiled row uses nst's tile for it")
    parser.add_argument("--content", default=str(ARTICLE / "hugo.jpg"))
    parser.add_argument("--style", default=str(ARTICLE / "wave.jpg"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        size, tile, limit_mb, same, precision, repeats, content, style = args.child
        print(json.dumps({**measure(int(size), int(tile), int(limit_mb), same == "same", precision, int(repeats),
                                    content, style),
                          "limit_mb": int(limit_mb) if int(tile) else 0}))
        return 0

    from nst.device import describe_device

    print(f"device: {describe_device()}, precision {args.precision}, pair {Path(args.content).name} x "
          f"{Path(args.style).name}, median of {args.repeats} evaluations\n")
    limits = dict(zip(args.sizes, args.limit_mb + [args.limit_mb[-1]] * len(args.sizes)))
    rows = []
    header = (f"{'size':>5} {'image':>10} {'tile':>6} {'pass 1':>6} {'limit':>6} {'s/eval':>8} {'s/MPx':>7} "
              f"{'peak RSS MiB':>13} {'estimate':>9} {'tiled/untiled':>14}")
    print(header)
    for size in args.sizes:
        untiled = None
        if fits_untiled(size, args.content, args.style):
            untiled = child(str(size), "0", "0", "plan", args.precision, str(args.repeats), args.content, args.style)
        # the tile nst plans at this size within its own limit, and within each larger size's
        # limit (that run's stage of this size): the forecasts then use the tile each stage runs in
        runs = {(tile_for(size, limits[size], args.content, args.style) or 512, limits[size])}
        runs |= {(tile_for(size, limits[larger], args.content, args.style), limits[larger])
                 for larger in args.sizes if larger > size}
        passes = ["plan", "same"] if args.compare_pass_1 else ["plan"]
        tiled = [child(str(size), str(tile), str(limit), same, args.precision, str(args.repeats), args.content,
                       args.style) for tile, limit in sorted(runs, reverse=True) if tile for same in passes]
        for row in (untiled, *tiled):
            if row is None:
                continue
            rows.append(row)
            ratio = f"{row['seconds_per_mpx'] / untiled['seconds_per_mpx']:.2f}x" if row["tile"] and untiled else ""
            print(f"{size:>5} {row['width']:>4}x{row['height']:<5} {row['tile'] or 'none':>6} "
                  f"{row['forward_tile'] or row['tile'] or '':>6} {row['limit_mb'] or '':>6} {row['seconds']:>8.2f} "
                  f"{row['seconds_per_mpx']:>7.2f} {row['peak_rss_mib']:>13.0f} {row['estimate_mib']:>9.0f} {ratio:>14}",
                  flush=True)
    print("\nforecast of a whole --preset print run (evaluations x measured seconds per evaluation):")
    for size in args.sizes:
        if size <= 512:
            continue
        total, parts = forecast(rows, size, limits[size], args.content, args.style)
        print(f"  {size} px within {limits[size]} MB: {total / 60:.0f} min ({'; '.join(parts)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
