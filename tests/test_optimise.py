"""The optimisation loops on a NumPy objective whose minimum is known."""

import numpy as np
import pytest

from nst.loss_values import Losses
from nst.optimise import lbfgs

TARGET = np.random.default_rng(0).uniform(-100, 100, (1, 32, 48, 3))


def quadratic(points):
    """sum((x - TARGET)^2) with its gradient; records every point it is evaluated at."""

    def evaluate(x):
        points.append(np.array(x, np.float64))
        diff = x.astype(np.float64) - TARGET
        value = float((diff**2).sum())
        return Losses(value, {"quadratic": value}), (2 * diff).astype(np.float32)

    return evaluate


def test_lbfgs_finds_the_minimum():
    x = lbfgs(quadratic([]), np.zeros_like(TARGET, np.float32), iterations=3, evals_per_iteration=20)
    np.testing.assert_allclose(x, TARGET, atol=1e-2)


@pytest.mark.parametrize("first_step", [0.5, 4.0])
def test_first_step_moves_each_pixel_by_that_many_grey_levels(first_step):
    points = []
    lbfgs(quadratic(points), np.zeros_like(TARGET, np.float32), iterations=1, evals_per_iteration=3, first_step=first_step)
    rms = float(np.sqrt(np.mean((points[1] - points[0]) ** 2)))
    assert rms == pytest.approx(first_step, rel=1e-3)


def test_without_first_step_scipy_takes_a_unit_length_step():
    points = []
    lbfgs(quadratic(points), np.zeros_like(TARGET, np.float32), iterations=1, evals_per_iteration=3)
    assert float(np.linalg.norm(points[1] - points[0])) == pytest.approx(1.0, rel=1e-3)


def test_first_step_reaches_a_lower_loss_in_few_evaluations():
    found = {}
    for step in (0.0, 10.0):
        x = lbfgs(quadratic([]), np.zeros_like(TARGET, np.float32), iterations=1, evals_per_iteration=4, first_step=step)
        found[step] = float(((x - TARGET) ** 2).sum())
    assert found[10.0] < 0.5 * found[0.0]


def test_bounds_keep_every_evaluated_point_inside():
    points = []
    lower, upper = np.full(3, -20.0), np.full(3, 30.0)  # per channel, broadcast to the image
    x = lbfgs(quadratic(points), np.zeros_like(TARGET, np.float32), iterations=2, evals_per_iteration=15,
              bounds=(lower, upper), first_step=1.0)
    assert all(p.min() >= -20 - 1e-9 and p.max() <= 30 + 1e-9 for p in points)
    np.testing.assert_allclose(x, np.clip(TARGET, -20, 30), atol=1e-2)


SCALES = np.geomspace(1, 1000, TARGET.size).reshape(TARGET.shape)


def ill_conditioned(x):
    """sum(s * (x - TARGET)^2) with s from 1 to 1000: L-BFGS needs its memory here."""
    diff = x.astype(np.float64) - TARGET
    value = float((SCALES * diff**2).sum())
    return Losses(value, {"quadratic": value}), (2 * SCALES * diff).astype(np.float32)


def test_one_run_reports_every_iteration_at_its_evaluation_mark():
    seen = []
    lbfgs(ill_conditioned, np.zeros_like(TARGET, np.float32), iterations=4, evals_per_iteration=3, restarts=False,
          first_step=1.0, on_iteration=lambda result, image: seen.append((result.iteration, result.evaluations)))
    assert [k for k, _ in seen] == [0, 1, 2, 3]
    assert all(evaluations >= 3 * (k + 1) for k, evaluations in seen)


def test_one_run_keeps_its_memory_and_beats_restarts_on_an_ill_conditioned_problem():
    found = {}
    for restarts in (True, False):
        x = lbfgs(ill_conditioned, np.zeros_like(TARGET, np.float32), iterations=6, evals_per_iteration=8,
                  restarts=restarts, first_step=1.0)
        found[restarts] = ill_conditioned(x)[0].total
    assert found[False] < 0.5 * found[True]
