"""Transfers of one job: one run, or every run (one per variant) of a content x style pair.

A masked run (config mask_sets) takes its further regions' styles after the pair's own and one
mask per style.

The runs of a job share one process, so TensorFlow's import, the network and its traced
graph are paid once per job (benchmarks/performance.py measures what that saves). Each run
keeps a checkpoint in results/checkpoints/<run>/, so a killed job, rerun, resumes where it
stopped, and a run that had finished is only written out again.
"""

from nst.transfer import stylize
from nst.workflow.runs import run_settings
from nst.workflow.script import run


def main(snakemake):
    for job in snakemake.params.runs:
        settings = run_settings(
            snakemake.params.settings,
            job["loss_weights"],
            job["options"],
            threads=snakemake.threads,
            style_masks=job["masks"],
        )
        stylize(
            snakemake.input.content,
            [snakemake.input.style, *job["further_styles"]],
            settings,
            output=job["image"],
            frames_dir=job["frames_dir"],
            history_path=job["history"],
            record_path=job["record"],
            progress=False,
            log_iterations=True,
            checkpoint=job["checkpoint"],
        )


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
