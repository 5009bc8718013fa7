"""Losses of finished images, always in float32: how two results (ours or another tool's) compare."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import images
from .colour import colour_mode
from .engine import engine_for
from .estimate import memory_limit, plan_stage
from .inputs import Inputs
from .settings import TransferSettings


def image_losses(content, styles, paths, settings: TransferSettings) -> list[dict]:
    """One dict per image: its total loss and each term's at the settings' size.

    Each image is resized to the content's size at `settings.size` if it differs, so a
    result of another tool can be scored on the same terms.
    """
    settings.validate(n_styles=len(styles))
    inputs = Inputs.load(content, styles, settings)
    candidates = [(Path(p), images.load_rgb(p)) for p in paths]  # every file checked before the model is built
    engine = engine_for(settings, precision="float32")
    inputs.check_sizes(settings, engine.backbone)
    plan = plan_stage(settings, engine.backbone, *inputs.shape_at(settings.size),
                      memory_limit(settings.max_memory, engine.backend.free_memory())[0],
                      engine.backend.plan_precision(engine.precision))
    objective = engine.objective_for(plan.tile, plan.forward_tile)  # print sizes are scored tile by tile, exactly
    stage = inputs.stage(settings, settings.size)
    targets = stage.targets(objective, settings)
    h, w = stage.shape
    rows = []
    for path, picture in candidates:
        rgb = colour_mode(settings.color_transfer).seen(images.to_array(images.resize(picture, (w, h))))
        losses = objective.value(images.preprocess(rgb), targets)
        rows.append(
            {
                "image": str(path),
                "size": [w, h],
                **{k: float(np.float32(v)) for k, v in losses.items()},
                "backbone": engine.backbone,
                "precision": "float32",
            }
        )
    return rows


def region_style_losses(content, styles, picture, settings: TransferSettings) -> tuple[np.ndarray, np.ndarray]:
    """With style masks: each region's style loss of `picture` ((H, W, 3) RGB) in float32 against
    its own style and against the next region's (the styles taken in turn), both measured with the
    region's guided Gram (nst.terms.StyleTerm.region_losses), at the settings' size."""
    settings = TransferSettings(**{**settings.to_dict(), "precision": "float32", "scales": [], "scale_evals": []})
    stage = Inputs.load(content, styles, settings).stage(settings, settings.size)
    objective = engine_for(settings, "float32").objective
    ops = objective.backend.ops
    term = next(t for t in objective.terms if t.name == "style")
    targets = stage.targets(objective, settings)
    h, w = stage.shape
    rgb = images.to_array(images.resize(images.Image.fromarray(np.asarray(picture)[..., :3]), (w, h)))
    maps = objective._features(objective.backend.tensor(images.preprocess(rgb)))
    totals = term.partials(None, maps, (), {}, targets.guides["style"])
    own = targets.terms["style"][1]
    other = tuple(ops.roll(t, shift=1, axis=0) for t in own)  # each region against another region's style
    host = objective.backend.vectors.to_host
    return host(term.region_losses(totals, own, h, w)), host(term.region_losses(totals, other, h, w))
