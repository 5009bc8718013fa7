"""Names, labels and paths of a sweep: one home for the rules and the scripts.

A run is named as the article named its files, `c_{content}_s_{style}_cw_{cw}_sw_{sw}_tvw_{tvw}`,
numbers written as the article wrote them (`0.025`, `5`, `0.1`), and its frames
`…_i_{k}.png`. Loss terms beyond the article's three follow by their own names
(`…_tvw_1_temporal_200`). The path templates below hold `{run}`, `{kind}`, `{name}`,
`{variant}`, `{pair}` fields: Snakemake fills them as wildcards, scripts with `str.format`. A
run's variant is its weights and its place on the other sweep axes (`AXES`: the colour mode and
the mask set), each named only where it is off its default (`…_tvw_1_color_histogram_mask_face`).
"""

from __future__ import annotations

import numpy as np

from ..observers import frame_name

INPUT = "results/inputs/{kind}/{name}.png"
DOWNLOAD = "results/downloads/{kind}/{name}"
RUN_IMAGE = "results/runs/{run}/{run}.png"
RUN_FRAMES = "results/runs/{run}/iterations"
RUN_HISTORY = "results/runs/{run}/history.csv"
RUN_RECORD = "results/runs/{run}/run.json"
# Not an output of any rule, so Snakemake never deletes it as incomplete: a killed job resumes from it.
RUN_CHECKPOINT = "results/checkpoints/{run}"
GALLERY = "results/galleries/{content}.png"
GRID_BY_WEIGHTS = "results/grids/by_weights/{variant}.png"
GRID_BY_PAIR = "results/grids/by_pair/{pair}.png"
GIF_RUN = "results/gifs/runs/{run}.gif"
GIF_SWEEP = "results/gifs/sweeps/{pair}.gif"
# Videos: a clip's frames at the result's size and its motion (inputs of every run of it), then per run
VIDEO_FRAMES = "results/videos/inputs/{video}"
VIDEO_INFO = "results/videos/inputs/{video}.json"  # frame rate, count, size, the source and span for the sound
VIDEO_MOTION = "results/videos/motion/{video}"
VIDEO_STYLED = "results/videos/{run}/frames"
VIDEO_HISTORY = "results/videos/{run}/history.csv"
VIDEO_RECORD = "results/videos/{run}/run.json"
VIDEO_CLIP = "results/videos/{run}/{run}.mp4"
VIDEO_PREVIEW = "results/videos/{run}/preview.gif"
VIDEO_CHECKPOINT = "results/checkpoints/videos/{run}"  # the chain's work folder: a killed job resumes there
SUMMARY = "results/summary.csv"
PLOT_SWEEP = "results/plots/sweep.png"
PLOT_PAIR = "results/plots/pairs/{pair}.png"
PLOT_RUN = "results/plots/runs/{run}.png"


def number(value) -> str:
    """A weight as the article wrote it in file names: 0.025, 5, 0.1 (no trailing .0, no exponent)."""
    return np.format_float_positional(float(value), trim="-")


def pair_name(content: str, style: str) -> str:
    return f"c_{content}_s_{style}"


# The article's short names of its three terms; every other term is written by its own name.
ARTICLE_NAMES = {"content": "cw", "style": "sw", "tv": "tvw"}


def weights_name(weights: dict) -> str:
    """`cw_0.025_sw_5_tvw_1`, then `_<term>_<weight>` for each further term, in the mapping's order."""
    return "_".join(f"{ARTICLE_NAMES.get(term, term)}_{number(weight)}" for term, weight in weights.items())


def run_name(pair: str, variant: str) -> str:
    """A run's name from its pair's name and its variant's (`pair_name`, `variant_name`; in the
    workflow's patterns either may be a wildcard): the one place run names are composed."""
    return f"{pair}_{variant}"


def pair_label(content: str, style: str) -> str:
    return f"{content} x {style}"


def weights_label(weights: dict) -> str:
    """`cw 0.025 · sw 5 · tvw 1`, then `· <term> <weight>` for each further term."""
    return " · ".join(f"{ARTICLE_NAMES.get(term, term)} {number(weight)}" for term, weight in weights.items())


# Sweep axes beside the weights: a run-table column (an nst option, or the mask set) -> its name in
# run names and labels, and the value that leaves it out of them (the default, so the article's names stay).
AXES = {"color_transfer": ("color", "none"), "mask_set": ("mask", "none")}


def axes_suffix(options: dict) -> str:
    """The axes' part of a run's name: `_<axis>_<value>` for each axis off its default, in `options`' order."""
    return "".join(f"_{AXES[k][0]}_{v}" for k, v in options.items() if v != AXES[k][1])


def variant_name(weights: dict, options: dict) -> str:
    """A run's name after its pair: its weights, then each axis off its default (`…_tvw_1_color_histogram`)."""
    return weights_name(weights) + axes_suffix(options)


def variant_label(weights: dict, options: dict) -> str:
    """`cw 0.025 · sw 5 · tvw 1`, then `· color histogram` for each axis off its default."""
    return " · ".join([weights_label(weights)] + [f"{AXES[k][0]} {v}" for k, v in options.items() if v != AXES[k][1]])


def weight_column(term: str) -> str:
    """A term's weight in run tables, run sheets and summary.csv, beside its `<term>_loss` (the
    settings' own `content_weight`, `style_weight`, `tv_weight`; `content` and `style` name the images)."""
    return f"{term}_weight"


def run_files(run: str) -> dict[str, str]:
    """Where one run's transfer writes: its image, frames folder, history, record and checkpoint."""
    return {
        "image": RUN_IMAGE.format(run=run),
        "frames_dir": RUN_FRAMES.format(run=run),
        "history": RUN_HISTORY.format(run=run),
        "record": RUN_RECORD.format(run=run),
        "checkpoint": RUN_CHECKPOINT.format(run=run),
    }


def frame_files(run: str, count: int) -> list[str]:
    """The frames the engine's Frames observer writes for a run (named there, `<run>_i_<k>.png`)."""
    return [f"{RUN_FRAMES.format(run=run)}/{frame_name(run, k)}" for k in range(count)]
