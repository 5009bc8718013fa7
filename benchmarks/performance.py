"""Where the time and memory of a style transfer go, on this machine, in one run.

    python benchmarks/performance.py --size 512

prints, for the content/style pair of the article's walk-through (hugo x wave):

1. seconds per loss+gradient evaluation at --size: the article's formulation (content,
   style and combination image through Keras's VGG as a batch of three every time), ours
   in float32 and in bfloat16, with ratios and each one's peak resident memory;
2. time to quality, judged on the saved image: seconds from process start until a frame
   written by `nst transfer` scores (`nst loss`, float32) below the image the article's own
   settings (noise init, 10 x 20 L-BFGS) save at the same precision (float32, and auto), for
   several levers;
3. the fixed cost of one transfer job (interpreter and TensorFlow start, weights, network,
   graph tracing), phase by phase, and as a share of the article-settings run of part 2;
4. peak resident memory at --size and twice that, against nst's own estimate;
5. sweep throughput: runs per hour of the Snakemake workflow for 8 transfers at
   --sweep-size, one job or two jobs at a time, one job per run or per content x style pair.

Every figure is measured here and now; nothing is read from earlier runs unless
`--reference-loss` is given (then part 2's float32 reference run is skipped).
"""

from __future__ import annotations

import argparse
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

from nst.observers import frame_name  # noqa: E402 (after the path above)

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


EVALUATIONS = (("article", "float32"), ("ours", "auto"), ("ours", "float32"), ("ours", "bfloat16"))


def evaluation_rows(size: int, repeats: int, content: str, style: str) -> list[dict]:
    return [child("evaluation", formulation, precision, str(size), str(repeats), content, style)
            for formulation, precision in EVALUATIONS]


def isa() -> str:
    """The CPU's widest relevant instruction set, as the speed figures depend on it."""
    from nst.device import cpu_flags

    flags = cpu_flags()
    for flag, name in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX512-BF16"), ("avx512f", "AVX-512"), ("avx2", "AVX2")):
        if flag in flags:
            return name
    return "no AVX2"


def conv_peaks() -> dict[str, float]:
    """This machine's 3x3-convolution GFLOP/s per precision (one large layer, block-4 sized), in a fresh process."""
    return child("peaks")


def child_peaks() -> dict:
    from nst.precision import conv_rates

    return conv_rates(("float32", "bfloat16"), repeats=5, shape=(1, 64, 64, 512))


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

    from nst.quiet import tf  # noqa: F401 (as nst imports it: quietly, without Keras's eager import)

    mark("import TensorFlow")
    from nst.engine import engine_for
    from nst.inputs import Inputs
    from nst.settings import TransferSettings
    from nst.network_weights import resolve_network_weights

    mark("import nst")
    settings = TransferSettings(size=int(size), precision="float32", backbone="vgg19")
    resolve_network_weights("vgg19", "auto")
    mark("load weights (cache)")
    engine = engine_for(settings)  # a fresh process: the first engine it builds
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


def nst_transfer(folder: Path, name: str, content: str, style: str, options: list[str]) -> dict:
    """`nst transfer` in a fresh process, as a user runs it; its wall time, record and history."""
    out = folder / name
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nst", "transfer", content, style, "-o", f"{out}.png", "--frames", str(out),
                    "--history", f"{out}.csv", "--record", f"{out}.json", "--quiet", *options],
                   check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    import csv

    with open(f"{out}.csv") as f:
        history = list(csv.DictReader(f))
    record = json.loads(Path(f"{out}.json").read_text())
    frames = [out / frame_name(name, int(row["iteration"])) for row in history]
    return {"wall": wall, "record": record, "history": history, "frames": frames, "image": f"{out}.png"}


def png_scores(paths: list, content: str, style: str, size: int) -> list[float]:
    """`nst loss` (float32) of saved images: what a user gets, not the optimiser's unclipped value."""
    done = subprocess.run([sys.executable, "-m", "nst", "loss", content, style, *map(str, paths), "--size", str(size),
                           "--backbone", "vgg19"], check=True, capture_output=True, text=True)
    return [json.loads(line)["total"] for line in done.stdout.splitlines()]


def levers(size: int) -> list[tuple[str, str, list[str]]]:
    """Settings that may reach the article's saved-image quality sooner, each a command line and the
    precision it runs at (compared with the article's settings at that same precision).

    Frames every 5 evaluations (up to 80) show when the saved image first gets there.
    """
    marks = ["--iterations", "16", "--evals-per-iteration", "5"]
    fast = ["--size", str(size), "--seed", "0", "--preset", "fast", *marks]
    return [
        ("fast preset, float32", "float32", [*fast, "--precision", "float32"]),
        ("fast preset (precision auto)", "auto", fast),
        ("fast preset from the photo (--init content), float32", "float32",
         [*fast, "--init", "content", "--precision", "float32"]),
        ("fast preset from the photo (--init content)", "auto", [*fast, "--init", "content"]),
    ]


def time_to_quality(size: int, content: str, style: str, reference: dict | None) -> dict:
    """Seconds from process start until a saved image scores below the saved image of the article's
    settings at the same precision (float32, and auto), and how many times sooner than that run."""
    folder = Path(tempfile.mkdtemp(prefix="nst-ttq-"))
    try:
        references = {}
        for precision in ("float32", "auto"):
            if reference is not None and precision == "float32":
                references[precision] = reference
                continue
            run = nst_transfer(folder, f"article_{precision}", content, style,
                               ["--size", str(size), "--seed", "0", "--precision", precision])
            references[precision] = {"seconds": run["wall"], "score": png_scores([run["image"]], content, style, size)[0],
                                     "evaluations": run["record"]["evaluations"],
                                     "precision": run["record"]["precision"]}
        rows = []
        for name, precision, options in levers(size):
            against = references[precision]
            run = nst_transfer(folder, f"lever{len(rows)}", content, style, options)
            scores = png_scores(run["frames"], content, style, size)
            first = next((i for i, score in enumerate(scores) if score < against["score"]), None)
            row = {"lever": name, "precision": run["record"]["precision"], "reached": first is not None,
                   "best_score": min(scores), "against": precision}
            if first is not None:
                # from process start: the wall time less what followed the frame
                seconds = run["wall"] - run["record"]["seconds"]["optimise"] + float(run["history"][first]["seconds"])
                row.update(seconds=seconds, evaluations=int(run["history"][first]["evaluations"]),
                           score=scores[first], speedup=against["seconds"] / seconds)
            rows.append(row)
        return {"references": references, "rows": rows}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- 5: sweep throughput ---------------------------------------------------------------


def sweep_config(workdir: Path, size: int, batched: bool, iterations: int, evals: int) -> Path:
    import yaml

    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump({
        "contents": {"chelsea": str(DATA / "content/chelsea.png"), "coffee": str(DATA / "content/coffee.png")},
        "styles": {"strokes": str(DATA / "styles/strokes.png"), "mosaic": str(DATA / "styles/mosaic.png")},
        "weights": [[0.025, 5, 1], [0.025, 0.5, 1]],
        "size": size,
        "pair_jobs": batched,
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
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed evaluations per configuration, the best one counts (5, as for the conv peak)")
    parser.add_argument("--content", default=str(ARTICLE / "hugo.jpg"))
    parser.add_argument("--style", default=str(ARTICLE / "wave.jpg"))
    parser.add_argument("--reference-loss", type=float,
                        help="skip part 2's float32 reference run: the article settings' saved-image score in float32 here")
    parser.add_argument("--reference-seconds", type=float, help="with --reference-loss: how long that run took")
    parser.add_argument("--sweep-size", type=int, default=256)
    parser.add_argument("--sweep-evals", type=int, nargs=2, default=[2, 10], metavar=("ITERATIONS", "EVALS"),
                        help="budget of each sweep run (iterations x evaluations per iteration)")
    parser.add_argument("--parts", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = {"evaluation": child_evaluation, "fixed": child_fixed_cost, "peaks": child_peaks}[kind](*rest)
        print(json.dumps(result))
        return 0

    from nst.device import cpu_model, describe_device
    from nst.estimate import conv_flops, estimate_bytes, lbfgs_bytes
    from nst.terms import read_layers
    from nst.precision import choose
    from nst.quiet import tf
    from nst.settings import TransferSettings

    size = args.size
    auto = choose("auto")
    print(f"# {describe_device()}; CPU model {cpu_model()}; ISA {isa()}; TensorFlow {tf.__version__}")
    print(f"# precision auto -> {auto.precision} ({auto.reason})")
    print(f"# command: python benchmarks/performance.py {' '.join(sys.argv[1:])}")
    evaluations = None

    if 1 in args.parts or 4 in args.parts:
        evaluations = evaluation_rows(size, args.repeats, args.content, args.style)
    if 1 in args.parts:
        peaks = conv_peaks()
        print(f"\n## 1. One loss+gradient evaluation at {size}² (min of {args.repeats})")
        print(f"this machine's 3x3-convolution peak: float32 {peaks['float32']:.0f} GFLOP/s, "
              f"bfloat16 {peaks['bfloat16']:.0f} GFLOP/s")
        flops = 2 * conv_flops("vgg19", read_layers(TransferSettings()), size, size)  # forward + image gradient
        print(f"{'formulation':<10} {'precision':<17} {'s/eval':>8} {'x article':>9} {'% of peak':>9} "
              f"{'peak RSS MiB':>12}")
        base = evaluations[0]["seconds_per_evaluation"]
        for row in evaluations:
            computed = row["computed_in"]
            shown = row["precision"] if row["precision"] != "auto" else f"auto ({computed})"
            share = 100 * flops / row["seconds_per_evaluation"] / 1e9 / peaks[computed]
            shown_share = f"{share:>8.0f}%" if row["formulation"] == "ours" else f"{'-':>9}"  # batch of 3: other work
            print(f"{row['formulation']:<10} {shown:<17} {row['seconds_per_evaluation']:>8.3f} "
                  f"{base / row['seconds_per_evaluation']:>8.2f}x {shown_share} {row['peak_rss_mib']:>12.0f}",
                  flush=True)
        row = evaluations[1]
        share = flops / row["seconds_per_evaluation"] / 1e9 / peaks[row["computed_in"]]
        ratio = base / row["seconds_per_evaluation"]
        print(f"target auto >= 85 % of the conv peak in its precision: {100 * share:.0f} %: {verdict(share >= 0.85)}; "
              f"x article {ratio:.1f}")

    reference_seconds = None
    if 2 in args.parts:
        print(f"\n## 2. Time to quality at {size}² ({Path(args.content).name} x {Path(args.style).name}): seconds from "
              "process start until a saved image scores (nst loss, float32) below the saved image of the article's "
              "settings (noise init, 10 x 20 L-BFGS, seed 0) at the same precision")
        given = None if args.reference_loss is None else {"score": args.reference_loss, "seconds": args.reference_seconds,
                                                           "evaluations": None}
        found = time_to_quality(size, args.content, args.style, given)
        for precision, reference in found["references"].items():
            print(f"reference, {precision}: the article's settings saved an image scoring {reference['score']:.5g}; "
                  f"the run took {reference['seconds']:.1f} s ({reference['evaluations']} evaluations, "
                  f"{reference.get('precision', precision)}), start-up included", flush=True)
        reference_seconds = found["references"]["float32"]["seconds"]
        print(f"{'settings':<44} {'precision':<9} {'seconds':>8} {'evals':>6} {'x sooner':>8}  (than the article's "
              "settings at the same precision)")
        for row in found["rows"]:
            if row["reached"]:
                print(f"{row['lever']:<44} {row['precision']:<9} {row['seconds']:>8.1f} {row['evaluations']:>6} "
                      f"{row['speedup']:>7.1f}x", flush=True)
            else:
                print(f"{row['lever']:<44} {row['precision']:<9} not reached in 80 evaluations "
                      f"(best {row['best_score']:.4g})", flush=True)
        for lever in ("fast preset (precision auto)", "fast preset, float32"):
            fast = next(r for r in found["rows"] if r["lever"] == lever)
            print(f"target: {lever} >= 10x sooner than the article's settings at the same precision: " + (
                f"{fast['speedup']:.1f}x: {verdict(fast['speedup'] >= 10)}" if fast["reached"] else "not reached: MISSED"))

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
        for side, row in ((size, evaluations[2]), (2 * size, big)):  # the float32 row
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
