"""L-BFGS with float32 state and box bounds by projection, for images too big for scipy's.

scipy's L-BFGS-B keeps (2m + 5) float64 vectors and widens every gradient to float64: at
4096 px with m = 10 that is 6.7 GiB before the network runs. This one keeps its m pairs
(s, y) in float32 ring buffers, 2m + 5 vectors of 4 bytes in all (nst.estimate.lbfgs32_bytes):
steps, differences and products are made chunk by chunk, never as image-sized temporaries.
It evaluates the image as it is. A gradient with NaN or Inf raises NonFiniteGradient: the line
search's product g·s shows it, with no further wait for the device.

The method (Nocedal & Wright, *Numerical Optimization*, 2nd ed.): the search direction is
-H g, H in the compact form (class Memory) with H0 = (s·y / y·y) I; bounds by
projection: values at a bound whose gradient pushes outwards are held (their gradient and
direction zeroed), and each trial point is the search direction's point clipped to the box;
a line search on the projected path for a step that meets the weak Wolfe conditions
(c1 = 1e-4, c2 = 0.9): shrunk by safeguarded quadratic interpolation where the decrease is too
small (§3.5), grown 2 to 10 times towards where the secant of the slope reaches zero while the
slope is still steep, bisected once bracketed; where the budget ends first, the longest step with
enough decrease is taken. After a restart the first step is as long as the last one taken. A
pair whose curvature s·y is not positive is skipped, so H stays positive definite. Dot products are summed in
float64 over float32 chunks, so they do not lose digits at 50 million values.

Its whole state (point, gradient, value, memory, count) is plain arrays, so a checkpoint
continues a run bit for bit, even one long run that keeps its memory.

Written once over the optimiser's arrays (nst/backends/vectors.py): NumPy on the host, or tensors
on the PyTorch backend's device, where the whole run then stays.
"""

from __future__ import annotations

import numpy as np

from .backends.vectors import NumpyVectors

ARMIJO = 1e-4
CURVATURE = 0.9  # the weak Wolfe condition's c2, scipy's value
GROWTH = (2.0, 10.0)  # how much longer the next trial of a step still too short may be
# scipy's stopping rules (fmin_l_bfgs_b's factr=1e7 and pgtol=1e-5), so a converged run ends alike
RELATIVE_DECREASE = 1e7 * np.finfo(float).eps
PROJECTED_GRADIENT = 1e-5

HOST = NumpyVectors()


class NonFiniteGradient(ArithmeticError):
    """An evaluation's gradient holds NaN or Inf: the run has diverged."""


class Memory:
    """The last m pairs s = x_{k+1} - x_k, y = g_{k+1} - g_k in a ring buffer, and their products
    s_i·y_j and y_i·y_j (m x m, float64, oldest first) for the compact form of H.

    The two-loop recursion (Nocedal & Wright, Algorithm 7.4) makes H q in 4m + 1 vector operations, each
    a kernel launched from the host on a GPU; the compact form (Byrd, Nocedal & Schnabel, "Representations
    of quasi-Newton matrices and their use in limited memory methods", Math. Program. 63, 1994; L-BFGS-B
    is built on it) makes the same H q in two matrix-vector products over the stacked pairs and a little
    m x m algebra, whatever m is:

        H = g0 I + [S  g0 Y] [[R^-T (D + g0 Y'Y) R^-1, -R^-T], [-R^-1, 0]] [S'; g0 Y']

    with R the upper triangle of S'Y (oldest first), D its diagonal and g0 = s·y / y·y of the newest
    pair. Each new pair adds one column of products, made as it is added.
    """

    def __init__(self, m: int, shape: tuple, vectors=HOST):
        self.m, self.vectors = m, vectors
        self.pairs = vectors.zeros((2 * m, *shape))  # s rows, then y rows: one product covers both
        self.s, self.y = self.pairs[:m], self.pairs[m:]
        # [0, i, j] = s_i·y_j for i <= j, [1, i, j] = y_i·y_j, oldest first (one array: one transfer)
        self.products = vectors.small_zeros((2, m, m))
        self.count = 0  # pairs held
        self.newest = -1  # ring row of the newest pair

    def _oldest_first(self, by_row):
        """Vectors over the ring's rows (the last axis) -> over the pairs held, oldest first."""
        if self.count < self.m:  # not yet wrapped: rows 0 .. count-1 in order
            return by_row[..., :self.count]
        return self.vectors.roll(by_row, -(self.newest + 1), -1)

    def _by_row(self, oldest_first, out) -> None:
        """`_oldest_first` undone, written into `out` (a vector over the ring's rows)."""
        if self.count < self.m:
            out[:self.count] = oldest_first
        else:
            out[:] = self.vectors.roll(oldest_first, self.newest + 1)

    def add(self, x_new, x_old, g_new, g_old) -> None:
        """Adds s = x_new - x_old and y = g_new - g_old, written straight into the oldest row, and
        their products with the pairs held (one matrix-vector product)."""
        v = self.vectors
        if self.count == self.m:  # the oldest pair leaves: its products too
            self.products = v.roll(self.products, (-1, -1), (1, 2))
        self.newest = (self.newest + 1) % self.m
        v.subtract_into(self.s[self.newest], x_new, x_old)
        v.subtract_into(self.y[self.newest], g_new, g_old)
        self.count = min(self.count + 1, self.m)
        self._add_products(self.count - 1)

    def _add_products(self, k: int) -> None:
        """Column k (oldest first) of S'Y's upper triangle and of Y'Y, from pair k's y."""
        products = self.vectors.rows_dot(self.pairs, self.y[(self.newest - (self.count - 1 - k)) % self.m])
        with_s, with_y = self._oldest_first(products.reshape(2, self.m))
        self.products[0, :k + 1, k] = with_s[:k + 1]
        self.products[1, :k + 1, k] = with_y[:k + 1]
        self.products[1, k, :k + 1] = with_y[:k + 1]

    def clear(self) -> None:
        self.count, self.newest = 0, -1

    def times(self, q):
        """H q, in place (q becomes H q); H0 = g0 I, g0 = s·y / y·y of the newest pair."""
        k = self.count
        if not k:
            return q
        v, m = self.vectors, self.m
        sq, yq = self._oldest_first(v.rows_dot(self.pairs, q).reshape(2, m))
        upper, yy = self.products[0, :k, :k], self.products[1, :k, :k]
        diagonal = upper.diagonal()
        g0 = diagonal[k - 1] / yy[k - 1, k - 1]
        p = v.solve_upper(upper, sq)
        top = v.solve_upper(upper, diagonal * p + g0 * (yy @ p - yq), transpose=True)
        coefficients = v.small_zeros((2 * m,))  # rows not held get 0
        self._by_row(top, coefficients[:m])
        self._by_row(-g0 * p, coefficients[m:])
        v.add_rows_into(q, g0, self.pairs, coefficients)
        return q

    def arrays(self) -> dict:
        """The buffers' rows in use (views on the host: no copy of 2m image-sized vectors; save them
        before the next step changes them) and their products."""
        k, to_host = self.count, self.vectors.to_host
        sy, yy = self.vectors.small_to_host(self.products[:, :k, :k])
        return {"s": to_host(self.s[:k]), "y": to_host(self.y[:k]), "newest": self.newest, "sy": sy, "yy": yy}

    @classmethod
    def from_arrays(cls, m: int, shape: tuple, s, y, newest: int, vectors=HOST, sy=None, yy=None) -> "Memory":
        """A memory as `arrays` left it; one saved without its products (a checkpoint from before the
        compact form) has them made again from its pairs."""
        memory = cls(m, shape, vectors)
        k = len(s)
        memory.s[:k], memory.y[:k] = vectors.from_host(s), vectors.from_host(y)
        memory.count, memory.newest = k, int(newest)
        if sy is not None and yy is not None:
            memory.products[:, :k, :k] = vectors.small_from_host(np.stack([sy, yy]))
        else:
            for column in range(k):
                memory._add_products(column)
        return memory


class LBFGS32:
    """One L-BFGS run over a float32 array; `step` takes one accepted step.

    `evaluate(x) -> (f, g, extra)` with g a float32 array of x's shape and kind; `extra` (the loss
    parts) is kept beside the point it belongs to. `lower`/`upper`: bounds broadcast to x, or None.
    `vectors`: the arrays' kind (nst/backends/vectors.py), NumPy's by default.
    """

    def __init__(self, evaluate, x, history: int, lower=None, upper=None, first_step: float = 0.0, vectors=HOST):
        self.evaluate, self.history, self.v = evaluate, history, vectors
        self.lower = None if lower is None else vectors.from_host(lower)
        self.upper = None if upper is None else vectors.from_host(upper)
        self.first_step = first_step
        self.x = self.project(vectors.copy(x))
        self.memory = Memory(history, tuple(self.x.shape), vectors)
        self.f = self.g = self.extra = None
        self.converged = False
        self.last_step = 0.0  # the length of the last step taken

    def project(self, x):
        return self.v.project(x, self.lower, self.upper)

    def _evaluate(self, x):
        f, g, extra = self.evaluate(x)
        return float(f), self.v.from_host(g).reshape(x.shape), extra

    def start(self) -> None:
        """Evaluates the starting point (one evaluation)."""
        self.f, self.g, self.extra = self._evaluate(self.x)
        if not self.v.is_finite(self.g):
            raise NonFiniteGradient()

    def direction(self):
        """-H g over the free values, and its slope g·d; steepest descent when that is no descent.
        One image-sized vector is made (d); the slope needs no masked copy of g, as d is 0 where held."""
        v = self.v
        keep = v.held(self.x, self.g, self.lower, self.upper)
        d = v.copy(self.g)
        v.zero_where(d, keep)
        v.negate_into(d, self.memory.times(d))
        v.zero_where(d, keep)
        slope = v.dot(self.g, d)
        if slope >= 0 or not np.isfinite(slope):
            self.memory.clear()
            v.negate_into(d, self.g)
            v.zero_where(d, keep)
            slope = -v.dot(d, d)
        return d, slope

    def trial_point(self, t: float, d):
        """x + t d clipped to the bounds, made chunk by chunk (no image-sized t d)."""
        trial = self.v.copy(self.x)
        self.v.add_scaled(trial, t, d)
        return self.project(trial)

    def step(self, budget: int) -> bool:
        """Takes one step within `budget` evaluations; False when it could not (budget spent
        before the line search found a lower point, or the run has converged)."""
        if self.converged or budget <= 0:
            return False
        v = self.v
        d, slope = self.direction()
        if slope == 0:
            self.converged = True
            return False
        size = int(np.prod(d.shape))
        if self.memory.count:
            t = 1.0
        elif self.first_step > 0:  # the first step moves a value by first_step, RMS
            t = self.first_step * np.sqrt(size / v.dot(d, d))
        elif self.last_step:  # memory cleared (a restart): as long as the last step taken
            t = self.last_step / np.sqrt(v.dot(d, d))
        else:  # scipy's: unit length
            t = 1.0 / np.sqrt(v.dot(d, d))
        # the longest step so far with a sufficient decrease: (t, point, f, g, extra); a step's change
        # (trial - x) is never kept whole, only its dot products
        longest = None
        too_long = None
        for _ in range(budget):
            trial = self.trial_point(t, d)
            f, g, extra = self._evaluate(trial)
            # the slope at the trial point is needed only after a sufficient decrease, but both products
            # cross to the host in one wait: on a GPU a wait costs more than a product
            decrease, slope_here = v.slopes_of_step(trial, self.x, self.g, g)
            if not np.isfinite(slope_here):  # g·s, s finite and not 0: finite exactly when g is
                raise NonFiniteGradient()
            if f > self.f + ARMIJO * decrease:  # too long: shrink, by interpolation or into the bracket
                too_long = t
                if longest is None:  # minimiser of the quadratic through f(0), its slope and f(t)
                    curve = f - self.f - decrease
                    t = min(max(-decrease * t / (2 * curve) if curve > 0 else 0.5 * t, 0.1 * t), 0.5 * t)
                else:
                    t = (longest[0] + too_long) / 2
                continue
            if slope_here >= CURVATURE * decrease:  # the slope has flattened enough: a Wolfe step
                self._accept(trial, f, g, extra)
                return True
            longest = (t, trial, f, g, extra)
            if too_long is None:  # still steep: where the slope would reach 0 (secant), 2x to 10x as far
                growth = decrease / (decrease - slope_here) if slope_here > decrease else GROWTH[1]
                t *= min(max(growth, GROWTH[0]), GROWTH[1])
            else:
                t = (t + too_long) / 2
        if longest is not None:
            self._accept(*longest[1:])
            return True
        return False

    def _accept(self, x, f, g, extra) -> None:
        sy, ss, yy, projected = self.v.step_numbers(x, self.x, g, self.g, self.lower, self.upper)
        self.last_step = np.sqrt(ss)
        if sy > np.finfo(np.float32).eps * yy:
            self.memory.add(x, self.x, g, self.g)
        f_old = self.f
        self.x, self.f, self.g, self.extra = x, f, g, extra
        if (f_old - f) <= RELATIVE_DECREASE * max(abs(f_old), abs(f), 1.0) or projected <= PROJECTED_GRADIENT:
            self.converged = True

    def state(self) -> dict:
        """Everything that continues this run exactly, on the host. On the host x and g are replaced,
        never changed, by later steps, and the memory's arrays are views (Memory.arrays)."""
        to_host = self.v.to_host
        return {"x": to_host(self.x), "f": self.f, "g": to_host(self.g), "converged": self.converged,
                "last_step": self.last_step, **self.memory.arrays()}

    def restore(self, state: dict) -> None:
        shape = tuple(self.x.shape)
        self.x = self.v.from_host(np.asarray(state["x"], np.float32).reshape(shape))
        self.g = self.v.from_host(np.asarray(state["g"], np.float32).reshape(shape))
        self.f, self.converged = float(state["f"]), bool(state["converged"])
        self.last_step = float(state["last_step"])
        self.memory = Memory.from_arrays(self.history, shape, state["s"], state["y"], state["newest"], self.v,
                                         state.get("sy"), state.get("yy"))
