"""`stylize`: one neural style transfer, from image files to an image and its records.

    stylize ─▶ Transfer.prepare (settings, inputs, engine, sizes: every check before any work)
            ─▶ Transfer.run(observers) ─▶ TransferResult
                  observers: progress bar, log, frames, final image, history CSV, run record, yours

The engine (weights, network, traced objective) is kept per process, so a second run
in the same process, such as a workflow job's next weight triple, skips the build.
"""

from __future__ import annotations

from pathlib import Path

from . import checkpoint as checkpoints
from .errors import DivergedError, Interrupted
from .observers import FinalImage, Frames, HistoryFile, ProgressBar, RecordFile, RunLog
from .run import Observer, Transfer, TransferResult
from .settings import TransferSettings


def stylize(
    content: str | Path,
    styles: list[str | Path],
    settings: TransferSettings | None = None,
    output: str | Path | None = None,
    frames_dir: str | Path | None = None,
    history_path: str | Path | None = None,
    record_path: str | Path | None = None,
    progress: bool = True,
    log_iterations: bool = False,
    observers: list[Observer] = (),
    checkpoint: str | Path | None = None,
    guides: dict | None = None,
    announce: bool = True,
) -> TransferResult:
    """Run one transfer and write what was asked for; return the image and its records.

    `log_iterations` logs one line per iteration (for log files, where no progress bar
    shows); `announce=False` leaves out the notices and the closing summary line (a video's
    later frames, whose chain says them once); `observers` are told of every evaluation and iteration after the built-in ones.
    With `checkpoint` (a folder) the run saves itself after every iteration and, started
    again, resumes there (nst.checkpoint). `guides`: per-position inputs by name, (H, W, K) arrays
    of the content's size, which terms read (a video frame's warped previous result). Raises `NSTError` subclasses for bad inputs or
    settings before any work starts, `DivergedError` (after saving the last good image)
    when the loss becomes NaN/Inf, and `nst.errors.Interrupted` on SIGTERM/SIGINT.
    """
    transfer = Transfer.prepare(content, styles, settings, output, guides)
    watchers: list[Observer] = [ProgressBar(progress), RunLog(log_iterations, announce)]
    if frames_dir is not None:
        watchers.append(Frames(frames_dir, Path(output).stem if output else "frame"))
    watchers += [FinalImage(output)] if output is not None else []
    watchers += [HistoryFile(history_path)] if history_path is not None else []
    watchers += [RecordFile(record_path)] if record_path is not None else []
    saved, keeper = None, None
    if checkpoint is not None:
        fingerprint = checkpoints.fingerprint(transfer.inputs, transfer.settings, transfer.engine, transfer.plans)
        saved = checkpoints.load(checkpoint, fingerprint, transfer.settings)
        keeper = checkpoints.Checkpoint(checkpoint, fingerprint, saved)
        watchers.append(keeper)
    with checkpoints.stop_on_signals():
        try:
            result = transfer.run([*watchers, *observers], resume=saved)
        except Interrupted as exc:
            if keeper is None:
                exc.detail = "no checkpoint was kept (--checkpoint DIR makes a run resumable)"
            elif keeper.last is None:
                exc.detail = "no iteration had finished, so a new run starts from the beginning"
            else:
                exc.detail = (f"{checkpoint} holds iteration {keeper.last + 1} of {transfer.settings.frame_count()}; "
                              "run the same command again to resume")
            raise
    if result.error is not None:
        raise _explained(result.error, result, output)
    return result


def _explained(error: DivergedError, result: TransferResult, output) -> DivergedError:
    if output is not None and result.image is not None:
        error.kept = f"kept the image of iteration {result.history[-1].iteration} in {output}"
    else:
        error.kept = "no iteration finished, so no image was written"
    return error
