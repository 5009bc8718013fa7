"""One transfer: the run's weight triple on top of config['nst'], threads from the rule."""

from pathlib import Path

from nst.settings import TransferSettings
from nst.transfer import stylize
from nst.workflow_support import run


def main(snakemake):
    row = snakemake.params.row
    settings = TransferSettings(
        **snakemake.params.nst,
        size=snakemake.params.size,
        seed=snakemake.params.seed,
        content_weight=float(row["cw"]),
        style_weight=float(row["sw"]),
        tv_weight=float(row["tvw"]),
        threads=snakemake.threads,
    )
    stylize(
        snakemake.input.content,
        [snakemake.input.style],
        settings,
        output=snakemake.output.image,
        frames_dir=Path(snakemake.output.frames[0]).parent,
        history_path=snakemake.output.history,
        record_path=snakemake.output.record,
        progress=False,
        log_iterations=True,
    )


run(snakemake, main)  # noqa: F821
