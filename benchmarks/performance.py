"""Where the time and memory of a style transfer go, on this machine, in one run.

    python benchmarks/performance.py --size 512

prints, for the content/style pair of the article's walk-through (hugo x wave):

1. seconds per loss+gradient evaluation at --size: the article's formulation (content,
   style and combination image through Keras's VGG as a batch of three every time), ours
   in float32 and in bfloat16, with ratios and each one's peak resident memory;
2. time to quality: seconds until the float32 objective at --size first drops below the
   value the article's own settings (noise init, 10 x 20 L-BFGS, float32) end at, for that
   reference run and for each speed lever added in turn (each stops at --budget seconds);
3. the fixed cost of one transfer job (interpreter and TensorFlow start, weights, network,
   graph tracing), phase by phase, and as a share of the article-settings run of part 2;
4. peak resident memory at --size and twice that, against nst's own estimate;
5. sweep throughput: runs per hour of the Snakemake workflow for 8 transfers at
   --sweep-size, one job or two jobs at a time, one job per run or per content x style pair.

Every figure is measured here and now; nothing is read from earlier runs unless
`--reference-loss` is given (then the reference run of part 2 is skipped).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))  # the Keras-layer reference network, tests/keras_vgg.py

ARTICLE = ROOT.parent / "shared" / "article"
DATA = ROOT / "data"
STARTED = time.perf_counter()


def child(*args: str) -> dict:
    """Run this script as `--child ...` in a fresh process; return the JSON it prints last."""
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- 1 and 4: one evaluation -----------------------------------------------------------


def evaluation_rows(size: int, repeats: int, content: str, style: str) -> list[dict]:
    rows = []
    for formulation, precision in (("article", "float32"), ("ours", "float32"), ("ours", "bfloat16")):
        rows.append(child("evaluation", formulation, precision, str(size), str(repeats), content, style))
    return rows


def child_evaluation(formulation, precision, size, repeats, content, style) -> dict:
    from evaluation_speed import measure

    return measure(formulation, precision, int(size), int(repeats), content, style)


# --- 3: fixed cost of a job ------------------------------------------------------------


def child_fixed_cost(size, content, style, started_ns) -> dict:
    """Phases of a fresh process up to its first finished evaluation, like a workflow job's."""
    marks = {"interpreter start": (time.time_ns() - int(started_ns)) / 1e9}
    t = time.perf_counter()

    def mark(name):
        nonlocal t
        now = time.perf_counter()
        marks[name] = now - t
        t = now

    import numpy as np
    import tensorflow  # noqa: F401

    mark("import TensorFlow")
    from nst.engine import clear_engines, engine_for
    from nst.inputs import Inputs
    from nst.settings import TransferSettings
    from nst.weights import resolve_weights

    mark("import nst")
    settings = TransferSettings(size=int(size), precision="float32", backbone="vgg19")
    resolve_weights("vgg19", "auto")
    mark("load weights (cache)")
    clear_engines()
    engine = engine_for(settings)
    mark("build network")
    stage = Inputs.load(content, [style], settings).stage(settings, int(size))
    mark("read images")
    targets = stage.targets(engine.objective, settings)
    mark("targets (first: traces)")
    x = (np.random.default_rng(0).uniform(0, 255, (1, *stage.shape, 3)) - 128).astype(np.float32)
    engine.objective.value_and_grad(x, targets)
    mark("first evaluation (traces)")
    stage.targets(engine.objective, settings)
    mark("targets again")
    engine.objective.value_and_grad(x, targets)
    mark("evaluation again")
    return marks


FIXED_COST_SIZE = 128  # tracing is size-independent; at a small size it stands out from one evaluation's noise


def fixed_cost(content: str, style: str) -> dict:
    marks = child("fixed", str(FIXED_COST_SIZE), content, style, str(time.time_ns()))
    tracing = marks["first evaluation (traces)"] - marks["evaluation again"]
    tracing += marks["targets (first: traces)"] - marks["targets again"]
    phases = {
        "interpreter start": marks["interpreter start"],
        "import TensorFlow": marks["import TensorFlow"],
        "import nst": marks["import nst"],
        "load weights (cache)": marks["load weights (cache)"],
        "build network": marks["build network"],
        "graph tracing": tracing,
    }
    return {"phases": phases, "total": sum(phases.values()), "evaluation": marks["evaluation again"]}


# --- 2: time to quality ----------------------------------------------------------------


def stopwatch(size: int, target: float | None, budget: float, log: list):
    """An observer that logs (seconds, size, loss) of every evaluation and stops the run
    once the objective at `size` is below `target`, or the time budget is spent.

    The benchmark's instrument: it watches the run the way any observer does.
    """
    from nst.run import Observer, StopRun

    class Stopwatch(Observer):
        def started(self, run):
            self.started_at = time.perf_counter()

        def evaluated(self, evaluation):
            seconds = time.perf_counter() - self.started_at
            log.append((seconds, evaluation.size, evaluation.losses.total))
            if target is not None and evaluation.size == size and evaluation.losses.total < target:
                raise StopRun("reached the target")
            if seconds > budget:
                raise StopRun("time budget spent")

    return Stopwatch()


def time_to_quality(settings, content: str, style: str, target: float | None, budget: float) -> dict:
    """Seconds (warm engine, from the start of `stylize`) until the float32 objective < target."""
    from nst.transfer import stylize

    stylize(content, [style], dataclasses.replace(settings, iterations=1, evals_per_iteration=1, scales=[],
                                                  scale_evals=[]), progress=False)  # warm: trace once
    log: list = []
    started = time.perf_counter()
    stylize(content, [style], settings, progress=False, observers=[stopwatch(settings.size, target, budget, log)])
    seconds = time.perf_counter() - started
    final = [loss for _, side, loss in log if side == settings.size]
    reached = target is not None and bool(final) and final[-1] < target
    return {"reached": reached, "seconds": seconds, "evaluations": len(log), "final_loss": final[-1] if final else None}


def levers(size: int) -> list:
    """The article's settings, then each speed lever added to the previous ones."""
    from nst.device import fast_bfloat16
    from nst.settings import TransferSettings

    article = dict(size=size, precision="float32", backbone="vgg19", seed=0)
    fast = dict(article, init="content", iterations=1, evals_per_iteration=400, lbfgs_step=1.0)
    coarse = [size // 4, size // 2]
    steps = [
        ("article: noise init, 10 x 20 L-BFGS", TransferSettings(**article)),
        ("+ content init", TransferSettings(**article, init="content")),
        ("+ no restarts (1 x 400), first step 1 grey level", TransferSettings(**fast)),
        (f"+ coarse-to-fine {coarse[0]} (40 evals), {coarse[1]} (20)",
         TransferSettings(**fast, scales=coarse, scale_evals=[40, 20])),
    ]
    if fast_bfloat16():
        steps.append(("+ bfloat16", TransferSettings(**{**fast, "precision": "bfloat16"}, scales=coarse,
                                                    scale_evals=[40, 20])))
    return steps


# --- 5: sweep throughput ---------------------------------------------------------------


def sweep_config(workdir: Path, size: int, batched: bool, iterations: int, evals: int) -> Path:
    import yaml

    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump({
        "contents": {"chelsea": str(DATA / "content/chelsea.png"), "coffee": str(DATA / "content/coffee.png")},
        "styles": {"strokes": str(DATA / "styles/strokes.png"), "mosaic": str(DATA / "styles/mosaic.png")},
        "weights": [[0.025, 5, 1], [0.025, 0.5, 1]],
        "size": size,
        "batch_triples": batched,
        "nst": {"init": "content", "iterations": iterations, "evals_per_iteration": evals, "precision": "auto"},
    }))
    return path


def sweep(size: int, iterations: int, evals: int) -> list[dict]:
    snakemake = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2",
                 "--quiet", "all"]
    rows = []
    for batched in (False, True):
        for concurrent in (1, 2):
            workdir = Path(tempfile.mkdtemp(prefix="nst-sweep-"))
            try:
                config = sweep_config(workdir, size, batched, iterations, evals)
                common = [*snakemake, "--directory", str(workdir), "--configfile", str(config)]
                subprocess.run([*common, "--until", "preprocess"], check=True, capture_output=True)
                rule = "transfer_pair" if batched else "transfer"
                started = time.perf_counter()
                subprocess.run([*common, "--until", rule, "--set-threads", f"{rule}={2 // concurrent}"],
                               check=True, capture_output=True)
                seconds = time.perf_counter() - started
                runs = len(list((workdir / "results" / "runs").glob("*/run.json")))
                rows.append({"jobs": "one per pair" if batched else "one per run", "concurrent": concurrent,
                             "threads": 2 // concurrent, "runs": runs, "seconds": seconds,
                             "runs_per_hour": 3600 * runs / seconds})
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    return rows


# --- report ----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2, help="timed evaluations per configuration")
    parser.add_argument("--content", default=str(ARTICLE / "hugo.jpg"))
    parser.add_argument("--style", default=str(ARTICLE / "wave.jpg"))
    parser.add_argument("--reference-loss", type=float, help="skip the reference run of part 2 and use this value")
    parser.add_argument("--budget", type=float, default=300, help="seconds each lever of part 2 may run")
    parser.add_argument("--sweep-size", type=int, default=256)
    parser.add_argument("--sweep-evals", type=int, nargs=2, default=[2, 10], metavar=("ITERATIONS", "EVALS"),
                        help="budget of each sweep run (iterations x evaluations per iteration)")
    parser.add_argument("--parts", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = {"evaluation": child_evaluation, "fixed": child_fixed_cost}[kind](*rest)
        print(json.dumps(result))
        return 0

    import tensorflow as tf

    from nst.device import cpu_model, describe_device, fast_bfloat16, resolve_precision
    from nst.estimate import estimate_bytes, lbfgs_bytes

    size = args.size
    print(f"# {describe_device()}; CPU model {cpu_model()}; TensorFlow {tf.__version__}; "
          f"bfloat16 fast here: {fast_bfloat16()} (precision auto -> {resolve_precision('auto')})")
    print(f"# command: python benchmarks/performance.py {' '.join(sys.argv[1:])}")
    evaluations = None

    if 1 in args.parts or 4 in args.parts:
        evaluations = evaluation_rows(size, args.repeats, args.content, args.style)
    if 1 in args.parts:
        print(f"\n## 1. One loss+gradient evaluation at {size}² (min of {args.repeats})")
        print(f"{'formulation':<10} {'precision':<9} {'s/eval':>8} {'x article':>9} {'peak RSS MiB':>12}")
        base = evaluations[0]["seconds_per_evaluation"]
        for row in evaluations:
            print(f"{row['formulation']:<10} {row['precision']:<9} {row['seconds_per_evaluation']:>8.3f} "
                  f"{base / row['seconds_per_evaluation']:>8.2f}x {row['peak_rss_mib']:>12.0f}", flush=True)
        bf16 = evaluations[2]["seconds_per_evaluation"]
        print(f"target bfloat16 <= 0.35 s and >= 12x the article: {bf16:.3f} s, {base / bf16:.1f}x: "
              f"{verdict(bf16 <= 0.35 and base / bf16 >= 12)}")

    reference_seconds = None
    if 2 in args.parts:
        print(f"\n## 2. Time to quality at {size}² ({Path(args.content).name} x {Path(args.style).name}, "
              f"warm engine, seconds from the start of the run)")
        steps = levers(size)
        target = args.reference_loss
        if target is None:
            reference = time_to_quality(steps[0][1], args.content, args.style, None, float("inf"))
            target, reference_seconds = reference["final_loss"], reference["seconds"]
            print(f"reference (article settings, float32): objective {target:.5g} after "
                  f"{reference['evaluations']} evaluations, {reference_seconds:.1f} s", flush=True)
        else:
            print(f"reference objective given: {target:.5g}")
        print(f"{'settings':<48} {'reached':>7} {'seconds':>8} {'evals':>6}")
        best = None
        for name, settings in steps[1:]:
            row = time_to_quality(settings, args.content, args.style, target, args.budget)
            shown = f"{row['seconds']:.1f}" if row["reached"] else f">{row['seconds']:.0f}"
            print(f"{name:<48} {str(row['reached']):>7} {shown:>8} {row['evaluations']:>6}", flush=True)
            if row["reached"]:
                best = row["seconds"] if best is None else min(best, row["seconds"])
        print("target <= 60 s: " + (f"best {best:.1f} s: {verdict(best <= 60)}" if best is not None
                                      else f"not reached within {args.budget:.0f} s by any lever: MISSED"))
        if not fast_bfloat16():
            print("(no bfloat16 row: on this hardware bfloat16 is not faster than float32, see part 1)")

    if 3 in args.parts:
        print(f"\n## 3. Fixed cost of one transfer job (fresh process, float32, phases timed at {FIXED_COST_SIZE}²)")
        cost = fixed_cost(args.content, args.style)
        for name, seconds in cost["phases"].items():
            print(f"{name:<24} {seconds:>7.2f} s")
        print(f"{'total':<24} {cost['total']:>7.2f} s")
        line = f"target <= 5 s: {verdict(cost['total'] <= 5)}"
        if reference_seconds:
            share = cost["total"] / (cost["total"] + reference_seconds)
            line += f"; share of an article-settings {size}² run: {100 * share:.1f} % ({verdict(share <= 0.05)})"
        print(line)

    if 4 in args.parts:
        print("\n## 4. Peak resident memory (float32, ours)")
        big = child("evaluation", "ours", "float32", str(2 * size), "1", args.content, args.style)
        layers = ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"]
        for side, row in ((size, evaluations[1]), (2 * size, big)):
            estimate = (estimate_bytes("vgg19", layers, side, side) - lbfgs_bytes(side, side, 10)) / 2**20
            print(f"{side}²: peak RSS {row['peak_rss_mib']:.0f} MiB, nst's estimate {estimate:.0f} MiB "
                  f"(+ {lbfgs_bytes(side, side, 10) / 2**20:.0f} MiB for L-BFGS's state in a run), "
                  f"{row['seconds_per_evaluation']:.2f} s/eval")

    if 5 in args.parts:
        iterations, evals = args.sweep_evals
        print(f"\n## 5. Sweep throughput: 8 transfers at {args.sweep_size}² ({iterations} x {evals} L-BFGS, "
              f"content init), snakemake --cores 2")
        print(f"{'jobs':<13} {'concurrent':>10} {'threads':>7} {'runs':>4} {'seconds':>8} {'runs/hour':>9}")
        for row in sweep(args.sweep_size, iterations, evals):
            print(f"{row['jobs']:<13} {row['concurrent']:>10} {row['threads']:>7} {row['runs']:>4} "
                  f"{row['seconds']:>8.1f} {row['runs_per_hour']:>9.0f}", flush=True)

    print(f"\n# benchmark took {time.perf_counter() - STARTED:.0f} s; peak RSS of this process {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
