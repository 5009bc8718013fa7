"""results/summary.csv: every run's history rows (a video run's: one per frame) with its parameters and record."""

from nst.files import atomic_path
from nst.workflow.script import run
from nst.workflow.summary import summarise_all


def main(snakemake):
    table = summarise_all([
        (snakemake.params.runs, snakemake.input.histories, snakemake.input.records),
        (snakemake.params.video_runs, snakemake.input.video_histories, snakemake.input.video_records),
    ])
    with atomic_path(snakemake.output[0]) as tmp:
        table.to_csv(tmp, index=False)


run(snakemake, main)  # noqa: F821
