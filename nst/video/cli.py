"""`nst video`: a clip in, its stylised frames chained (nst.video.chain), the clip out with its sound."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from ..errors import SettingsError
from ..settings import TransferSettings
from .chain import TEMPORAL_WEIGHT, ChainSettings, FrameChain, FrameRow, write_history
from .clips import check_output, read_clip, write_clip

log = logging.getLogger("nst")


def default_work(output: str | Path) -> Path:
    """The chain's folder beside the output: hidden, and the same for the same command run again."""
    output = Path(output)
    return output.parent / f".{output.name}.nst-work"


def stylize_video(args, settings: TransferSettings) -> int:
    check_output(args.output)
    for option, value, least in (("temporal_weight", args.temporal_weight, 0), ("frame_evals", args.frame_evals, 0),
                                 ("start", args.start, 0), ("step", args.step, 1)):
        if value is not None and value < least:
            raise SettingsError(option, f"must be >= {least}, got {value}")
    settings.validate(n_styles=len(args.styles))
    clip = read_clip(args.clip, args.start, args.stop, args.step, args.fps)
    chain = ChainSettings(TEMPORAL_WEIGHT if args.temporal_weight is None else args.temporal_weight,
                          args.frame_evals, args.independent)
    work = Path(args.work) if args.work else default_work(args.output)
    count = len(clip.frames)

    def said(row: FrameRow) -> None:
        if not args.quiet:
            log.info("frame %d of %d: %d evaluations, %.1f s, loss %.4g", row.frame + 1, count, row.evaluations,
                     row.seconds, row.losses["total"])

    result = FrameChain(clip, args.styles, settings, work, chain).run(progress=said)
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
