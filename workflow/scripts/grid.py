"""A labelled comparison grid: contents x styles for one triple, or the triples of one pair."""

from PIL import Image

from nst.workflow.gallery import grid, save_image
from nst.workflow.naming import pair_label, triple_label
from nst.workflow.script import run


def main(snakemake):
    runs = snakemake.params.runs
    finals = {r["run"]: Image.open(path) for r, path in zip(runs, snakemake.input)}
    if snakemake.params.layout == "by_weights":
        by_cell = {(r["content"], r["style"]): r for r in runs}
        cells = [
            [
                (finals[by_cell[(c, s)]["run"]], [pair_label(c, s)]) if (c, s) in by_cell else (None, [])
                for s in snakemake.params.columns
            ]
            for c in snakemake.params.rows
        ]
    else:
        cells = [[(finals[r["run"]], [pair_label(r["content"], r["style"]), triple_label(r["cw"], r["sw"], r["tvw"])])
                  for r in runs]]
    save_image(grid(cells, snakemake.params.cell), snakemake.output[0])


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
