"""Optimisation loops over the image: the article's restarted L-BFGS, one long L-BFGS, and Adam.

An *iteration* is what the article called one: one `fmin_l_bfgs_b` call limited to
`maxfun` evaluations (or that many Adam steps). After each, `on_iteration` receives the
losses, the image and the loop's `state`: everything needed to go on from there, so a
checkpoint can resume the loop exactly (`resume=state`).

A non-finite loss stops the loop and raises `DivergedError` carrying the last good image
(for L-BFGS the end of the last finished iteration, for Adam the last image with a finite
loss); the run loop saves it and tells the user.

The images, gradients and states are the optimiser's arrays (`vectors`, nst/backends/vectors.py):
NumPy on the host, or tensors on the PyTorch backend's device, where the float32 L-BFGS and Adam
then keep everything. scipy's L-BFGS-B keeps its float64 state on the host, as the article's did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.optimize import minimize

from .backends.vectors import NumpyVectors
from .errors import DivergedError
from .loss_values import Losses

Evaluate = Callable[[object], tuple[Losses, object]]
HOST = NumpyVectors()


@dataclass(frozen=True)
class IterationResult:
    iteration: int  # 0-based, within the stage
    losses: Losses
    evaluations: int  # within the stage, so far
    state: dict = field(default_factory=dict)  # numbers and arrays that resume the loop after this iteration


class _Counter:
    """Wraps the objective: counts evaluations, reports each, and stops on NaN/Inf."""

    def __init__(self, evaluate: Evaluate, shape, on_evaluation, count: int = 0, vectors=HOST, check_gradient=True):
        self.evaluate = evaluate
        self.check_gradient = check_gradient  # False where the optimiser sees a non-finite gradient itself
        self.shape = tuple(shape)
        self.on_evaluation = on_evaluation
        self.count = count
        self.vectors = vectors
        self.seen: list[tuple[float, Losses]] = []

    def __call__(self, x) -> tuple[Losses, object]:
        if isinstance(x, np.ndarray):
            x = x.reshape(self.shape).astype(np.float32, copy=False)
        parts, grad = self.evaluate(x)
        self.count += 1
        if not (parts.finite() and (not self.check_gradient or self.vectors.is_finite(grad))):
            raise _NonFinite()
        self.seen.append((parts.total, parts))
        if self.on_evaluation:
            self.on_evaluation(parts, self.count)
        return parts, grad

    def losses_at(self, x: np.ndarray, f: float) -> Losses:
        """The losses of the point scipy accepted, whose value is `f`: evaluated lately, or now."""
        parts = next((p for value, p in reversed(self.seen) if value == f), None)
        return parts if parts is not None else self(x)[0]


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
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    restarts: bool = True,
    resume: dict | None = None,
    state: str = "float64",
    vectors=HOST,
):
    """The article's loop: `fmin_l_bfgs_b(maxfun=evals_per_iteration)`, restarted `iterations` times.
    `state="float32"`: the same loops with nst's float32 L-BFGS (`_lbfgs32`).

    scipy's first step of each call has unit length in pixel space: at 512² x 3 values that
    changes a pixel by ~0.001 grey levels, and the line search spends evaluations growing
    it. `first_step` > 0 optimises `x / scale` instead, with `scale` chosen so that first
    step changes a pixel by `first_step` grey levels (RMS). L-BFGS is invariant to such a
    scaling from its second step on, so only the wasted start changes.

    `bounds` (lower, upper), broadcast to the image's shape, keep every pixel where saving
    it loses nothing (L-BFGS-B projects its steps). `restarts=False` runs one L-BFGS of
    `iterations x evals_per_iteration` evaluations that keeps its memory throughout; an
    iteration then only marks where a frame and a history row are taken (each time the
    evaluations pass a multiple of `evals_per_iteration`).

    With restarts an iteration's state is the point it ended at (float64, in the scaled
    space), so `resume` continues bit for bit. scipy keeps a single run's memory to itself:
    resuming one restarts L-BFGS from the saved point, with the remaining budget.
    """
    if state == "float32":
        return _lbfgs32(evaluate, x0, iterations, evals_per_iteration, history, on_iteration, on_evaluation,
                        first_step, bounds, restarts, resume, vectors)
    x0 = vectors.to_host(x0)
    shape = x0.shape
    counter = _Counter(evaluate, shape, on_evaluation, resume["count"] if resume else 0, vectors)
    scale = first_step * np.sqrt(x0.size) if first_step > 0 else 1.0

    def scipy_objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        parts, grad = counter(z * scale)
        return parts.total, vectors.to_host(grad).ravel().astype(np.float64) * scale

    def image(z: np.ndarray) -> np.ndarray:
        return (z * scale).reshape(shape).astype(np.float32)

    def report(iteration: int, parts: Losses, z: np.ndarray) -> None:
        if on_iteration:
            state = {"iteration": iteration, "count": counter.count, "z": np.array(z, np.float64), "x": image(z)}
            on_iteration(IterationResult(iteration, parts, counter.count, state), image(z))

    box = None
    if bounds is not None:  # a Bounds of two arrays: scipy turns a list of per-pixel pairs into one in Python,
        # ~2 s per call at 512 x 288 (measured), on every restart
        from scipy.optimize import Bounds

        box = Bounds(*(np.broadcast_to(b, shape).astype(np.float64).ravel() / scale for b in bounds))
    if resume is not None:
        z, start = np.asarray(resume["z"], np.float64), resume["iteration"] + 1
    else:
        z, start = x0.astype(np.float64).ravel() / scale, 0
        if box is not None:
            z = np.clip(z, box.lb, box.ub)
    if start >= iterations:  # resumed after the stage's last iteration
        return image(z)
    if not restarts:
        return image(_one_run(scipy_objective, z, start, iterations, evals_per_iteration, history, box, counter, report,
                              image))
    for iteration in range(start, iterations):
        counter.seen = []
        try:
            found = minimize(scipy_objective, z, jac=True, method="L-BFGS-B", bounds=box,
                             options={"maxfun": evals_per_iteration, "maxcor": history})  # fmin_l_bfgs_b's defaults
            z_new, f_new = found.x, float(found.fun)
        except _NonFinite:
            raise DivergedError(image(z), iteration, counter.count) from None
        parts = counter.losses_at(z_new * scale, f_new)
        z = z_new
        report(iteration, parts, z)
    return image(z)


def _one_run(scipy_objective, z, start, iterations, evals_per_iteration, history, box, counter, report, image):
    """One L-BFGS-B over the (remaining) budget, reporting an iteration at every `evals_per_iteration` evaluations."""

    reported, last = start, z
    first_count = counter.count - start * evals_per_iteration  # where the budget's count began

    def callback(intermediate_result):
        nonlocal reported, last
        z_now = intermediate_result.x
        while reported < iterations and counter.count - first_count >= (reported + 1) * evals_per_iteration:
            report(reported, counter.losses_at(z_now, intermediate_result.fun), z_now)
            reported += 1
            last = z_now.copy()
        counter.seen = counter.seen[-50:]

    try:
        result = minimize(scipy_objective, z, jac=True, method="L-BFGS-B", bounds=box, callback=callback,
                          options={"maxfun": (iterations - start) * evals_per_iteration, "maxcor": history})
    except _NonFinite:
        raise DivergedError(image(last), reported, counter.count) from None
    while reported < iterations:  # converged early, or the budget ended inside a line search
        report(reported, counter.losses_at(result.x, result.fun), result.x)
        reported += 1
        last = result.x
    return last  # the last iteration's image is the result, as with restarts


def _lbfgs32(evaluate, x0, iterations, evals_per_iteration, history, on_iteration, on_evaluation, first_step, bounds,
             restarts, resume, vectors=HOST):
    """`lbfgs`'s loops with the float32 L-BFGS of nst/lbfgs32.py: half the memory, no float64 copies
    of the image, and a state that holds the memory too, so one long run resumes bit for bit.

    With restarts each iteration is a fresh L-BFGS of `evals_per_iteration` evaluations (its
    first evaluation the point the last one ended at, as scipy's are); without, one L-BFGS
    reports an iteration at the first step that takes the evaluations past each multiple.
    """
    from .lbfgs32 import LBFGS32, NonFiniteGradient

    shape = x0.shape
    # the solver's own products with each gradient show a non-finite one (NonFiniteGradient), so the
    # counter does not wait for the device a second time to check it
    counter = _Counter(evaluate, shape, on_evaluation, resume["count"] if resume else 0, vectors, check_gradient=False)

    def objective(x):
        parts, grad = counter(x)
        return parts.total, grad, parts

    lower, upper = (np.asarray(b, np.float32) for b in bounds) if bounds is not None else (None, None)
    solver = LBFGS32(objective, x0, history, lower, upper, first_step, vectors)

    start, first_count = 0, counter.count
    if resume is not None:
        start, first_count = resume["iteration"] + 1, int(resume["first_count"])
        solver.restore(resume)
    last = solver.x

    def report(iteration: int) -> None:
        nonlocal last
        last = solver.x
        if on_iteration:
            state = {**solver.state(), "iteration": iteration, "count": counter.count, "first_count": first_count}
            on_iteration(IterationResult(iteration, solver.extra, counter.count, state), last)

    if start >= iterations:
        return solver.x
    reported = iteration = start
    try:
        if restarts:
            for iteration in range(start, iterations):
                solver.memory.clear()
                solver.converged = False
                begun = counter.count
                solver.start()  # each restart evaluates its start, as scipy's calls do
                while solver.step(evals_per_iteration - (counter.count - begun)):
                    pass
                solver.memory.clear()  # the next iteration starts without it: no state to copy out and save
                report(iteration)
            return solver.x
        if resume is None:
            solver.start()
        while reported < iterations:
            budget = first_count + iterations * evals_per_iteration - counter.count
            if not solver.step(budget):
                break
            while reported < iterations and counter.count - first_count >= (reported + 1) * evals_per_iteration:
                report(reported)
                reported += 1
    except (_NonFinite, NonFiniteGradient):
        raise DivergedError(last, iteration if restarts else reported, counter.count) from None
    while reported < iterations:  # converged early, or the budget ended inside a line search
        if solver.extra is None:  # resumed at a point whose losses were not kept
            solver.extra = counter(solver.x)[0]
        report(reported)
        reported += 1
    return solver.x


# Keras's Adam (its defaults), so a run from before this was written the same way resumes
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7


def adam(
    evaluate: Evaluate,
    x0,
    iterations: int,
    evals_per_iteration: int,
    learning_rate: float = 10.0,
    on_iteration: Callable[[IterationResult, object], None] | None = None,
    on_evaluation: Callable[[Losses, int], None] | None = None,
    resume: dict | None = None,
    vectors=HOST,
):
    """Adam on the pixels (Keras's formulation: the step's bias correction in its size, epsilon
    outside the root), `evals_per_iteration` steps making one iteration.

    Each iteration reports, and the run returns, the last image whose loss was evaluated,
    so every reported image has its own losses beside it. An iteration's state holds the
    image, Adam's step count and moments, so `resume` continues bit for bit.
    """
    counter = _Counter(evaluate, x0.shape, on_evaluation, resume["count"] if resume else 0, vectors)
    if resume is not None:  # [step, learning rate, first moment, second moment], as Keras kept them
        step, _, first, second = resume["adam"]
        step, first, second = int(np.asarray(step)), vectors.copy(first), vectors.copy(second)
        image, evaluated, start = vectors.copy(resume["image"]), vectors.copy(resume["x"]), resume["iteration"] + 1
    else:
        step, first, second, start = 0, vectors.zeros_like(x0), vectors.zeros_like(x0), 0
        image = evaluated = vectors.copy(x0)
    for iteration in range(start, iterations):
        parts = None
        for _ in range(evals_per_iteration):
            try:
                parts, grad = counter(image)
            except _NonFinite:
                raise DivergedError(evaluated, iteration, counter.count) from None
            evaluated = image
            step += 1
            first += (grad - first) * (1 - BETA_1)
            second += (grad * grad - second) * (1 - BETA_2)
            size = float(learning_rate * np.sqrt(1 - BETA_2**step) / (1 - BETA_1**step))  # a Python float: float32 stays
            image = image - first * size / (vectors.sqrt(second) + EPSILON)  # a new array: `evaluated` stays
        if on_iteration:
            to_host = vectors.to_host
            state = {"iteration": iteration, "count": counter.count, "image": to_host(image), "x": to_host(evaluated),
                     "adam": [np.asarray(step), np.asarray(learning_rate, np.float32), to_host(first),
                              to_host(second)]}
            on_iteration(IterationResult(iteration, parts, counter.count, state), evaluated)
    return evaluated
