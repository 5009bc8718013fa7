"""Optimisation loops over the image: the article's restarted L-BFGS, and Adam.

An *iteration* is what the article called one: one `fmin_l_bfgs_b` call limited to
`maxfun` evaluations (or that many Adam steps). After each, `on_iteration` receives the
losses and the image, which is how frames, history and progress are recorded.

A non-finite loss stops the loop and raises `DivergedError` carrying the last good image
(for L-BFGS the end of the last finished iteration, for Adam the last image with a finite
loss); the run loop saves it and tells the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import fmin_l_bfgs_b

from .errors import DivergedError
from .loss_values import Losses

Evaluate = Callable[[np.ndarray], tuple[Losses, np.ndarray]]


@dataclass(frozen=True)
class IterationResult:
    iteration: int  # 0-based, within the stage
    losses: Losses
    evaluations: int  # within the stage, so far


class _Counter:
    """Wraps the objective: counts evaluations, reports each, and stops on NaN/Inf."""

    def __init__(self, evaluate: Evaluate, shape, on_evaluation):
        self.evaluate = evaluate
        self.shape = shape
        self.on_evaluation = on_evaluation
        self.count = 0
        self.seen: list[tuple[float, Losses]] = []

    def __call__(self, x: np.ndarray) -> tuple[Losses, np.ndarray]:
        parts, grad = self.evaluate(x.reshape(self.shape).astype(np.float32, copy=False))
        self.count += 1
        if not (parts.finite() and np.isfinite(grad).all()):
            raise _NonFinite()
        self.seen.append((parts.total, parts))
        if self.on_evaluation:
            self.on_evaluation(parts, self.count)
        return parts, grad


class _NonFinite(Exception):
    pass


def lbfgs(
    evaluate: Evaluate,
    x0: np.ndarray,
    iterations: int,
    evals_per_iteration: int,
    history: int = 10,
    on_iteration: Callable[[IterationResult, np.ndarray], None] | None = None,
    on_evaluation: Callable[[Losses, int], None] | None = None,
    first_step: float = 0.0,
) -> np.ndarray:
    """The article's loop: `fmin_l_bfgs_b(maxfun=evals_per_iteration)`, restarted `iterations` times.

    scipy's first step of each call has unit length in pixel space: at 512² x 3 values that
    changes a pixel by ~0.001 grey levels, and the line search spends evaluations growing
    it. `first_step` > 0 optimises `x / scale` instead, with `scale` chosen so that first
    step changes a pixel by `first_step` grey levels (RMS). L-BFGS is invariant to such a
    scaling from its second step on, so only the wasted start changes.
    """
    shape = x0.shape
    counter = _Counter(evaluate, shape, on_evaluation)
    scale = first_step * np.sqrt(x0.size) if first_step > 0 else 1.0

    def scipy_objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        parts, grad = counter(z * scale)
        return parts.total, grad.ravel().astype(np.float64) * scale

    z = x0.astype(np.float64).ravel() / scale
    for iteration in range(iterations):
        counter.seen = []
        try:
            z_new, f_new, _info = fmin_l_bfgs_b(scipy_objective, z, maxfun=evals_per_iteration, m=history)
        except _NonFinite:
            raise DivergedError((z * scale).reshape(shape).astype(np.float32), iteration, counter.count) from None
        parts = next((p for f, p in reversed(counter.seen) if f == f_new), None)
        if parts is None:  # the accepted point was not the last one evaluated
            parts, _ = counter(z_new * scale)
        z = z_new
        if on_iteration:
            on_iteration(IterationResult(iteration, parts, counter.count), (z * scale).reshape(shape).astype(np.float32))
    return (z * scale).reshape(shape).astype(np.float32)


def adam(
    evaluate: Evaluate,
    x0: np.ndarray,
    iterations: int,
    evals_per_iteration: int,
    learning_rate: float = 10.0,
    on_iteration: Callable[[IterationResult, np.ndarray], None] | None = None,
    on_evaluation: Callable[[Losses, int], None] | None = None,
) -> np.ndarray:
    """Adam (Keras's) on the pixels: `evals_per_iteration` steps make one iteration.

    Each iteration reports, and the run returns, the last image whose loss was evaluated,
    so every reported image has its own losses beside it.
    """
    import keras

    from .quiet import tf  # before keras, which imports TensorFlow

    shape = x0.shape
    counter = _Counter(evaluate, shape, on_evaluation)
    image = tf.Variable(x0.astype(np.float32))
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    evaluated = x0.astype(np.float32)
    for iteration in range(iterations):
        parts = None
        for _ in range(evals_per_iteration):
            current = image.numpy()
            try:
                parts, grad = counter(current)
            except _NonFinite:
                raise DivergedError(evaluated, iteration, counter.count) from None
            evaluated = current
            optimizer.apply_gradients([(tf.constant(grad), image)])
        if on_iteration:
            on_iteration(IterationResult(iteration, parts, counter.count), evaluated)
    return evaluated
