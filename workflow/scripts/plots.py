"""Loss curves from results/summary.csv: one pair's runs, or the whole sweep's."""

import pandas as pd

from nst.workflow.plots import pair_curves, sweep_curves
from nst.workflow.script import run


def main(snakemake):
    table = pd.read_csv(snakemake.input[0])
    runs = [r["run"] for r in snakemake.params.runs]
    if runs:
        pair_curves(table[table["run"].isin(runs)], snakemake.params.title, snakemake.output[0])
    else:
        sweep_curves(table, snakemake.output[0])


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
