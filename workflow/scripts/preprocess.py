"""Decode, orient, convert to RGB and resize one input image to the workflow's size."""

import logging

import numpy as np

from nst import images
from nst.workflow.script import run


def main(snakemake):
    notices = []
    loaded = images.load(snakemake.params.source, notices)  # its input, unless the file is missing
    for notice in notices:
        logging.getLogger("nst").warning("notice: %s", notice)
    size = images.fit_size(*loaded.rgb.size, snakemake.params.size)
    rgb = images.to_array(images.resize(loaded.rgb, size)).astype("uint8")
    if loaded.alpha is not None:  # kept, so the result can carry the content's transparency
        rgb = np.dstack([rgb, np.asarray(images.resize(loaded.alpha, size), np.uint8)])
    images.save_png(rgb, snakemake.output[0])


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
