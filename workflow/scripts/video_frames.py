"""A clip's frames at the result's size, and what the later steps need of it (nst.workflow.videos.write_frames)."""

from nst.video.settings import VideoSettings
from nst.workflow.script import run
from nst.workflow.videos import write_frames


def main(snakemake):
    write_frames(snakemake.input[0], snakemake.output.frames, snakemake.output.info, snakemake.params.size,
                 VideoSettings.from_mapping(snakemake.params.video))


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
