"""results/summary.csv: every run's history rows with its parameters and record."""

from nst.files import atomic_path
from nst.workflow.script import run
from nst.workflow.summary import summarise


def main(snakemake):
    table = summarise(snakemake.params.runs, snakemake.input.histories, snakemake.input.records)
    with atomic_path(snakemake.output[0]) as tmp:
        table.to_csv(tmp, index=False)


run(snakemake, main)  # noqa: F821
