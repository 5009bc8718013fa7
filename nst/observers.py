"""What watches a run: progress bar, log lines, frames, history, final image and run record.

Each is a `nst.run.Observer`; `stylize` attaches the ones its arguments ask for, and a
caller can attach its own (a benchmark's stopwatch, a checkpoint) the same way.
"""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path

from . import images
from .records import write_history, write_record
from .run import Evaluation, Iteration, Observer, RunStart, TransferResult

log = logging.getLogger("nst")


class ProgressBar(Observer):
    """A tqdm bar of evaluations with ETA on a terminal; nothing in a log file.

    L-BFGS's line search makes a few more evaluations than an iteration's budget, so the
    bar's total is a forecast: at first the settings' (`expected_evaluations`), then after
    each iteration the remaining budgets scaled by the ratio of evaluations made to
    evaluations budgeted so far; at the end the total is exactly what the run did.
    """

    def __init__(self, enabled: bool = True, file=None):
        self.enabled = enabled
        self.file = file  # a stream to draw on always (tests); default: stderr when it is a terminal
        self.bar = None

    def started(self, run: RunStart) -> None:
        from tqdm import tqdm

        self.budgets = [stage.evals_per_iteration for stage in run.stages]
        self.planned = sum(stage.iterations * stage.evals_per_iteration for stage in run.stages)
        self.budgeted_done = 0
        # disable=None: a bar on a terminal, nothing when stderr is a log file
        disable = (False if self.file is not None else None) if self.enabled else True
        self.bar = tqdm(total=run.settings.expected_evaluations(), unit="eval", desc="transfer", disable=disable,
                        file=self.file or sys.stderr, dynamic_ncols=True)

    def evaluated(self, evaluation: Evaluation) -> None:
        self.bar.update(1)
        self.bar.set_postfix_str(f"loss {evaluation.losses.total:.4g}", refresh=False)

    def iterated(self, iteration: Iteration) -> None:
        self.budgeted_done += self.budgets[iteration.row.stage]
        made = iteration.row.evaluations
        if iteration.replayed:  # done by an earlier process
            self.bar.update(made - self.bar.n)
        ratio = max(1.0, made / self.budgeted_done)
        self.bar.total = made + math.ceil((self.planned - self.budgeted_done) * ratio)
        self.bar.refresh()

    def finished(self, result: TransferResult) -> None:
        self.bar.total = self.bar.n
        self.bar.refresh()

    def closed(self) -> None:
        if self.bar is not None:
            self.bar.close()


class RunLog(Observer):
    """Notices at the start, one line per iteration if asked (for log files), a summary at the end."""

    def __init__(self, iterations: bool = False, announce: bool = True):
        self.iterations, self.announce = iterations, announce  # announce: the notices and the summary

    def started(self, run: RunStart) -> None:
        for notice in run.notices if self.announce else ():
            log.warning("notice: %s", notice)

    def iterated(self, iteration: Iteration) -> None:
        if not self.iterations or iteration.replayed:  # an earlier process logged those
            return
        row = iteration.row
        parts = ", ".join(f"{name} {value:.4g}" for name, value in row.losses.parts.items())
        log.info("iteration %d (stage %d, %d px): loss %.6g (%s), %d evaluations, %.1f s",
                 row.iteration, row.stage, row.size, row.losses.total, parts, row.evaluations, row.seconds)

    def finished(self, result: TransferResult) -> None:
        if not self.announce:
            return
        r = result.record
        log.info("%s: %s, %s on %s, seed %d, %d iterations, %d evaluations, %.1f s", r.status, r.backbone, r.precision,
                 r.device, r.seed, r.iterations_completed, r.evaluations, r.seconds["total"])


def frame_name(prefix: str, k: int) -> str:
    """The file name of iteration `k`'s image, as the article named its frames: `<prefix>_i_<k>.png`."""
    return f"{prefix}_i_{k}.png"


class Frames(Observer):
    """The image after every iteration, as `<folder>/<prefix>_i_<k>.png` (the article's naming)."""

    def __init__(self, folder: str | Path, prefix: str):
        self.folder, self.prefix = Path(folder), prefix
        self.written: list[Path] = []

    def iterated(self, iteration: Iteration) -> None:
        path = self.folder / frame_name(self.prefix, iteration.row.iteration)
        images.save_png(iteration.rgb(), path)
        self.written.append(path)


class FinalImage(Observer):
    """The result, written when the run ends (also the last good image of a diverged run);
    16 bits per channel with output_depth 16 (PNG or TIFF)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def finished(self, result: TransferResult) -> None:
        if result.image16 is not None:
            images.save_sixteen_bits(result.image16, self.path)
        elif result.image is not None:
            images.save_png(result.image, self.path)


class HistoryFile(Observer):
    """The per-iteration history as CSV, one `<term>_loss` column per term."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def started(self, run: RunStart) -> None:
        self.terms = run.terms

    def finished(self, result: TransferResult) -> None:
        write_history(result.history, self.terms, self.path)


class RecordFile(Observer):
    """The run record as JSON."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def finished(self, result: TransferResult) -> None:
        write_record(result.record, self.path)
