"""Flow and reliability of every neighbouring frame pair of a clip (nst.workflow.videos.write_motion)."""

from nst.workflow.script import run
from nst.workflow.videos import write_motion


def main(snakemake):
    write_motion(snakemake.input.frames, snakemake.input.info, snakemake.output[0], snakemake.threads)


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
