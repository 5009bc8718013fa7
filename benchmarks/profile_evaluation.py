"""Where one loss+gradient evaluation spends its time, part by part.

    python benchmarks/profile_evaluation.py --size 512 [--precision float32] [--inter-op 1]

Times (best of --repeats, after a warm-up) the network's forward pass, the Gram matrices,
the TV term, the loss value, the full value and gradient, TensorFlow's own pooling
gradient, the per-call overhead (a 16² evaluation), and scipy's L-BFGS bookkeeping per
evaluation at this size; then the convolution work in GFLOP and the rate it ran at,
against the best rate one large 3x3 convolution reaches here (the floor), and against the
convolutions alone at VGG's own shapes (each layer's forward and image-gradient convolution
timed by itself): what the kernels reach at those shapes, and what the evaluation adds;
last, one evaluation op type by op type from TensorFlow's profiler.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def best(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def conv_gflop(backbone: str, layers: list[str], height: int, width: int) -> float:
    """Multiply-adds x 2 of every 3x3 convolution of the forward pass."""
    from nst.backbones import layers_up_to

    total = 0
    for layer in layers_up_to(backbone, layers):
        if layer.kind == "conv":
            positions = (height // layer.downsample) * (width // layer.downsample)
            total += 2 * 9 * layer.in_channels * layer.out_channels * positions
    return total / 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--inter-op", type=int, default=0,
                        help="TensorFlow's inter-op threads; 1 runs ops one at a time, so each op's time is its own "
                             "(default: TensorFlow's choice, as nst runs)")
    args = parser.parse_args()

    import numpy as np
    from nst.quiet import tf
    from scipy.optimize import fmin_l_bfgs_b

    if args.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)

    from nst import losses
    from nst.device import describe_device
    from nst.engine import engine_for
    from nst.precision import conv_rates
    from nst.settings import TransferSettings

    settings = TransferSettings(size=args.size, precision=args.precision, backbone="vgg19")
    engine = engine_for(settings, args.precision)
    objective, network = engine.objective, engine.objective.network
    n = args.size
    rng = np.random.default_rng(0)
    x = tf.constant((rng.uniform(0, 255, (1, n, n, 3)) - 128).astype(np.float32))
    content = tf.constant((rng.uniform(0, 255, (1, n, n, 3)) - 128).astype(np.float32))
    targets = objective.targets(content.numpy(), [content.numpy()], [1.0], settings.loss_weights())
    forward = tf.function(lambda image: network(image), autograph=False)
    maps = forward(x)
    ops = engine.backend.ops
    grams = tf.function(lambda ms: [losses.gram_matrix(ops, m) for m in ms], autograph=False)
    tv = tf.function(lambda image: tf.gradients(losses.total_variation_loss(ops, image), image), autograph=False)
    biggest_pool = maps[0]  # block1_conv2: the largest pooled map

    @tf.function(autograph=False)
    def pool_gradient(m):
        with tf.GradientTape() as tape:
            tape.watch(m)
            pooled = tf.reduce_sum(tf.nn.max_pool2d(m, 2, 2, "VALID"))
        return tape.gradient(pooled, m)

    convs = sum(layer.kind == "conv" for layer in network.layers)
    small = (rng.uniform(0, 255, (1, 16, 16, 3)) - 128).astype(np.float32)
    small_targets = objective.targets(small, [small], [1.0], settings.loss_weights())
    flat = x.numpy().astype(np.float64).ravel()

    def scipy_bookkeeping():
        # fmin_l_bfgs_b with a free objective of this size: its own cost per evaluation
        fmin_l_bfgs_b(lambda v: (float(v @ v), 2 * v), flat, maxfun=20, m=10)

    rows = [
        (f"forward pass ({convs} convs, {len(network.layers) - convs} pools)", best(lambda: [m.numpy() for m in forward(x)], args.repeats)),
        ("Gram matrices (5 layers)", best(lambda: [g.numpy() for g in grams(maps)], args.repeats)),
        ("TV loss + gradient", best(lambda: tv(x)[0].numpy(), args.repeats)),
        ("loss value (forward + losses)", best(lambda: objective.value(x.numpy(), targets), args.repeats)),
        ("value and gradient (one evaluation)", best(lambda: objective.value_and_grad(x.numpy(), targets), args.repeats)),
        ("max-pool gradient, block1 (TensorFlow's)", best(lambda: pool_gradient(biggest_pool).numpy(), args.repeats)),
        ("per-call overhead (a 16² evaluation)", best(lambda: objective.value_and_grad(small, small_targets), args.repeats)),
        ("scipy L-BFGS bookkeeping per evaluation", best(scipy_bookkeeping, 1) / 20),
    ]
    print(f"# {describe_device()}; {args.precision}; {n}²; best of {args.repeats}")
    print(f"# command: python benchmarks/profile_evaluation.py {' '.join(sys.argv[1:])}")
    for name, seconds in rows:
        print(f"{name:<42} {seconds:>8.3f} s")
    evaluation = rows[4][1]
    forward_s = rows[0][1]
    gflop = conv_gflop("vgg19", network.outputs, n, n)

    # the same peak measurement as `make benchmark` (benchmarks/performance.py) and `auto`
    peak = conv_rates((args.precision,), max(args.repeats, 5), (1, 64, 64, 512))[args.precision]
    print(f"convolutions: {gflop:.0f} GFLOP forward, ~{2 * gflop:.0f} GFLOP with the image gradient")
    print(f"forward pass ran at {gflop / forward_s:.0f} GFLOP/s, the whole evaluation at {2 * gflop / evaluation:.0f} GFLOP/s")
    print(f"one 64x64x512 3x3 convolution runs at {peak:.0f} GFLOP/s here: at that rate an evaluation "
          f"would take {2 * gflop / peak:.2f} s (the floor)")
    alone = convolutions_alone(network, n, args.precision, args.repeats)
    print(f"the same convolutions alone, each layer's shape by itself (forward + image gradient, the first "
          f"layer in float32): {alone:.3f} s, {2 * gflop / alone:.0f} GFLOP/s, {2 * gflop / alone / peak:.0%} "
          f"of that peak; the evaluation spends {evaluation - alone:.3f} s ({(evaluation - alone) / evaluation:.0%}) "
          "beyond them")
    by_op = op_times(lambda: objective.value_and_grad(x.numpy(), targets), evaluations=2)
    if by_op:
        total = sum(by_op.values())
        print(f"one evaluation op by op (TensorFlow's profiler, mean of 2; {total:.3f} s in ops, which run side by "
              f"side on TensorFlow's inter-op threads, so they can add up to more than the {evaluation:.3f} s it takes):")
        for op, seconds in sorted(by_op.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {op:<40} {seconds * 1000:8.1f} ms {seconds / total:6.1%}")
    return 0


def op_times(evaluate, evaluations: int) -> dict[str, float]:
    """Seconds per evaluation in each TensorFlow op type, from a profiler trace of `evaluations` calls.

    Reads the trace with the protobuf TensorFlow ships; an empty dict where that is missing."""
    import collections
    import glob
    import tempfile

    from nst.quiet import tf

    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError:
        print("(no op-by-op split: this TensorFlow does not ship the profiler's protobuf)")
        return {}
    with tempfile.TemporaryDirectory() as logdir:
        evaluate()
        tf.profiler.experimental.start(logdir)
        for _ in range(evaluations):
            evaluate()
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        space.ParseFromString(Path(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)[0]).read_bytes())
    seconds = collections.defaultdict(float)
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name  # "node name:op type"
                if ":" in name and not name.startswith("ExecutorState"):  # the executor's span holds the ops
                    seconds[name.rsplit(":", 1)[1]] += event.duration_ps / 1e12 / evaluations
    return dict(seconds)


def convolutions_alone(network, n: int, precision: str, repeats: int) -> float:
    """Seconds of every convolution one evaluation runs, each timed by itself at its layer's shape:
    the forward one and the image-gradient one (the flipped kernel, channels swapped)."""
    from nst.quiet import tf

    conv = tf.function(lambda a, k: tf.nn.conv2d(a, k, 1, "SAME"), autograph=False)
    total = 0.0
    for layer in network.layers:
        if layer.kind != "conv":
            continue
        dtype = tf.float32 if layer.in_channels == 3 or precision == "float32" else tf.bfloat16
        side = n // layer.downsample
        shapes = [(layer.in_channels, layer.out_channels), (layer.out_channels, layer.in_channels)]
        for c_in, c_out in shapes:
            a = tf.cast(tf.random.normal((1, side, side, c_in)), dtype)
            k = tf.cast(tf.random.normal((3, 3, c_in, c_out)), dtype)
            total += best(lambda: conv(a, k).numpy(), repeats)
    return total


if __name__ == "__main__":
    sys.exit(main())
