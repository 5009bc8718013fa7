"""Losses of finished images, always in float32: how two results (ours or another tool's) compare."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import images
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
    plan = plan_stage(settings, engine.backbone, *inputs.shape_at(settings.size), memory_limit(settings.max_memory)[0])
    objective = engine.objective_for(plan.tile)  # print sizes are scored tile by tile, exactly
    stage = inputs.stage(settings, settings.size)
    targets = stage.targets(objective, settings)
    h, w = stage.shape
    rows = []
    for path, picture in candidates:
        rgb = images.to_array(images.resize(picture, (w, h)))
        if settings.preserve_color:
            from .colour import as_grey_rgb, luminance

            rgb = as_grey_rgb(luminance(rgb))
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
