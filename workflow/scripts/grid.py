"""A labelled comparison grid: contents x styles for one triple, or the triples of one pair."""

from PIL import Image

from nst.gallery import grid, save_image
from nst.workflow_support import run


def main(snakemake):
    runs = snakemake.params.runs
    finals = {r["run"]: Image.open(path) for r, path in zip(runs, snakemake.input)}
    if snakemake.params.layout == "by_weights":
        by_cell = {(r["content"], r["style"]): r for r in runs}
        cells = [
            [
                (finals[by_cell[(c, s)]["run"]], [f"{c} x {s}"]) if (c, s) in by_cell else (None, [])
                for s in snakemake.params.columns
            ]
            for c in snakemake.params.rows
        ]
    else:
        cells = [[(finals[r["run"]], [f"{r['content']} x {r['style']}", f"cw {r['cw']} · sw {r['sw']} · tvw {r['tvw']}"])
                  for r in runs]]
    save_image(grid(cells, snakemake.params.cell), snakemake.output[0])


run(snakemake, main)  # noqa: F821
