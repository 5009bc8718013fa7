"""Seconds per loss+gradient evaluation: the article's formulation against ours, fp32 and bf16.

    python benchmarks/evaluation_speed.py [--sizes 256 512] [--repeats 3]

The article sent content, style and combination image through VGG as a batch of three
at every evaluation; ours computes the content features and style Grams once and sends
only the combination image. Each configuration runs in its own process (so its peak
resident memory is its own), all in one invocation, and is reported as a ratio to the
article's formulation measured in the same invocation.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the Keras-layer reference network, tests/keras_vgg.py
ARTICLE = ROOT.parent / "shared" / "article"
CONFIGS = (("article", "float32"), ("ours", "auto"), ("ours", "float32"), ("ours", "bfloat16"))


def measure(formulation: str, precision: str, size: int, repeats: int, content: str, style: str) -> dict:
    """Runs inside a child process: build, warm up (trace), then time `repeats` evaluations."""
    import numpy as np
    from nst.quiet import tf
    from keras_vgg import keras_extractor

    from nst import images, losses
    from nst.engine import engine_for
    from nst.inputs import Inputs
    from nst.settings import TransferSettings

    settings = TransferSettings(size=size, precision=precision, backbone="vgg19")
    engine = engine_for(settings, precision)
    inputs = Inputs.load(content, [style], settings)
    stage = inputs.stage(settings, size)
    content_rgb, content_net = stage.content_rgb, stage.content_net
    x = (np.random.default_rng(0).uniform(0, 255, (1, *content_rgb.shape[:2], 3)) - 128).astype(np.float32)

    if formulation == "ours":
        targets = stage.targets(engine.objective, settings)

        def evaluate():
            return engine.objective.value_and_grad(x, targets)

    else:
        layers = list(dict.fromkeys(settings.content_layers + settings.style_layers))
        model = keras_extractor("vgg19", engine.network_weights.layers, layers, {"float32": "float32", "bfloat16": "mixed_bfloat16"}[precision])
        c = tf.constant(images.preprocess(content_net))
        s = tf.constant(images.preprocess(images.to_array(images.resize(inputs.styles[0], content_rgb.shape[1::-1]))))
        cw, sw, tvw = settings.content_weight, settings.style_weight / len(settings.style_layers), settings.tv_weight
        ops = engine.backend.ops  # the article's losses as nst writes them, for either backend's tensors

        @tf.function
        def article_step(combination):
            with tf.GradientTape() as tape:
                tape.watch(combination)
                maps = dict(zip(layers, model(tf.concat([c, s, combination], axis=0))))
                loss = cw * losses.content_loss(ops, maps["block2_conv2"][2], maps["block2_conv2"][0])
                norm = losses.style_normaliser(ops, *content_rgb.shape[:2])
                for name in settings.style_layers:
                    loss += sw * losses.style_layer_loss(
                        ops, losses.gram_matrix(ops, maps[name][2]), losses.gram_matrix(ops, maps[name][1]), norm
                    )
                loss += tvw * losses.total_variation_loss(ops, combination)
            return loss, tape.gradient(loss, combination)

        def evaluate():
            loss, grad = article_step(tf.constant(x))
            return float(loss), grad.numpy()

    started = time.perf_counter()
    evaluate()
    warmup = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        evaluate()
        times.append(time.perf_counter() - started)
    return {
        "formulation": formulation,
        "precision": precision,
        "computed_in": engine.precision,
        "size": size,
        "seconds_per_evaluation": min(times),
        "median_seconds": sorted(times)[len(times) // 2],
        "first_call_seconds": warmup,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--content", default=str(ARTICLE / "hugo.jpg"))
    parser.add_argument("--style", default=str(ARTICLE / "wave.jpg"))
    parser.add_argument("--child", nargs=3, metavar=("FORMULATION", "PRECISION", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        formulation, precision, size = args.child
        print(json.dumps(measure(formulation, precision, int(size), args.repeats, args.content, args.style)))
        return 0

    from nst.device import cpu_model, describe_device

    print(f"# {describe_device()}; CPU model: {cpu_model()}")
    print(f"# command: {' '.join(sys.argv)}")
    print(f"{'size':>5} {'formulation':<12} {'precision':<9} {'s/eval':>8} {'x article':>9} {'peak RSS MiB':>12}")
    for size in args.sizes:
        baseline = None
        for formulation, precision in CONFIGS:
            child = subprocess.run(
                [sys.executable, __file__, "--child", formulation, precision, str(size), "--repeats", str(args.repeats),
                 "--content", args.content, "--style", args.style],
                capture_output=True, text=True,
            )
            if child.returncode != 0:
                print(f"{size:>5} {formulation:<12} {precision:<9} failed: {child.stderr.strip().splitlines()[-1:]}")
                continue
            row = json.loads(child.stdout.strip().splitlines()[-1])
            baseline = baseline or row["seconds_per_evaluation"]
            print(
                f"{size:>5} {formulation:<12} {precision:<9} {row['seconds_per_evaluation']:>8.3f} "
                f"{baseline / row['seconds_per_evaluation']:>8.2f}x {row['peak_rss_mib']:>12.0f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
