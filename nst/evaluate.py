"""Losses of finished images, always in float32: how two results (ours or another tool's) compare."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import images
from .settings import TransferSettings
from .transfer import check_sizes, engine_for, load_inputs, stage_images, stage_targets


def image_losses(content, styles, paths, settings: TransferSettings) -> list[dict]:
    """One dict per image: its total/content/style/TV losses at the settings' size.

    Each image is resized to the content's size at `settings.size` if it differs, so a
    result of another tool can be scored on the same terms.
    """
    settings.validate(n_styles=len(styles))
    inputs = load_inputs(content, styles, settings)
    candidates = [(Path(p), images.load_rgb(p)) for p in paths]  # every file checked before the model is built
    engine = engine_for(settings, precision="float32")
    check_sizes(inputs, settings, engine.weights.backbone, {"content": str(content), "styles": [str(s) for s in styles]})
    content_rgb, content_net, style_nets = stage_images(inputs, settings, settings.size)
    targets = stage_targets(engine.objective, settings, content_net, style_nets)
    h, w = content_rgb.shape[:2]
    rows = []
    for path, picture in candidates:
        rgb = images.to_array(images.resize(picture, (w, h)))
        if settings.preserve_color:
            from .colour import as_grey_rgb, luminance

            rgb = as_grey_rgb(luminance(rgb))
        parts = engine.objective.value(images.preprocess(rgb), targets)
        rows.append(
            {
                "image": str(path),
                "size": [w, h],
                **{k: float(np.float32(v)) for k, v in parts.as_dict().items()},
                "backbone": engine.weights.backbone,
                "precision": "float32",
            }
        )
    return rows
