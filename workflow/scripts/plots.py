"""Loss curves from results/summary.csv: one pair's, or the whole sweep's."""

import pandas as pd

from nst.plots import pair_curves, sweep_curves
from nst.workflow_support import run


def main(snakemake):
    table = pd.read_csv(snakemake.input[0], dtype={"cw": str, "sw": str, "tvw": str})
    pair = snakemake.params.pair
    if pair:
        rows = table[("c_" + table["content"] + "_s_" + table["style"]) == pair]
        pair_curves(rows, pair, snakemake.output[0])
    else:
        sweep_curves(table, snakemake.output[0])


run(snakemake, main)  # noqa: F821
