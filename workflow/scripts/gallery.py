"""One content image's gallery: the photo, then each of its results with the style as an inset."""

from PIL import Image

from nst.workflow.gallery import content_gallery, save_image
from nst.workflow.runs import run_label
from nst.workflow.script import run


def main(snakemake):
    runs = snakemake.params.runs
    results = [
        (Image.open(final), [f"style: {r['style']}", run_label(r)], Image.open(style))
        for r, final, style in zip(runs, snakemake.input.finals, snakemake.input.styles)
    ]
    picture = content_gallery((Image.open(snakemake.input.content), snakemake.wildcards.content), results,
                              snakemake.params.cell)
    save_image(picture, snakemake.output[0])


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
