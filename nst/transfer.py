"""`stylize`: one neural style transfer run, from image files to an image and its records.

A run loads and checks its inputs, picks the weights and precision, then for each
coarse-to-fine stage computes the fixed targets once and optimises the image, writing
frames, history and a run record as it goes. The model is kept per process (`engine`)
so a second run in the same process, such as a test or a batch, skips the build.
"""

from __future__ import annotations

import logging
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import colour, images
from .backbones import architecture, conv_layer_names, deepest_layer, minimum_side
from .device import configure_threads, describe_device, resolve_precision
from .errors import DivergedError, ImageError, SettingsError
from .memory import check_fits
from .records import HistoryRow, command_line, versions, write_history, write_record
from .settings import INITS, TransferSettings
from .weights import LoadedWeights, resolve_weights

log = logging.getLogger("nst")


@dataclass
class Engine:
    """Weights, network and objective for one backbone/precision/layer choice."""

    weights: LoadedWeights
    precision: str
    objective: object  # nst.objective.StyleObjective
    build_seconds: float


_ENGINES: dict[tuple, Engine] = {}


def engine_for(settings: TransferSettings, precision: str | None = None) -> Engine:
    """Build (or reuse) the engine that `settings` need; `precision` overrides the setting."""
    precision = precision or resolve_precision(settings.precision)
    key = (
        settings.backbone,
        settings.weights,
        precision,
        settings.pooling,
        tuple(settings.content_layers),
        tuple(settings.style_layers),
    )
    if key not in _ENGINES:
        started = time.perf_counter()
        configure_threads(settings.threads)
        weights = resolve_weights(settings.backbone, settings.weights)
        check_layers(weights.backbone, settings)
        from .network import FeatureNetwork
        from .objective import StyleObjective

        outputs = list(dict.fromkeys(settings.content_layers + settings.style_layers))
        network = FeatureNetwork(weights.backbone, weights.layers, outputs, precision, settings.pooling)
        objective = StyleObjective(network, settings.content_layers, settings.style_layers)
        _ENGINES[key] = Engine(weights, precision, objective, time.perf_counter() - started)
    return _ENGINES[key]


def check_layers(backbone: str, settings: TransferSettings) -> None:
    names = {layer.name for layer in architecture(backbone)}
    for option in ("content_layers", "style_layers"):
        for name in getattr(settings, option):
            if name not in names:
                raise SettingsError(
                    f"option {option}: {backbone} has no layer {name!r}; its layers are named "
                    f"block1_conv1 … {conv_layer_names(backbone)[-1]} and block1_pool … block5_pool"
                )


@dataclass
class TransferResult:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    history: list[HistoryRow]
    record: dict
    frames: list[Path] = field(default_factory=list)


@dataclass
class Inputs:
    """The decoded input images (PIL), checked before any model is built."""

    content: object
    styles: list
    init: object  # an image when settings.init is a file, else None


def load_inputs(content: str | Path, styles: list[str | Path], settings: TransferSettings) -> Inputs:
    """Decode every input file first, so a bad one fails before any model is built."""
    if not styles:
        raise SettingsError("at least one style image is needed")
    init = None if settings.init in INITS else images.load_rgb(settings.init)
    return Inputs(images.load_rgb(content), [images.load_rgb(s) for s in styles], init)


def check_sizes(inputs: Inputs, settings: TransferSettings, backbone: str, names: dict[str, str]) -> None:
    """Refuse stage sizes for which the deepest layer would have no pixels, or memory is short."""
    layers = list(dict.fromkeys(settings.content_layers + settings.style_layers))
    smallest = minimum_side(backbone, layers)
    for size in settings.sizes():
        w, h = images.fit_size(*inputs.content.size, size)
        if min(w, h) < smallest:
            raise ImageError(
                f"{names['content']}: at size {size} it becomes {w}x{h}, but {backbone} up to "
                f"{deepest_layer(backbone, layers)} needs at least {smallest}x{smallest}; raise --size"
            )
        for style, name in zip(inputs.styles, names["styles"]):
            sw, sh = images.fit_size(*style.size, max(1, round(size * settings.style_scale)))
            if min(sw, sh) < smallest:
                raise ImageError(
                    f"{name}: at style scale {settings.style_scale} it becomes {sw}x{sh}, below the "
                    f"{smallest}x{smallest} minimum; raise --style-scale or --size"
                )
    w, h = images.fit_size(*inputs.content.size, settings.size)
    check_fits(backbone, layers, h, w, settings.lbfgs_history)


def stage_images(inputs: Inputs, settings: TransferSettings, size: int):
    """Content (as shown, and as the network sees it) and styles resized for one stage.

    With colour preservation the network sees luminance only, the styles' matched to the
    content's mean and spread; `content_rgb` keeps the colours to put back afterwards.
    """
    w, h = images.fit_size(*inputs.content.size, size)
    content_rgb = images.to_array(images.resize(inputs.content, (w, h)))
    style_size = max(1, round(size * settings.style_scale))
    style_rgbs = [images.to_array(images.resize(s, images.fit_size(*s.size, style_size))) for s in inputs.styles]
    if not settings.preserve_color:
        return content_rgb, content_rgb, style_rgbs
    content_luma = colour.luminance(content_rgb)
    style_nets = [colour.as_grey_rgb(colour.match_luminance(colour.luminance(s), content_luma)) for s in style_rgbs]
    return content_rgb, colour.as_grey_rgb(content_luma), style_nets


def stage_targets(objective, settings: TransferSettings, content_net: np.ndarray, style_nets: list[np.ndarray]):
    return objective.targets(
        images.preprocess(content_net),
        [images.preprocess(s) for s in style_nets],
        settings.blend(len(style_nets)),
        (settings.content_weight, settings.style_weight, settings.tv_weight),
    )


def initial_image(settings: TransferSettings, rng, content: np.ndarray, style: np.ndarray, init_image) -> np.ndarray:
    """The starting point in preprocessed (BGR, mean-subtracted) space, shaped like `content`."""
    h, w = content.shape[:2]
    if settings.init == "noise":
        return (rng.uniform(0, 255, (1, h, w, 3)) - 128.0).astype(np.float32)  # the article's init
    if settings.init == "content":
        return images.preprocess(content)
    if settings.init == "style":
        return images.preprocess(images.to_array(images.resize(images.Image.fromarray(style.astype(np.uint8)), (w, h))))
    return images.preprocess(images.to_array(images.resize(init_image, (w, h))))


def upscale(x: np.ndarray, height: int, width: int) -> np.ndarray:
    import tensorflow as tf

    return tf.image.resize(x, (height, width), method="bicubic").numpy().astype(np.float32)


def stylize(
    content: str | Path,
    styles: list[str | Path],
    settings: TransferSettings | None = None,
    output: str | Path | None = None,
    frames_dir: str | Path | None = None,
    history_path: str | Path | None = None,
    record_path: str | Path | None = None,
    progress: bool = True,
    log_iterations: bool = False,
) -> TransferResult:
    """Run one transfer and write what was asked for; return the image and its records.

    `log_iterations` logs one line per iteration (for log files, where no progress bar shows).
    Raises `NSTError` subclasses for bad inputs or settings before any work starts, and
    `DivergedError` (after saving the last good image) when the loss becomes NaN/Inf.
    """
    settings = (settings or TransferSettings()).validate(n_styles=len(styles))
    started = time.perf_counter()
    names = {"content": str(content), "styles": [str(s) for s in styles]}
    inputs = load_inputs(content, styles, settings)
    engine = engine_for(settings)
    backbone = engine.weights.backbone
    check_sizes(inputs, settings, backbone, names)
    notices = []
    if settings.backbone == "auto" and backbone != "vgg16":
        notices.append(f"VGG16 (the article's network) weights were not available; used {backbone} from {engine.weights.source}")
    for notice in notices:
        log.warning("notice: %s", notice)

    seed = settings.seed if settings.seed is not None else secrets.randbits(32)
    if settings.seed is not None:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(seed)
    objective = engine.objective

    history: list[HistoryRow] = []
    frames: list[Path] = []
    frame_prefix = Path(output).stem if output else "frame"
    stages = settings.stages()
    total_evals = sum(iterations * evals for _, iterations, evals in stages)
    bar = _progress_bar(total_evals, progress)
    clock = {"optimise": 0.0, "evaluations": 0}
    x = None
    status, diverged = "completed", None
    content_rgb = None
    try:
        for stage, (size, iterations, evals) in enumerate(stages):
            content_rgb, content_net, style_nets = stage_images(inputs, settings, size)
            h, w = content_rgb.shape[:2]
            stage_start = time.perf_counter()
            targets = stage_targets(objective, settings, content_net, style_nets)
            x = initial_image(settings, rng, content_net, style_nets[0], inputs.init) if x is None else upscale(x, h, w)
            seconds_before, evals_before = clock["optimise"], clock["evaluations"]
            iterations_before = len(history)

            def on_iteration(result, image, stage=stage, size=size, evals_before=evals_before,
                             iterations_before=iterations_before, stage_start=stage_start,
                             seconds_before=seconds_before, content_rgb=content_rgb):
                row = HistoryRow(
                    stage=stage,
                    size=size,
                    iteration=iterations_before + result.iteration,
                    total_loss=result.losses.total,
                    content_loss=result.losses.content,
                    style_loss=result.losses.style,
                    tv_loss=result.losses.tv,
                    evaluations=evals_before + result.evaluations,
                    seconds=round(seconds_before + time.perf_counter() - stage_start, 4),
                )
                history.append(row)
                if log_iterations:
                    log.info(
                        "iteration %d (stage %d, %d px): loss %.6g (content %.4g, style %.4g, tv %.4g), "
                        "%d evaluations, %.1f s",
                        row.iteration, stage, size, row.total_loss, row.content_loss, row.style_loss, row.tv_loss,
                        row.evaluations, row.seconds,
                    )
                if frames_dir is not None:
                    path = Path(frames_dir) / f"{frame_prefix}_i_{row.iteration}.png"
                    images.save_png(_final_rgb(image, settings, content_rgb), path)
                    frames.append(path)

            def on_evaluation(parts):
                bar.update(1)
                bar.set_postfix_str(f"loss {parts.total:.4g}", refresh=False)

            def evaluate(image):
                return objective.value_and_grad(image, targets)

            try:
                x = _optimise(settings, iterations, evals, evaluate, x, on_iteration, on_evaluation)
            finally:
                clock["optimise"] = seconds_before + time.perf_counter() - stage_start
                clock["evaluations"] = history[-1].evaluations if len(history) > iterations_before else evals_before
    except _DivergedAt as exc:
        status, diverged, x = "diverged", exc, exc.last_good
    finally:
        bar.close()

    result_rgb = _final_rgb(x, settings, content_rgb)
    record = {
        "status": status,
        "content": names["content"],
        "styles": names["styles"],
        "output": str(output) if output else None,
        "settings": settings.to_dict(),
        "seed": seed,
        "backbone": backbone,
        "weights_source": engine.weights.source,
        "weights_file": engine.weights.detail,
        "precision": engine.precision,
        "device": describe_device(),
        "versions": versions(),
        "command": command_line(),
        "notices": notices,
        "output_size": [int(result_rgb.shape[1]), int(result_rgb.shape[0])],
        "iterations_completed": len(history),
        "evaluations": history[-1].evaluations if history else 0,
        "final_losses": _final_losses(history),
        "seconds": {
            "build": round(engine.build_seconds, 3),
            "optimise": round(clock["optimise"], 3),
            "total": round(time.perf_counter() - started, 3),
        },
    }
    if diverged is not None:
        record["diverged"] = str(diverged)
    log.info(
        "%s: %s, %s on %s, seed %d, %d iterations, %d evaluations, %.1f s",
        status, backbone, engine.precision, record["device"], seed, len(history), record["evaluations"],
        record["seconds"]["total"],
    )
    wrote_image = False
    if output is not None and history:
        images.save_png(result_rgb, output)
        wrote_image = True
    if history_path is not None:
        write_history(history, history_path)
    if record_path is not None:
        write_record(record, record_path)
    if diverged is not None:
        kept = f"kept the image of iteration {history[-1].iteration} in {output}" if wrote_image else "no iteration finished, so no image was written"
        raise DivergedError(
            f"optimisation diverged ({diverged}); {kept}. Lower the loss weights or use --precision float32"
        )
    return TransferResult(result_rgb, history, record, frames)


class _DivergedAt(Exception):
    def __init__(self, message: str, last_good: np.ndarray):
        super().__init__(message)
        self.last_good = last_good


def _optimise(settings, iterations, evals, evaluate, x, on_iteration, on_evaluation):
    from .optimise import Diverged, adam, lbfgs

    try:
        if settings.optimizer == "lbfgs":
            return lbfgs(evaluate, x, iterations, evals, settings.lbfgs_history, on_iteration, on_evaluation,
                         first_step=settings.lbfgs_step)
        return adam(evaluate, x, iterations, evals, settings.learning_rate, on_iteration, on_evaluation)
    except Diverged as exc:
        raise _DivergedAt(str(exc), exc.last_good) from None


def _final_rgb(x: np.ndarray, settings: TransferSettings, content_rgb: np.ndarray) -> np.ndarray:
    rgb = images.deprocess(x)
    if settings.preserve_color:
        return colour.recombine(rgb.astype(np.float64), content_rgb)
    return rgb


def _final_losses(history: list[HistoryRow]) -> dict | None:
    if not history:
        return None
    last = history[-1]
    return {"total": last.total_loss, "content": last.content_loss, "style": last.style_loss, "tv": last.tv_loss}


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    # disable=None: a bar on a terminal, nothing when stderr is a log file
    return tqdm(total=total, unit="eval", desc="transfer", disable=None if enabled else True, file=sys.stderr,
                dynamic_ncols=True)
