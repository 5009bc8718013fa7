"""What a run will cost, from the layer shapes alone: memory, work and time.

The memory estimate is checked before any tensor is allocated, so an oversized request
fails in a second with a clear message instead of the machine swapping or the kernel
killing the process an hour into a sweep. The workflow asks the same functions for its
jobs' memory and time requests, so a cluster job asks for what the engine will use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from .backbones import halo_for, layers_up_to
from .device import onednn_enabled
from .errors import SettingsError
from .terms import read_layers

# Calibrated with benchmarks/performance.py (part 4) on this project's CPU machine (VGG19 to
# block5_conv3, float32, one evaluation): peak RSS 1455 MiB at 512² and 2943 MiB at 1024², i.e.
# ~0.95 GiB for TensorFlow and the weights plus ~1.5 float32 copies of every layer output
# (forward values kept for the gradient, and the gradient). Two copies and 1 GiB give headroom.
COPIES_PER_ACTIVATION = 2.0
FIXED_BYTES = 1.0 * 2**30
# Without oneDNN (TF_ENABLE_ONEDNN_OPTS=0, and TensorFlow's default on CPUs without AVX-512 VNNI,
# bf16 or AMX) Eigen's convolutions and their gradients take scratch buffers of their own: a 768 px
# tiled run planned within 1834 MiB peaked at 2145 MiB there. Half as much again covers it.
EIGEN_COPIES_PER_ACTIVATION = 3.0


def activation_copies() -> float:
    """Copies of every layer output a run keeps, for the kernels TensorFlow will use here."""
    return COPIES_PER_ACTIVATION if onednn_enabled() else EIGEN_COPIES_PER_ACTIVATION


# An evaluation computing in bfloat16 keeps its layer outputs at 2 bytes: measured with /proc's VmHWM
# around one whole evaluation of a 1024² image (VGG19 to block5_conv3), 3.75 bytes per activation
# element against 5.8 in float32 (whose 8 above leaves 38 % headroom); 5 leaves 33 %. Only where the
# engine's precision is known (a run, not a workflow's request, which plans for float32).
BFLOAT16_BYTES_PER_ACTIVATION = 5.0


def activation_bytes(precision: str | None = None) -> float:
    """Bytes a whole evaluation keeps per activation element, for the precision and kernels used here
    (TensorFlow's measurements; PyTorch's float32 peaked within 2 % of them on the H200, and PyTorch
    plans its bfloat16 runs with float32's: `plan_precision`, docs/gpu.md)."""
    if precision == "bfloat16" and onednn_enabled():  # without oneDNN TensorFlow widens bfloat16 to float32
        return BFLOAT16_BYTES_PER_ACTIVATION
    return activation_copies() * 4


def activation_elements(backbone: str, layer_names: list[str], height: int, width: int) -> int:
    """Elements of every layer output the network computes for one (height, width) image."""
    total = height * width * 3
    for layer in layers_up_to(backbone, layer_names):
        total += (height // layer.downsample) * (width // layer.downsample) * layer.out_channels
    return total


# float64 image vectors alive beside L-BFGS-B's work array while it evaluates: scipy's copies of
# x and g, the scaled point, the gradient widened to float64 and scaled. A 2048 px run in 384 px
# tiles (L-BFGS memory 3, no bounds) peaked 311 MiB above the plan without them.
LBFGS_TEMPORARIES = 5


def lbfgs_bytes(height: int, width: int, history: int) -> int:
    """scipy's L-BFGS-B work array, (2m + 5) float64 vectors of the image's size, plus x and g,
    plus the temporaries of an evaluation."""
    return (2 * history + 7 + LBFGS_TEMPORARIES) * 3 * height * width * 8


# nst/lbfgs32's vectors besides its 2m pairs: the point, its gradient, the direction, and the
# longest acceptable trial with its gradient while a longer one is tried. The trial being evaluated
# and its gradient are the evaluation's (IMAGE_BUFFERS); steps and products are made chunk by chunk.
LBFGS32_VECTORS = 5


def lbfgs32_bytes(height: int, width: int, history: int) -> int:
    """The float32 L-BFGS's state: 2m + LBFGS32_VECTORS float32 vectors of the image's size."""
    return (2 * history + LBFGS32_VECTORS) * 3 * height * width * 4


def estimate_bytes(backbone: str, layer_names: list[str], height: int, width: int, lbfgs_history: int = 10,
                   precision: str | None = None) -> int:
    activations = activation_bytes(precision) * activation_elements(backbone, layer_names, height, width)
    return int(FIXED_BYTES + activations + lbfgs_bytes(height, width, lbfgs_history))


def conv_flops(backbone: str, layer_names: list[str], height: int, width: int) -> int:
    """Multiply-adds x 2 of the forward convolutions up to the deepest named layer."""
    return sum(
        2 * 9 * layer.in_channels * layer.out_channels * (height // layer.downsample) * (width // layer.downsample)
        for layer in layers_up_to(backbone, layer_names)
        if layer.kind == "conv"
    )


# The slowest throughput this project has measured for a whole evaluation: 2-core AMD EPYC
# Zen 3 (AVX2), float32, 398 GFLOP in 4.0 s at 512² (docs/performance.md), i.e. 50 GFLOP/s per
# thread. Time requests assume it, so they are generous on faster CPUs and on GPUs.
SLOWEST_GFLOPS_PER_THREAD = 50.0


def evaluation_seconds(backbone: str, layer_names: list[str], height: int, width: int, threads: int = 1) -> float:
    """Seconds of one loss+gradient evaluation (forward and image gradient) on the slowest CPU measured."""
    flops = 2 * conv_flops(backbone, layer_names, height, width)
    return flops / (SLOWEST_GFLOPS_PER_THREAD * 1e9 * max(1, threads))


def run_seconds(settings, backbone: str, height: int, width: int, threads: int = 1,
                limit: int | None = None) -> float:
    """Seconds of a whole run: every stage's expected evaluations at its own size; a stage that
    must be tiled within `limit` pays its halos and its second forward pass."""
    layers = read_layers(settings)
    total = 0.0
    for stage in settings.stages():
        scale = stage.size / max(height, width)
        h, w = max(1, round(height * scale)), max(1, round(width * scale))
        evaluations = stage.iterations * settings.expected_evaluations_per_iteration(stage)
        seconds = evaluations * evaluation_seconds(backbone, layers, h, w, threads)
        plan = plan_stage(settings, backbone, h, w, limit)
        if plan.tile:
            halo = halo_for(backbone, layers)
            seconds *= tiled_cost(plan.tile, plan.forward_tile or plan.tile, halo)
        total += seconds
    return total


def tiled_cost(tile: int, forward_tile: int, halo: int) -> float:
    """A tiled evaluation's cost against an untiled one's, at most: pass 2 (forward and backward, half
    each) over its haloed tiles, plus pass 1 (forward) over its own; a halo clipped at the image's
    edge costs less, so this is generous."""
    return ((tile + 2 * halo) / tile) ** 2 + 0.5 * ((forward_tile + 2 * halo) / forward_tile) ** 2


# The most memory a transfer job asks a scheduler for; a larger image runs tiled within it.
REQUEST_CAP = 16 * 2**30


def request_bytes(settings, backbone: str, height: int, width: int) -> int:
    """Memory to ask for a whole run: its largest stage, untiled where that stays under REQUEST_CAP."""
    largest = settings.sizes()[-1] / max(height, width)
    h, w = max(1, round(height * largest)), max(1, round(width * largest))
    return plan_stage(settings, backbone, h, w, REQUEST_CAP).bytes


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else None (no limit known)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


GPU_USABLE = 0.9  # of a GPU's free memory, what a plan may fill


def memory_limit(max_memory_mib: int = 0, device_free: int | None = None) -> tuple[int | None, str]:
    """Bytes a run may use where its activations live, and where that figure comes from.

    In order: the option (--max-memory), NST_MEMORY_LIMIT_MB, on a GPU its free memory
    (`device_free`, the backend's), else the Slurm job's allocation (SLURM_MEM_PER_NODE, or
    SLURM_MEM_PER_CPU x SLURM_CPUS_ON_NODE) and the memory available.
    """
    if max_memory_mib:
        return int(max_memory_mib * 2**20), "--max-memory"
    if os.environ.get("NST_MEMORY_LIMIT_MB"):
        return int(float(os.environ["NST_MEMORY_LIMIT_MB"]) * 2**20), "NST_MEMORY_LIMIT_MB"
    if device_free is not None:  # less a tenth: the caching allocator's fragments and cuDNN's workspaces
        return int(device_free * GPU_USABLE), "the GPU's free memory"
    if os.environ.get("SLURM_MEM_PER_NODE"):
        return int(os.environ["SLURM_MEM_PER_NODE"]) * 2**20, "the Slurm job's memory"
    if os.environ.get("SLURM_MEM_PER_CPU") and os.environ.get("SLURM_CPUS_ON_NODE"):
        return int(os.environ["SLURM_MEM_PER_CPU"]) * int(os.environ["SLURM_CPUS_ON_NODE"]) * 2**20, \
            "the Slurm job's memory"
    return available_bytes(), "the memory available"


# Image-sized float32 buffers of a tiled run besides the optimiser's: the image, its gradient, the
# content image in its forms, the upscaled start, and rendering the result (docs/print_size.md says
# how the count went from 10 to 18 to 12 as the measured peaks asked).
IMAGE_BUFFERS = 12
ADAM_IMAGE_COPIES = 5  # the variable, two moments, the last evaluated image, the gradient
# scipy's L-BFGS-B takes bounds as one Python (lower, upper) pair per value and converts them
# back and forth (scipy 1.17: old_bound_to_new, standardize_bounds), a transient ~300 bytes per
# value that stays in the process's peak: measured with tracemalloc over whole runs at 384 and
# 768 px (the peak grew by 51 float64 image vectors per value, 13 of them L-BFGS's own;
# docs/print_size.md).
LBFGS_BOUNDS_BYTES_PER_VALUE = 300
TILES = (1024, 768, 512, 384, 256, 192, 128, 64)  # sizes tried, largest first
TILES_FORWARD = (4096, 3072, 2048, 1536, 1280, 1024, 768, 512, 384)  # pass 1's, larger
# The smallest tile worth keeping the optimiser for: a 384 px tile computes (384 + 2 x 128)² px,
# 2.8 times its own; smaller tiles cost more than switching to Adam's smaller state.
SMALLEST_KEEPING_TILE = 384


def image_bytes(height: int, width: int) -> int:
    return 3 * height * width * 4


def tile_activation_bytes(backbone: str, layer_names: list[str], height: int, width: int, tile: int, halo: int,
                          bytes_per_activation: float | None = None) -> int:
    """What TensorFlow holds for one haloed tile's layer outputs."""
    side = tile + 2 * halo
    per_activation = activation_bytes() if bytes_per_activation is None else bytes_per_activation
    return int(per_activation * activation_elements(backbone, layer_names, min(height, side), min(width, side)))


def tiled_bytes(backbone: str, layer_names: list[str], height: int, width: int, tile: int, halo: int,
                bytes_per_activation: float | None = None) -> int:
    """A tiled evaluation: one haloed tile's activations, and the whole image's buffers."""
    activations = tile_activation_bytes(backbone, layer_names, height, width, tile, halo, bytes_per_activation)
    return int(FIXED_BYTES + activations + IMAGE_BUFFERS * image_bytes(height, width))


# Pass 1 of a tiled evaluation only runs forward, keeping no layer's values for a gradient:
# measured with /proc's VmHWM around one pass-1 graph on a whole 1024² image (VGG19 to block5_conv3,
# hugo.jpg): 2.2 bytes per activation element in float32, 1.7 in bfloat16, 1.4 with oneDNN off
# (1.7 and 1.6 at 2048²), against 5.8, 3.8 and 5.2 for a whole evaluation. 3 gives headroom.
FORWARD_BYTES_PER_ACTIVATION = 3.0


def forward_tile_for(backbone: str, layer_names: list[str], height: int, width: int, halo: int, tile: int,
                     state: int, limit: int | None, activation_cap: int | None = None) -> tuple[int, int, int]:
    """The largest tile pass 1 can take within `limit` beside the optimiser's `state` (its layer outputs
    within `activation_cap`), the bytes it then needs and its activations' share: the whole image where
    it fits, else the largest of TILES_FORWARD above `tile`; (0, 0, 0) when none is larger than `tile`."""
    if limit is None:  # nothing to size it by: pass 2's tiles, as asked
        return 0, 0, 0
    whole = -(-max(height, width) // 16) * 16
    for candidate in [whole] + [t for t in TILES_FORWARD if t < whole]:
        if candidate <= tile:
            break
        activations = tile_activation_bytes(backbone, layer_names, height, width, candidate, halo,
                                            FORWARD_BYTES_PER_ACTIVATION)
        need = tiled_bytes(backbone, layer_names, height, width, candidate, halo, FORWARD_BYTES_PER_ACTIVATION) + state
        if need <= limit and (activation_cap is None or activations <= activation_cap):
            return candidate, need, activations
    return 0, 0, 0


@dataclass(frozen=True)
class StagePlan:
    """How one stage fits in memory: untiled or tiled, with which optimiser state."""

    tile: int  # 0: untiled
    optimizer: str  # "lbfgs", "lbfgs32" or "adam"
    lbfgs_history: int
    bytes: int
    bounds: bool = True  # False: the bounds asked for (--lbfgs-bounds) were dropped to fit
    forward_tile: int = 0  # pass 1's tiles where larger than `tile` (nst.tiling)
    activations: int = 0  # of `bytes`, what TensorFlow holds for layer outputs (the larger pass's)

    def describe(self) -> str:
        how = f"tiled in {self.tile} px tiles" if self.tile else "untiled"
        if self.tile and self.forward_tile:
            how += f" (the forward-only pass in {self.forward_tile} px tiles)"
        memory = {"lbfgs": "L-BFGS", "lbfgs32": "float32 L-BFGS"}.get(self.optimizer, "Adam")
        if self.optimizer != "adam":
            memory += f" memory {self.lbfgs_history}"
        if not self.bounds:
            memory += " without bounds"
        return f"{how}, {memory}, about {self.bytes / 2**30:.1f} GiB"


def state_bytes(optimizer: str, history: int, height: int, width: int, bounds: bool = False) -> int:
    """What an optimiser keeps for a (height, width) image: scipy's L-BFGS-B (and its bounds as Python
    pairs), the float32 L-BFGS (its bounds two per-channel constants), or Adam."""
    if optimizer == "lbfgs":
        extra = LBFGS_BOUNDS_BYTES_PER_VALUE * 3 * height * width if bounds else 0
        return lbfgs_bytes(height, width, history) + extra
    if optimizer == "lbfgs32":
        return lbfgs32_bytes(height, width, history)
    return ADAM_IMAGE_COPIES * image_bytes(height, width)


def plan_stage(settings, backbone: str, height: int, width: int, limit: int | None,
               precision: str | None = None, activation_cap: int | None = None,
               optimiser_on_device: bool = False) -> StagePlan:
    """How to run a stage within `limit`: untiled if it fits, with scipy's L-BFGS as asked or else the
    float32 L-BFGS (nst/lbfgs32.py); else tiled, keeping L-BFGS (scipy's, then the float32 one with
    its own memory, or 5 or 3 vector pairs) with the largest tile of at least SMALLEST_KEEPING_TILE
    that fits; else Adam with the largest tile that fits. `settings.tile` forces a tile size.
    `precision`: the engine's, where known (bfloat16 keeps smaller activations); else float32's.
    `activation_cap`: the most the layer outputs may take (`plan_run`). `optimiser_on_device`: the
    backend keeps the optimiser's arrays on a GPU, where scipy's L-BFGS-B (float64, on the host)
    would take the image to the host and back at every evaluation: the float32 L-BFGS runs the
    same loops there instead (docs/gpu.md has the cost). Raises only when nothing fits."""
    per_activation = activation_bytes(precision)
    layers = read_layers(settings)
    halo = halo_for(backbone, layers)
    optimizer, history = settings.optimizer, settings.lbfgs_history
    if optimiser_on_device and optimizer == "lbfgs":
        optimizer = "lbfgs32"

    bounded = optimizer != "adam" and settings.lbfgs_bounds

    def state(optimizer: str, history: int, bounds: bool = False) -> int:
        return state_bytes(optimizer, history, height, width, bounds)

    # Keep L-BFGS while it fits: scipy's as asked, then the float32 L-BFGS (under a third of
    # scipy's bytes, bounds for free) with its own memory, then a shorter memory; untiled if one
    # fits so, else each with the largest tile that fits (a tile computes its halo again: a 256 px
    # tile computes (256 + 2 x 128)² px, so large tiles matter more than a long memory); Adam (two
    # float32 moments) only when no L-BFGS fits.
    def with_forward_tile(plan: StagePlan) -> StagePlan:
        kept = state(plan.optimizer, plan.lbfgs_history, plan.bounds and bounded)
        forward, need, held = forward_tile_for(backbone, layers, height, width, halo, plan.tile, kept, limit,
                                               activation_cap)
        return replace(plan, forward_tile=forward, bytes=max(plan.bytes, need),
                       activations=max(plan.activations, held)) if forward else plan

    def capped(tile: int) -> int | None:
        """A tile's activations, or None where they would exceed `activation_cap`."""
        held = tile_activation_bytes(backbone, layers, height, width, tile, halo, per_activation)
        return held if activation_cap is None or held <= activation_cap else None

    options = [(optimizer, history, bounded)]
    if optimizer != "adam":
        options = list(dict.fromkeys(options + [("lbfgs32", m, bounded) for m in (history, 5, 3) if m <= history]))
    untiled = estimate_bytes(backbone, layers, height, width, 0, precision) - lbfgs_bytes(height, width, 0)
    whole = untiled - FIXED_BYTES  # the untiled layer outputs
    may_run_untiled = not settings.tile and (activation_cap is None or whole <= activation_cap)
    for chosen, m, bounds in options if may_run_untiled else []:
        if limit is None or untiled + state(chosen, m, bounds) <= limit:
            return StagePlan(0, chosen, m, untiled + state(chosen, m, bounds), True, activations=whole)
    tile_sizes = [settings.tile] if settings.tile else list(TILES)
    fitting = []
    for rank, (chosen, m, bounds) in enumerate(options):
        for tile in [t for t in tile_sizes if t >= SMALLEST_KEEPING_TILE or settings.tile]:
            need = tiled_bytes(backbone, layers, height, width, tile, halo, per_activation) + state(chosen, m, bounds)
            held = capped(tile)
            if (limit is None or need <= limit) and held is not None:
                fitting.append((-tile, rank, StagePlan(tile, chosen, m, need, bounds or not bounded, activations=held)))
                break
    if fitting:
        return with_forward_tile(min(fitting, key=lambda found: found[:2])[2])
    for tile in tile_sizes:
        need = tiled_bytes(backbone, layers, height, width, tile, halo, per_activation) + state("adam", history)
        held = capped(tile)
        if (limit is None or need <= limit) and held is not None:
            return with_forward_tile(StagePlan(tile, "adam", history, need, activations=held))
    smallest = tiled_bytes(backbone, layers, height, width, tile_sizes[-1], halo, per_activation) + state("adam", history)
    raise SettingsError(
        "max_memory", f"a {width}x{height} image needs at least {smallest / 2**30:.1f} GiB even in "
        f"{tile_sizes[-1]} px tiles with Adam, but {limit / 2**30:.1f} GiB is the limit; give it more memory "
        "(--max-memory, NST_MEMORY_LIMIT_MB) or choose a smaller --size"
    )


def plan_run(settings, backbone: str, shapes: list[tuple[int, int]], limit: int | None,
             precision: str | None = None, optimiser_on_device: bool = False) -> list[StagePlan]:
    """Every stage's plan (`shapes`: each stage's (height, width), smallest first). TensorFlow keeps
    the memory its layer outputs once took for the rest of the process (the whole-image total
    variation at 4096²: 1.4 GB still resident after it returned), so no earlier stage's layer outputs
    may take more than the last stage's plan leaves them (its own, and what is left under `limit`):
    in a 4096 px print run the 2048 px stage's whole-image forward pass stayed resident beside the
    4096 px stage's optimiser."""
    last = plan_stage(settings, backbone, *shapes[-1], limit, precision, optimiser_on_device=optimiser_on_device)
    cap = last.activations + max(0, limit - last.bytes) if limit is not None else None
    return [plan_stage(settings, backbone, *shape, limit, precision, cap, optimiser_on_device)
            for shape in shapes[:-1]] + [last]


def peak_rss_mib() -> float:
    """This process's peak resident memory, MiB: Linux's VmHWM, the high-water mark of the program
    itself. getrusage's ru_maxrss would also count what the parent held when it forked this process
    (Linux carries it across exec), so a run started from a big process reported that process's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
