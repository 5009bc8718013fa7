"""Names, labels and paths of a sweep: one home for the rules and the scripts.

A run is named as the article named its files, `c_{content}_s_{style}_cw_{cw}_sw_{sw}_tvw_{tvw}`,
numbers written as the article wrote them (`0.025`, `5`, `0.1`), and its frames
`…_i_{k}.png`. The path templates below hold `{run}`, `{kind}`, `{name}`, `{triple}`,
`{pair}` fields: Snakemake fills them as wildcards, scripts with `str.format`.
"""

from __future__ import annotations

import numpy as np

INPUT = "results/inputs/{kind}/{name}.png"
DOWNLOAD = "results/downloads/{kind}/{name}"
RUN_IMAGE = "results/runs/{run}/{run}.png"
RUN_FRAMES = "results/runs/{run}/iterations"
RUN_FRAME = RUN_FRAMES + "/{run}_i_{k}.png"
RUN_HISTORY = "results/runs/{run}/history.csv"
RUN_RECORD = "results/runs/{run}/run.json"
# Not an output of any rule, so Snakemake never deletes it as incomplete: a killed job resumes from it.
RUN_CHECKPOINT = "results/checkpoints/{run}"
GALLERY = "results/galleries/{content}.png"
GRID_BY_WEIGHTS = "results/grids/by_weights/{triple}.png"
GRID_BY_PAIR = "results/grids/by_pair/{pair}.png"
GIF_RUN = "results/gifs/runs/{run}.gif"
GIF_SWEEP = "results/gifs/sweeps/{pair}.gif"
SUMMARY = "results/summary.csv"
PLOT_SWEEP = "results/plots/sweep.png"
PLOT_PAIR = "results/plots/pairs/{pair}.png"
PLOT_RUN = "results/plots/runs/{run}.png"


def number(value) -> str:
    """A weight as the article wrote it in file names: 0.025, 5, 0.1 (no trailing .0, no exponent)."""
    return np.format_float_positional(float(value), trim="-")


def pair_name(content: str, style: str) -> str:
    return f"c_{content}_s_{style}"


def triple_name(cw, sw, tvw) -> str:
    return f"cw_{cw}_sw_{sw}_tvw_{tvw}"


def run_name(content: str, style: str, cw, sw, tvw) -> str:
    return f"{pair_name(content, style)}_{triple_name(cw, sw, tvw)}"


def pair_label(content: str, style: str) -> str:
    return f"{content} x {style}"


def triple_label(cw, sw, tvw) -> str:
    return f"cw {cw} · sw {sw} · tvw {tvw}"


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
    return [RUN_FRAME.format(run=run, k=k) for k in range(count)]
