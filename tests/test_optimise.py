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
