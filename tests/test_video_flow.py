"""Optical flow, warping and reliability weights (nst/video/flow.py) on the project's own clip,
whose true motion is known (nst/video/synthetic.py): a pan and zoom across data/content/coffee.png
with a textured disc moving across it."""

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from nst.video import flow
from nst.video.synthetic import synthetic_clip
from snakemake_runner import ROOT


@pytest.fixture(scope="module")
def clip():
    photo = np.asarray(Image.open(ROOT / "data/content/coffee.png").convert("RGB"))
    return synthetic_clip(photo, frames=6)


def regions(clip, k):
    """Background away from the disc's edges, the disc's inside, and what the disc uncovered."""
    near = ndimage.binary_dilation(clip.disc[k] | clip.disc[k - 1], iterations=6)
    inside = clip.disc[k] & ~ndimage.binary_dilation(~clip.disc[k], iterations=4)
    return ~near, inside, clip.disc[k - 1] & ~clip.disc[k]


def test_the_clips_true_flow_carries_each_frame_onto_the_next(clip):
    for k in (1, 3, 5):
        background, _, _ = regions(clip, k)
        carried = flow.warp(clip.frames[k - 1], clip.backward[k - 1])
        assert np.abs(carried - clip.frames[k])[background].mean() < 2.0


@pytest.mark.parametrize("k", [1, 3, 5])
def test_dis_flow_finds_the_true_motion(clip, k, record_property):
    background, inside, _ = regions(clip, k)
    estimated = flow.flow(clip.frames[k], clip.frames[k - 1])
    errors = (flow.end_point_error(estimated, clip.backward[k - 1], background),
              flow.end_point_error(estimated, clip.backward[k - 1], inside))
    record_property(f"flow frame {k}", f"end-point error {errors[0]:.3f} px (background), {errors[1]:.3f} px (disc)")
    assert errors[0] < 0.5 and errors[1] < 0.5


@pytest.mark.parametrize("k", [1, 3, 5])
def test_reliability_marks_what_the_disc_uncovered_and_keeps_the_rest(clip, k, record_property):
    background, _, uncovered = regions(clip, k)
    backward = flow.flow(clip.frames[k], clip.frames[k - 1])
    weights = flow.reliability(flow.flow(clip.frames[k - 1], clip.frames[k]), backward)
    record_property(f"reliability frame {k}", f"{weights[background].mean():.1%} of the background reliable, "
                                              f"{weights[uncovered].mean():.1%} of the uncovered pixels")
    assert weights[background].mean() > 0.9 and weights[uncovered].mean() < 0.4
    carried = flow.warp(clip.frames[k - 1], backward)
    assert np.abs(carried - clip.frames[k]).mean(axis=-1)[weights > 0].mean() < 3.0  # grey levels


def test_reliability_follows_the_papers_two_checks():
    h, w = 40, 50
    right, left = np.zeros((h, w, 2), np.float32), np.zeros((h, w, 2), np.float32)
    right[..., 0], left[..., 0] = 2.0, -2.0
    assert flow.reliability(right, left).min() == 1.0  # the flows undo each other: every pixel reliable
    assert flow.reliability(right, right).max() == 0.0  # they do not: disoccluded everywhere
    edge = left.copy()
    edge[:, 25:, 0] = -6.0  # the right part moves 6 px, the left 2: a motion boundary at column 25
    weights = flow.reliability(-edge, edge)
    # the boundary (the flow's gradient at columns 24, 25), and the right part's pixels whose source
    # 6 px back lies on the left, where the forward flow does not bring them back (columns 25-30)
    assert list(np.flatnonzero(weights.min(axis=0) == 0)) == list(range(24, 31))
    assert (weights == weights[:1]).all()  # the same in every row
