"""Optical flow between frames, warping along it, and where a warp can be trusted.

Flows are (H, W, 2) float32 arrays of (dx, dy) in pixels, in the convention of OpenCV's
`calcOpticalFlow*`: `flow(a, b)` is w with a(x) ≈ b(x + w(x)). Stylising frame t from frame
t−1 uses the backward flow ŵ = flow(frame_t, frame_t−1): frame t−1's result sampled at x + ŵ(x)
is aligned with frame t (`warp`).

Reliability (Ruder et al. 2016, section 3.2, after Sundaram et al. 2010), in frame t's pixels,
with w the forward flow and w̃(x) = w(x + ŵ(x)) it warped onto frame t:

* disocclusion: |w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5 (the two flows do not undo each other);
* motion boundary: |∇ŵ_x|² + |∇ŵ_y|² > 0.01 |ŵ|² + 0.002;

the weight is 0 at either, 1 elsewhere. Written from the paper.
"""

from __future__ import annotations

import numpy as np


def _grey(frame: np.ndarray) -> np.ndarray:
    import cv2

    frame = np.asarray(frame)
    if frame.ndim == 3:
        frame = cv2.cvtColor(np.ascontiguousarray(frame[..., :3], np.uint8), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(frame, np.uint8)


def flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """DIS optical flow (OpenCV, medium preset) from frame a to frame b (uint8 RGB or grey)."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_grey(a), _grey(b), None)


def warp(image: np.ndarray, backward: np.ndarray, sharp: bool = False) -> np.ndarray:
    """`image` (H, W[, C]) sampled at x + backward(x); outside the frame, the nearest edge.

    Bilinearly for flow fields; `sharp` (Lanczos, 8 x 8) for pictures: a bilinear warp by a
    fraction of a pixel blurs a painted texture, and that blur alone raised a styled frame's style
    loss 38x (Lanczos: 3.1x; measured in docs/video.md)."""
    import cv2

    h, w = backward.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(np.asarray(image, np.float32), xs + backward[..., 0], ys + backward[..., 1],
                     interpolation=cv2.INTER_LANCZOS4 if sharp else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def reliability(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """(H, W) float32 weights in frame t: 0 where disoccluded or on a motion boundary, 1 elsewhere."""
    carried = warp(forward, backward)  # w̃
    mismatch = np.sum((carried + backward) ** 2, axis=-1)
    disoccluded = mismatch > 0.01 * (np.sum(carried**2, axis=-1) + np.sum(backward**2, axis=-1)) + 0.5
    gy_x, gx_x = np.gradient(backward[..., 0])
    gy_y, gx_y = np.gradient(backward[..., 1])
    gradient = gx_x**2 + gy_x**2 + gx_y**2 + gy_y**2
    boundary = gradient > 0.01 * np.sum(backward**2, axis=-1) + 0.002
    return (~(disoccluded | boundary)).astype(np.float32)


def end_point_error(estimated: np.ndarray, true: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean Euclidean distance between two flows (over `where`, a boolean mask, if given)."""
    error = np.sqrt(np.sum((estimated - true) ** 2, axis=-1))
    return float(error[where].mean() if where is not None else error.mean())
