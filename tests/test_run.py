"""The run loop and its observers, on real small transfers."""

import io

import numpy as np
import pytest

from nst.observers import ProgressBar
from nst.run import Observer, StopRun
from nst.settings import TransferSettings
from nst.transfer import stylize

TINY = dict(size=64, iterations=3, evals_per_iteration=4, seed=7, precision="float32")


class Recorder(Observer):
    """Writes down every hook call."""

    def __init__(self):
        self.calls, self.evaluations, self.iterations = [], [], []

    def started(self, run):
        self.calls.append("started")
        self.run = run

    def stage_started(self, stage, size, images):
        self.calls.append(f"stage {stage} at {size}")

    def evaluated(self, evaluation):
        self.evaluations.append(evaluation)

    def iterated(self, iteration):
        self.calls.append(f"iteration {iteration.row.iteration}")
        self.iterations.append(iteration)

    def finished(self, result):
        self.calls.append(f"finished {result.status}")

    def closed(self):
        self.calls.append("closed")


def test_an_observer_sees_every_stage_evaluation_and_iteration(small_images):
    watcher = Recorder()
    result = stylize(small_images["content"], [small_images["style"]], TransferSettings(**TINY, scales=[32]),
                     progress=False, observers=[watcher])
    assert watcher.calls == ["started", "stage 0 at 32", "iteration 0", "iteration 1", "iteration 2", "stage 1 at 64",
                             "iteration 3", "iteration 4", "iteration 5", "finished completed", "closed"]
    assert watcher.run.terms == ["content", "style", "tv"] and watcher.run.seed == 7
    assert [e.number for e in watcher.evaluations] == list(range(1, result.record.evaluations + 1))
    assert [i.row for i in watcher.iterations] == result.history
    assert all(e.seconds <= result.record.seconds["optimise"] + 1e-3 for e in watcher.evaluations)  # it is rounded
    np.testing.assert_array_equal(watcher.iterations[-1].rgb(), result.image)


def test_an_observer_can_stop_a_run_and_it_keeps_the_last_iteration(small_images):
    class StopInTheSecondIteration(Observer):
        iterations = 0

        def iterated(self, iteration):
            self.iterations += 1

        def evaluated(self, evaluation):
            if self.iterations == 1:
                raise StopRun("enough")

    watcher = Recorder()
    result = stylize(small_images["content"], [small_images["style"]], TransferSettings(**TINY), progress=False,
                     observers=[watcher, StopInTheSecondIteration()])
    assert result.status == "stopped" and watcher.calls[-2:] == ["finished stopped", "closed"]
    assert len(result.history) == 1 and result.record.evaluations == result.history[0].evaluations
    np.testing.assert_array_equal(result.image, watcher.iterations[0].rgb())


def test_an_observer_is_closed_when_the_run_ends_by_an_exception(small_images):
    class Boom(Observer):
        def iterated(self, iteration):
            raise RuntimeError("boom")

    watcher = Recorder()
    with pytest.raises(RuntimeError, match="boom"):
        stylize(small_images["content"], [small_images["style"]], TransferSettings(**TINY), progress=False,
                observers=[watcher, Boom()])
    assert watcher.calls[-1] == "closed"


def test_the_progress_bar_total_is_what_the_run_really_does(small_images):
    """L-BFGS makes more evaluations than iterations x budget; the bar never passes 100 % and ends exact."""

    class BarWatcher(Observer):
        def __init__(self, bar):
            self.bar, self.seen = bar, []

        def evaluated(self, evaluation):
            self.seen.append((self.bar.bar.n, self.bar.bar.total))

        def finished(self, result):
            self.seen.append((self.bar.bar.n, self.bar.bar.total))

    bar = ProgressBar(file=io.StringIO())
    watcher = BarWatcher(bar)
    settings = TransferSettings(**{**TINY, "iterations": 3, "evals_per_iteration": 10})
    result = stylize(small_images["content"], [small_images["style"]], settings, progress=False,
                     observers=[bar, watcher])
    made = result.record.evaluations
    assert made > settings.planned_evaluations()  # the line search's extra evaluations
    assert all(n <= total for n, total in watcher.seen)
    assert watcher.seen[-1] == (made, made)
    assert "100%" in bar.file.getvalue().splitlines()[-1] or "100%" in bar.file.getvalue()


def test_stage_balance_weighs_a_larger_stage_as_the_first(small_images):
    """Content and TV sums grow with the pixels while the style loss does not: balanced, a stage of 4x
    the pixels starts with the content term it ended the first stage with, not 4x it."""
    first_evaluations = {}
    for balance in (False, True):
        watcher = Recorder()
        stylize(small_images["content"], [small_images["style"]],
                TransferSettings(**{**TINY, "size": 128}, scales=[64], stage_balance=balance),
                progress=False, observers=[watcher])
        last_small = [e for e in watcher.evaluations if e.stage == 0][-1].losses
        first_large = next(e for e in watcher.evaluations if e.stage == 1).losses
        first_evaluations[balance] = (last_small, first_large)
    (small_off, large_off), (small_on, large_on) = first_evaluations[False], first_evaluations[True]
    assert small_on == small_off  # the first stage is the same run either way
    for term, factor in (("content", 0.25), ("tv", 0.25), ("style", 1.0)):
        assert large_on[term] == pytest.approx(factor * large_off[term], rel=1e-4), term
    assert large_off["content"] > 3 * small_off["content"]
    assert 0.5 < large_on["content"] / small_on["content"] < 2
