"""L-BFGS with float32 state and box bounds by projection, for images too big for scipy's.

scipy's L-BFGS-B keeps (2m + 5) float64 vectors and widens every gradient to float64: at
4096 px with m = 10 that is 6.7 GiB before the network runs. This one keeps its m pairs
(s, y) in float32 ring buffers, 2m + 5 vectors of 4 bytes in all (nst.estimate.lbfgs32_bytes):
steps, differences and products are made chunk by chunk, never as image-sized temporaries.
It evaluates the image as it is.

The method (Nocedal & Wright, *Numerical Optimization*, 2nd ed.): the search direction is
-H g from the two-loop recursion (Algorithm 7.4) with H0 = (s·y / y·y) I; bounds by
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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ARMIJO = 1e-4
CURVATURE = 0.9  # the weak Wolfe condition's c2, scipy's value
GROWTH = (2.0, 10.0)  # how much longer the next trial of a step still too short may be
CHUNK = 1 << 16
# scipy's stopping rules (fmin_l_bfgs_b's factr=1e7 and pgtol=1e-5), so a converged run ends alike
RELATIVE_DECREASE = 1e7 * np.finfo(float).eps
PROJECTED_GRADIENT = 1e-5


def chunks(size: int):
    return (slice(i, i + CHUNK) for i in range(0, size, CHUNK))


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """a·b of two float32 arrays of one shape, summed in float64 chunk by chunk."""
    a, b = a.ravel(), b.ravel()
    return float(sum(float(np.dot(a[c], b[c]).astype(np.float64)) for c in chunks(a.size)))


def dot_of_difference(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """a·(b - c) without an image-sized difference: (b - c) chunk by chunk, as float32."""
    a, b, c = a.ravel(), b.ravel(), c.ravel()
    return float(sum(float(np.dot(a[k], b[k] - c[k]).astype(np.float64)) for k in chunks(a.size)))


def add_scaled(out: np.ndarray, scale: float, v: np.ndarray) -> None:
    """out += scale * v in place, without an image-sized product (each value as the whole-array form)."""
    out, v, scale = out.reshape(-1), v.reshape(-1), np.float32(scale)
    for c in chunks(out.size):
        out[c] += scale * v[c]


@dataclass
class Memory:
    """The last m pairs s = x_{k+1} - x_k, y = g_{k+1} - g_k, oldest first (a ring buffer)."""

    s: np.ndarray  # (m, *shape) float32
    y: np.ndarray
    rho: np.ndarray  # (m,) float64, 1 / s·y
    count: int = 0  # pairs held
    newest: int = -1  # row of the newest pair

    @classmethod
    def empty(cls, m: int, shape: tuple) -> "Memory":
        return cls(np.zeros((m, *shape), np.float32), np.zeros((m, *shape), np.float32), np.zeros(m))

    def rows(self) -> list[int]:
        m = len(self.rho)
        return [(self.newest - self.count + 1 + k) % m for k in range(self.count)]

    def add(self, x_new: np.ndarray, x_old: np.ndarray, g_new: np.ndarray, g_old: np.ndarray, sy: float) -> None:
        """Adds s = x_new - x_old and y = g_new - g_old, written straight into the oldest row."""
        self.newest = (self.newest + 1) % len(self.rho)
        np.subtract(x_new, x_old, out=self.s[self.newest])
        np.subtract(g_new, g_old, out=self.y[self.newest])
        self.rho[self.newest] = 1.0 / sy
        self.count = min(self.count + 1, len(self.rho))

    def clear(self) -> None:
        self.count, self.newest = 0, -1

    def times(self, q: np.ndarray) -> np.ndarray:
        """H q by the two-loop recursion, in place (q becomes H q); H0 scaled by the newest pair's
        s·y / y·y."""
        rows = self.rows()
        alphas = {}
        for row in reversed(rows):
            alphas[row] = self.rho[row] * dot(self.s[row], q)
            add_scaled(q, -alphas[row], self.y[row])
        if rows:
            newest = self.y[self.newest]
            q *= np.float32(1.0 / (self.rho[self.newest] * dot(newest, newest)))
        for row in rows:
            beta = self.rho[row] * dot(self.y[row], q)
            add_scaled(q, alphas[row] - beta, self.s[row])
        return q

    def arrays(self) -> dict:
        """The buffers' rows in use, as views (no copy of 2m image-sized vectors): save them before the
        next step changes them."""
        return {"s": self.s[:self.count], "y": self.y[:self.count], "rho": self.rho[:self.count].copy(),
                "newest": self.newest}

    @classmethod
    def from_arrays(cls, m: int, shape: tuple, s: np.ndarray, y: np.ndarray, rho: np.ndarray, newest: int
                    ) -> "Memory":
        memory = cls.empty(m, shape)
        k = len(rho)
        memory.s[:k], memory.y[:k], memory.rho[:k] = s, y, rho
        memory.count, memory.newest = k, int(newest)
        return memory


def held(x: np.ndarray, g: np.ndarray, lower, upper) -> np.ndarray | None:
    """Which values sit at a bound with the gradient pushing them out (None without bounds)."""
    if lower is None:
        return None
    return ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))


def curvature(x_new, x_old, g_new, g_old) -> tuple[float, float, float]:
    """s·y, s·s and y·y of a step (s = x_new - x_old, y = g_new - g_old), chunk by chunk."""
    sums = np.zeros(3)
    x_new, x_old, g_new, g_old = (a.ravel() for a in (x_new, x_old, g_new, g_old))
    for c in chunks(x_new.size):
        s, y = x_new[c] - x_old[c], g_new[c] - g_old[c]
        sums += [np.dot(s, y), np.dot(s, s), np.dot(y, y)]
    return float(sums[0]), float(sums[1]), float(sums[2])


def largest_free(x: np.ndarray, g: np.ndarray, lower, upper) -> float:
    """The largest |g| over the values not held at a bound (the projected gradient's sup norm),
    a block of rows at a time (the bounds broadcast along x's last axis, as views)."""
    last = x.shape[-1] if x.ndim else 1
    x, g = x.reshape(-1, last), g.reshape(-1, last)
    if lower is not None:
        lower, upper = (np.broadcast_to(b, x.shape) for b in (lower, upper))
    rows = max(1, CHUNK // last)
    largest = 0.0
    for r in range(0, len(x), rows):
        block = slice(r, r + rows)
        keep = None if lower is None else held(x[block], g[block], lower[block], upper[block])
        part = np.abs(g[block]) if keep is None else np.abs(np.where(keep, 0, g[block]))
        largest = max(largest, float(part.max()))
    return largest


class LBFGS32:
    """One L-BFGS run over a float32 array; `step` takes one accepted step.

    `evaluate(x) -> (f, g, extra)` with g a float32 array of x's shape; `extra` (the loss parts)
    is kept beside the point it belongs to. `lower`/`upper`: bounds broadcast to x, or None.
    """

    def __init__(self, evaluate, x: np.ndarray, history: int, lower=None, upper=None, first_step: float = 0.0):
        self.evaluate, self.history = evaluate, history
        self.lower, self.upper = lower, upper
        self.first_step = first_step
        self.x = self.project(np.array(x, np.float32))
        self.memory = Memory.empty(history, self.x.shape)
        self.f = self.g = self.extra = None
        self.converged = False
        self.last_step = 0.0  # the length of the last step taken

    def project(self, x: np.ndarray) -> np.ndarray:
        if self.lower is not None:
            np.clip(x, self.lower, self.upper, out=x)
        return x

    def _evaluate(self, x):
        f, g, extra = self.evaluate(x)
        return float(f), np.asarray(g, np.float32).reshape(x.shape), extra

    def start(self) -> None:
        """Evaluates the starting point (one evaluation)."""
        self.f, self.g, self.extra = self._evaluate(self.x)

    def direction(self) -> tuple[np.ndarray, float]:
        """-H g over the free values, and its slope g·d; steepest descent when that is no descent.
        One image-sized vector is made (d); the slope needs no masked copy of g, as d is 0 where held."""
        keep = held(self.x, self.g, self.lower, self.upper)
        d = self.g.copy()
        if keep is not None:
            d[keep] = 0
        np.negative(self.memory.times(d), out=d)
        if keep is not None:
            d[keep] = 0
        slope = dot(self.g, d)
        if slope >= 0 or not np.isfinite(slope):
            self.memory.clear()
            np.negative(self.g, out=d)
            if keep is not None:
                d[keep] = 0
            slope = -dot(d, d)
        return d, slope

    def trial_point(self, t: float, d: np.ndarray) -> np.ndarray:
        """x + t d clipped to the bounds, made chunk by chunk (no image-sized t d)."""
        trial = self.x.copy()
        add_scaled(trial, t, d)
        return self.project(trial)

    def step(self, budget: int) -> bool:
        """Takes one step within `budget` evaluations; False when it could not (budget spent
        before the line search found a lower point, or the run has converged)."""
        if self.converged or budget <= 0:
            return False
        d, slope = self.direction()
        if slope == 0:
            self.converged = True
            return False
        if self.memory.count:
            t = 1.0
        elif self.first_step > 0:  # the first step moves a value by first_step, RMS
            t = self.first_step * np.sqrt(d.size / dot(d, d))
        elif self.last_step:  # memory cleared (a restart): as long as the last step taken
            t = self.last_step / np.sqrt(dot(d, d))
        else:  # scipy's: unit length
            t = 1.0 / np.sqrt(dot(d, d))
        # the longest step so far with a sufficient decrease: (t, point, f, g, extra); a step's change
        # (trial - x) is never kept whole, only its dot products
        longest = None
        too_long = None
        for _ in range(budget):
            trial = self.trial_point(t, d)
            f, g, extra = self._evaluate(trial)
            decrease = dot_of_difference(self.g, trial, self.x)
            if f > self.f + ARMIJO * decrease:  # too long: shrink, by interpolation or into the bracket
                too_long = t
                if longest is None:  # minimiser of the quadratic through f(0), its slope and f(t)
                    curve = f - self.f - decrease
                    t = min(max(-decrease * t / (2 * curve) if curve > 0 else 0.5 * t, 0.1 * t), 0.5 * t)
                else:
                    t = (longest[0] + too_long) / 2
                continue
            slope_here = dot_of_difference(g, trial, self.x)
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
        sy, ss, yy = curvature(x, self.x, g, self.g)
        self.last_step = np.sqrt(ss)
        if sy > np.finfo(np.float32).eps * yy:
            self.memory.add(x, self.x, g, self.g, sy)
        f_old = self.f
        self.x, self.f, self.g, self.extra = x, f, g, extra
        projected = largest_free(x, g, self.lower, self.upper)
        if (f_old - f) <= RELATIVE_DECREASE * max(abs(f_old), abs(f), 1.0) or projected <= PROJECTED_GRADIENT:
            self.converged = True

    def state(self) -> dict:
        """Everything that continues this run exactly. x and g are replaced, never changed, by later
        steps; the memory's arrays are views (Memory.arrays)."""
        return {"x": self.x, "f": self.f, "g": self.g, "converged": self.converged, "last_step": self.last_step,
                **self.memory.arrays()}

    def restore(self, state: dict) -> None:
        self.x = np.asarray(state["x"], np.float32).reshape(self.x.shape)
        self.g = np.asarray(state["g"], np.float32).reshape(self.x.shape)
        self.f, self.converged = float(state["f"]), bool(state["converged"])
        self.last_step = float(state["last_step"])
        self.memory = Memory.from_arrays(self.history, self.x.shape, state["s"], state["y"], state["rho"],
                                         state["newest"])
