"""A labelled comparison grid: contents x styles for one set of weights, or the weights of one pair."""

from pathlib import Path

from PIL import Image

from nst.workflow.gallery import grid, matrix, save_image
from nst.workflow.naming import pair_label
from nst.workflow.runs import run_label
from nst.workflow.script import run


def main(snakemake):
    runs = snakemake.params.runs
    cell = snakemake.params.cell
    if snakemake.params.layout == "by_weights":
        finals = [Image.open(path) for path in snakemake.input.finals]
        contents = list(dict.fromkeys(r["content"] for r in runs))
        styles = list(dict.fromkeys(r["style"] for r in runs))
        style_images = {Path(p).stem: Image.open(p) for p in snakemake.input.styles}
        found = {
            (contents.index(r["content"]), styles.index(r["style"])):
                (final, [pair_label(r["content"], r["style"])], style_images[r["style"]])
            for r, final in zip(runs, finals)
        }
        rows = [(Image.open(p), Path(p).stem) for p in snakemake.input.contents]
        columns = [(style_images[s], s) for s in styles]
        r = runs[0]
        picture = matrix(rows, columns, found, cell, [run_label(r)])
    else:
        finals = [Image.open(path) for path in snakemake.input]
        picture = grid([[(final, [pair_label(r["content"], r["style"]), run_label(r)])
                         for r, final in zip(runs, finals)]], cell)
    save_image(picture, snakemake.output[0])


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
