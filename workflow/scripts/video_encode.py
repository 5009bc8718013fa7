"""A video run's frames as an MP4 at the clip's frame rate, with the clip's sound."""

from nst.video.clips import write_clip
from nst.workflow.script import run
from nst.workflow.videos import read_info, styled_frames


def main(snakemake):
    import logging

    clip = read_info(snakemake.input.info)
    for notice in write_clip(styled_frames(snakemake.input.frames), snakemake.output[0], clip.fps, audio_from=clip):
        logging.getLogger("nst").warning("notice: %s", notice)


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
