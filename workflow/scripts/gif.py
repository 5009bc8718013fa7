"""A looping GIF of images in order: a run's iterations, or one pair's sweep of weights."""

from PIL import Image

from nst.workflow.gallery import save_gif
from nst.workflow.script import run


def main(snakemake):
    frames = [Image.open(path) for path in snakemake.input]
    captions = [[c] for c in snakemake.params.captions]
    save_gif(frames, snakemake.output[0], snakemake.params.seconds, captions, snakemake.params.size)


run(snakemake, main)  # noqa: F821
