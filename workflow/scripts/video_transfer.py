"""One video run's frame chain, resumable from its checkpoint folder (nst.workflow.videos.run_video)."""

from nst.video.settings import VideoSettings
from nst.workflow.runs import run_settings
from nst.workflow.script import run
from nst.workflow.videos import run_video


def main(snakemake):
    job = snakemake.params.job
    settings = run_settings(snakemake.params.settings, job["loss_weights"], job["options"], threads=snakemake.threads)
    run_video(snakemake.input.frames, snakemake.input.info, snakemake.input.motion, [snakemake.input.style], settings,
              VideoSettings.from_mapping(snakemake.params.video), job["checkpoint"], snakemake.output.frames,
              snakemake.output.history, snakemake.output.record)


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
