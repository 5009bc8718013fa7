"""Decode, orient, convert to RGB and resize one input image to the workflow's size."""

from nst import images
from nst.workflow.script import run


def main(snakemake):
    image = images.load_rgb(snakemake.input[0])
    size = images.fit_size(*image.size, snakemake.params.size)
    images.save_png(images.to_array(images.resize(image, size)).astype("uint8"), snakemake.output[0])


run(snakemake, main)  # noqa: F821
