"""A small labelled GIF of a video run's first frames, at the clip's own pace."""

from PIL import Image

from nst.workflow.gallery import save_gif
from nst.workflow.script import run
from nst.workflow.videos import read_info, styled_frames


def main(snakemake):
    clip = read_info(snakemake.input.info)
    frames = [Image.fromarray(f) for f in styled_frames(snakemake.input.frames)[: snakemake.params.frames]]
    save_gif(frames, snakemake.output[0], 1 / float(clip.fps), [snakemake.params.label] * len(frames),
             max_side=min(snakemake.params.size, 384), hold_last=1)


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
