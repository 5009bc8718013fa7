"""The project's own test clip: a camera panning and zooming across a photo, with a textured disc
moving across it, so the true motion of every pixel, and where the disc uncovers the background,
are known exactly (for checking flow, warping and reliability weights)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Clip:
    frames: list[np.ndarray]  # (H, W, 3) uint8 RGB
    backward: list[np.ndarray]  # true backward flow of frame k (k >= 1) onto frame k-1: (H, W, 2) float32
    disc: list[np.ndarray]  # (H, W) bool: where the disc is in each frame


def synthetic_clip(photo: np.ndarray, frames: int = 48, size: tuple[int, int] = (512, 288),
                   pan: tuple[float, float] = (1.5, 0.5), zoom: float = 1.004, radius: float = 36.0,
                   speed: tuple[float, float] = (4.0, -1.0)) -> Clip:
    """`frames` frames of `size` (width, height): the view moves `pan` photo pixels and magnifies by
    `zoom` each frame; a disc of `radius` crosses the view at `speed` px per frame."""
    import cv2

    photo = np.ascontiguousarray(np.asarray(photo)[..., :3], np.uint8)
    w, h = size
    ph, pw = photo.shape[:2]
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    start = np.array([pw / 2, ph / 2]) - np.array(pan) * frames / 2  # the view's centre in the photo, frame 0
    scale0 = 0.9 * min(pw / w, ph / h)  # photo pixels per frame pixel at frame 0
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    grid = np.stack([xs, ys], axis=-1)
    disc_start = np.array([radius * 1.5, h * 0.6])
    out, flows, discs = [], [], []

    def view(k):  # frame pixel -> photo coordinate
        return start + k * np.array(pan) + scale0 * zoom ** -k * (grid - centre)

    for k in range(frames):
        where = view(k).astype(np.float32)
        frame = cv2.remap(photo, where[..., 0], where[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        centre_k = disc_start + k * np.array(speed)
        offset = grid - centre_k
        inside = np.sum(offset**2, axis=-1) <= radius**2
        checks = ((np.floor(offset[..., 0] / 8) + np.floor(offset[..., 1] / 8)) % 2).astype(bool)
        rings = np.sqrt(np.sum(offset**2, axis=-1)) / radius
        texture = np.stack([220 * checks + 30 * rings, 60 + 150 * rings, 200 - 150 * checks], axis=-1)
        frame[inside] = np.clip(texture[inside], 0, 255).astype(np.uint8)
        out.append(frame)
        discs.append(inside)
        if k:  # where each pixel's photo point was in frame k-1 (the disc: one step back along its path)
            before = centre + (view(k) - (start + (k - 1) * np.array(pan))) / (scale0 * zoom ** -(k - 1))
            truth = before - grid
            truth[inside] = -np.array(speed)
            flows.append(truth.astype(np.float32))
    return Clip(out, flows, discs)
