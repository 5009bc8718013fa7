"""`nst video`: a clip in, its stylised frames chained (nst.video.chain), the clip out with its sound."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

from ..errors import SettingsError
from ..settings import TransferSettings
from .chain import FrameChain, FrameRow, checked, write_history
from .clips import check_output, read_clip, write_clip
from .settings import VideoSettings

log = logging.getLogger("nst")


def default_work(output: str | Path) -> Path:
    """The chain's folder beside the output: hidden, and the same for the same command run again."""
    output = Path(output)
    return output.parent / f".{output.name}.nst-work"


def stylize_video(args, settings: TransferSettings, video: VideoSettings) -> int:
    check_output(args.output)
    if settings.output_depth == 16:  # shared with `nst transfer`'s options, but no clip format here holds 16 bits
        raise SettingsError("output_depth", "a clip is written with 8 bits per channel (its video file or PNG frames); "
                                            "leave --output-depth at 8")
    if "temporal_weight" in args:  # a spelling of the temporal term's weight
        settings = dataclasses.replace(settings, terms={**settings.terms, "temporal": args.temporal_weight})
    checked(settings, video, len(args.styles))  # before the clip is decoded
    clip = read_clip(args.clip, video.start, video.stop, video.step, video.fps)
    work = Path(args.work) if args.work else default_work(args.output)
    count = len(clip.frames)

    def said(row: FrameRow) -> None:
        if not args.quiet:
            log.info("frame %d of %d: %d evaluations, %.1f s, loss %.4g", row.frame + 1, count, row.evaluations,
                     row.seconds, row.losses["total"])

    result = FrameChain(clip, args.styles, settings, work, video).run(progress=said)
    for notice in write_clip(result.frames, args.output, clip.fps, audio_from=clip):
        log.warning("notice: %s", notice)
    if args.history:
        write_history(result.rows, args.history)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    h, w = result.frames[0].shape[:2]
    evaluations = sum(row.evaluations for row in result.rows)
    seconds = sum(row.seconds for row in result.rows)
    print(f"wrote {args.output} ({count} frames, {w}x{h}, {float(clip.fps):g} fps, {evaluations} evaluations, "
          f"{seconds:.1f} s)")
    return 0
