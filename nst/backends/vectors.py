"""The optimiser's arrays: where an image, its gradient and the optimiser's state live between evaluations.

`NumpyVectors` keeps them on the host (TensorFlow's backend, whose CPU tensors share memory with
NumPy); `TorchVectors` keeps them as float32 tensors on the backend's device, so on a GPU the
image, the gradient and the float32 L-BFGS's memory never cross to the host during a stage. The
optimisers (nst/optimise.py, nst/lbfgs32.py), tiling, the coarse style and the run loop use these
functions where an array may live on a device; the host sees an image once per iteration
(`to_host`: frames, checkpoints).

The float32 L-BFGS's products are made chunk by chunk (no image-sized temporaries at print size)
and its dot products summed in float64 (on the host over float32 chunk sums; on a PyTorch device
each chunk's in float64, but for the memory's products on a CPU, which sum float32 chunks as the
host does), so they keep their digits at 50 million values; a GPU takes larger chunks, since each
is a kernel launch. `rows_dot` and `add_rows_into` are the memory's two products with its 2m
stacked pairs (nst/lbfgs32.py's compact form); `small_*`, `roll` and `solve_upper` its m x m
float64 algebra, kept where the vectors are. The numbers the optimiser decides on cross to the host
together (`slopes_of_step`, `step_numbers`): each crossing is a wait for the device.

A device without float64 (Apple's MPS: `device_lacks`) makes every product in float32 chunks and
adds the chunks' sums in float64 on the host, as the host does, and keeps the m x m algebra on the
host: no float64 tensor is ever made there.
"""

from __future__ import annotations

import numpy as np


class NumpyVectors:
    """Arrays on the host."""

    name = "numpy"
    CHUNK = 1 << 16

    def chunks(self, size: int):
        return (slice(i, i + self.CHUNK) for i in range(0, size, self.CHUNK))

    # --- moving and making ------------------------------------------------------------------

    def from_host(self, array) -> np.ndarray:
        return np.asarray(array, np.float32)

    def to_host(self, x) -> np.ndarray:
        return np.asarray(x)

    def zeros(self, shape) -> np.ndarray:
        return np.zeros(shape, np.float32)

    def zeros_like(self, x) -> np.ndarray:
        return np.zeros_like(x, np.float32)

    def copy(self, x) -> np.ndarray:
        return np.array(x, np.float32)

    # --- element by element -----------------------------------------------------------------

    def is_finite(self, x) -> bool:
        return bool(np.isfinite(x).all())

    def sqrt(self, x):
        return np.sqrt(x)

    def where(self, mask, a, b):
        return np.where(mask, a, b).astype(np.float32)

    def project(self, x, lower, upper):
        """x clipped to the bounds, in place (bounds broadcast along the last axis); returned."""
        if lower is not None:
            np.clip(x, lower, upper, out=x)
        return x

    def held(self, x, g, lower, upper):
        """Which values sit at a bound with the gradient pushing them out (None without bounds)."""
        if lower is None:
            return None
        return ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))

    def zero_where(self, x, mask) -> None:
        if mask is not None:
            x[mask] = 0

    def negate_into(self, out, x) -> None:
        np.negative(x, out=out)

    def subtract_into(self, out, a, b) -> None:
        np.subtract(a, b, out=out)

    def scale(self, x, factor: float) -> None:
        x *= np.float32(factor)

    # --- products, chunk by chunk -----------------------------------------------------------

    def dot(self, a, b) -> float:
        """a·b of two float32 arrays of one shape, summed in float64 chunk by chunk."""
        a, b = a.ravel(), b.ravel()
        return float(sum(float(np.dot(a[c], b[c]).astype(np.float64)) for c in self.chunks(a.size)))

    def rows_dot(self, rows, v) -> np.ndarray:
        """Each row of `rows` (k, *v.shape) dotted with v, as float64 (k,): each exactly `dot`'s. Vector
        dot products, not one matrix-vector product: OpenBLAS runs the latter in threads that spin on
        after it, taking a core from TensorFlow's next evaluation (a fast-preset run took 18 s instead
        of 14.5 s), and its sums then depend on the thread count."""
        rows, v = rows.reshape(len(rows), -1), v.ravel()
        total = np.zeros(len(rows))
        for c in self.chunks(v.size):
            for i, row in enumerate(rows):
                total[i] += float(np.dot(row[c], v[c]))
        return total

    def add_rows_into(self, out, scale, rows, coefficients) -> None:
        """out = scale * out + sum_i coefficients[i] * rows[i], in place, chunk by chunk (float32,
        element by element, for `rows_dot`'s reason)."""
        out, rows = out.reshape(-1), rows.reshape(len(rows), -1)
        scale, coefficients = np.float32(scale), np.asarray(coefficients, np.float32)
        for c in self.chunks(out.size):
            part = out[c]
            part *= scale
            for coefficient, row in zip(coefficients, rows):
                if coefficient:
                    part += coefficient * row[c]

    # --- small float64 arrays (the L-BFGS memory's products), where the vectors live ----------

    def small_zeros(self, shape) -> np.ndarray:
        return np.zeros(shape)

    def small_from_host(self, array) -> np.ndarray:
        return np.array(array, np.float64)

    def small_to_host(self, x) -> np.ndarray:
        return np.array(x, np.float64)  # a copy: the memory changes its products in place

    def roll(self, x, shift, dims=0):
        return np.roll(x, shift, axis=dims)

    def solve_upper(self, upper, b, transpose: bool = False):
        """upper^-1 b (or upper^-T b), reading only the upper triangle."""
        from scipy.linalg import solve_triangular

        return solve_triangular(upper, b, lower=False, trans="T" if transpose else "N")

    def slopes_of_step(self, x_new, x_old, g_old, g_new) -> tuple[float, float]:
        """g_old·s and g_new·s of a step s = x_new - x_old (the line search's decrease and the slope at
        its trial point), s made chunk by chunk as float32, never whole."""
        x_new, x_old, g_old, g_new = (a.ravel() for a in (x_new, x_old, g_old, g_new))
        before = after = 0.0
        for k in self.chunks(x_new.size):
            s = x_new[k] - x_old[k]
            before += float(np.dot(g_old[k], s).astype(np.float64))
            after += float(np.dot(g_new[k], s).astype(np.float64))
        return before, after

    def add_scaled(self, out, scale: float, v) -> None:
        """out += scale * v in place, without an image-sized product."""
        out, v, scale = out.reshape(-1), v.reshape(-1), np.float32(scale)
        for c in self.chunks(out.size):
            out[c] += scale * v[c]

    def step_numbers(self, x_new, x_old, g_new, g_old, lower, upper) -> tuple[float, float, float, float]:
        """What an accepted step is judged by: s·y, s·s and y·y (s = x_new - x_old, y = g_new - g_old,
        chunk by chunk) and the largest free |g_new| (`largest_free`)."""
        sums = np.zeros(3)
        x_new_flat, x_old, g_new_flat, g_old = (a.ravel() for a in (x_new, x_old, g_new, g_old))
        for c in self.chunks(x_new_flat.size):
            s, y = x_new_flat[c] - x_old[c], g_new_flat[c] - g_old[c]
            sums += [np.dot(s, y), np.dot(s, s), np.dot(y, y)]
        return float(sums[0]), float(sums[1]), float(sums[2]), self.largest_free(x_new, g_new, lower, upper)

    def largest_free(self, x, g, lower, upper) -> float:
        """The largest |g| over the values not held at a bound (the projected gradient's sup norm),
        a block of rows at a time (the bounds broadcast along x's last axis, as views)."""
        last = x.shape[-1] if x.ndim else 1
        x, g = x.reshape(-1, last), g.reshape(-1, last)
        if lower is not None:
            lower, upper = (np.broadcast_to(b, x.shape) for b in (lower, upper))
        rows = max(1, self.CHUNK // last)
        largest = 0.0
        for r in range(0, len(x), rows):
            block = slice(r, r + rows)
            keep = None if lower is None else self.held(x[block], g[block], lower[block], upper[block])
            part = np.abs(g[block]) if keep is None else np.abs(np.where(keep, 0, g[block]))
            largest = max(largest, float(part.max()))
        return largest


HOST = NumpyVectors()


def device_lacks(device) -> frozenset[str]:
    """What a PyTorch device cannot hold: Apple's MPS has no float64 (pytorch/pytorch#122602, by
    design) and no sparse CSR tensors (pytorch/pytorch#196192); CUDA, ROCm and CPUs have both."""
    import torch

    return frozenset({"float64", "sparse_csr"}) if torch.device(device).type == "mps" else frozenset()


class TorchVectors:
    """Arrays as float32 tensors on one PyTorch device."""

    name = "torch"

    def __init__(self, device):
        import torch

        self.torch, self.device = torch, device
        # the host's chunks on a CPU; on a GPU each chunk is a kernel launch, so larger ones
        self.on_host = torch.device(device).type == "cpu"
        self.lacks = device_lacks(device)
        # without float64 there: float32 products per chunk (at most 2^18 values), added in float64 on the host
        self.wide = "float64" not in self.lacks
        self.CHUNK = NumpyVectors.CHUNK if self.on_host else 1 << 22 if self.wide else 1 << 18
        if not self.wide:  # the memory's m x m float64 algebra on the host: NumPy's, as TensorFlow's is
            for name in ("small_zeros", "small_from_host", "small_to_host", "roll", "solve_upper"):
                setattr(self, name, getattr(HOST, name))

    # --- moving and making ------------------------------------------------------------------

    def from_host(self, array):
        torch = self.torch
        if isinstance(array, torch.Tensor):
            return array.to(self.device, torch.float32)
        return torch.as_tensor(np.asarray(array, np.float32), device=self.device)

    def to_host(self, x) -> np.ndarray:
        if isinstance(x, self.torch.Tensor):
            return x.detach().to("cpu").numpy()
        return np.asarray(x)

    def zeros(self, shape):
        return self.torch.zeros(tuple(shape), dtype=self.torch.float32, device=self.device)

    def zeros_like(self, x):
        return self.torch.zeros_like(x, dtype=self.torch.float32)

    def copy(self, x):
        return self.from_host(x).clone()

    # --- element by element -----------------------------------------------------------------

    def is_finite(self, x) -> bool:
        return bool(self.torch.isfinite(x).all())

    def sqrt(self, x):
        return self.torch.sqrt(x)

    def where(self, mask, a, b):
        return self.torch.where(self.from_host(mask) > 0, self.from_host(a), self.from_host(b))

    def project(self, x, lower, upper):
        if lower is not None:
            x.clamp_(self.from_host(lower), self.from_host(upper))
        return x

    def held(self, x, g, lower, upper):
        if lower is None:
            return None
        lower, upper = self.from_host(lower), self.from_host(upper)
        return ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))

    def zero_where(self, x, mask) -> None:
        if mask is not None:
            x.masked_fill_(mask, 0)

    def negate_into(self, out, x) -> None:
        self.torch.neg(x, out=out)

    def subtract_into(self, out, a, b) -> None:
        self.torch.sub(a, b, out=out)

    def scale(self, x, factor) -> None:
        """x *= factor: a number, or a value left on the device (no wait for it), rounded to float32 as
        a number is."""
        if isinstance(factor, self.torch.Tensor):
            x.mul_(factor.to(self.torch.float32))
        else:
            x.mul_(float(np.float32(factor)))

    # --- products, chunk by chunk -----------------------------------------------------------

    def _wide(self, x):
        """A float32 chunk as its products are made: float64 where the device has it (each chunk's copy is
        its only temporary), else as it is, its products' chunk sums then added on the host."""
        return x.double() if self.wide else x

    def _added(self, parts):
        """The chunks' products (one tensor each) added up in float64: on the device where it has float64
        (a tensor, no wait), else on the host (a NumPy array, one transfer)."""
        if not self.wide:
            return np.asarray(self.torch.stack(parts).tolist(), np.float64).sum(axis=0)
        total = parts[0]  # no zero to start from: fewer kernel launches
        for part in parts[1:]:
            total = total + part
        return total

    def _numbers(self, parts, largest=None) -> list[float]:
        """`_added`'s sums on the host as numbers, with `largest` (a float32 value on the device) after
        them, all crossing in one transfer: one wait for the device."""
        if self.wide:
            total = self._added(parts).reshape(-1)
            if largest is not None:
                total = self.torch.cat([total, largest.to(self.torch.float64).reshape(1)])  # a float32's exact value
            return total.tolist()
        if largest is None:
            return self._added(parts).reshape(-1).tolist()
        numbers = self.torch.cat([self.torch.stack(parts).reshape(-1), largest.reshape(1)]).tolist()
        return [*np.asarray(numbers[:-1], np.float64).reshape(len(parts), -1).sum(axis=0).tolist(), numbers[-1]]

    def dot(self, a, b) -> float:
        """a·b, chunk by chunk in float64: one number crosses to the host."""
        a, b, w = a.reshape(-1), b.reshape(-1), self._wide
        return self._numbers([self.torch.dot(w(a[k:k + self.CHUNK]), w(b[k:k + self.CHUNK]))
                              for k in range(0, a.numel(), self.CHUNK)])[0]

    def slopes_of_step(self, x_new, x_old, g_old, g_new) -> tuple[float, float]:
        """As on the host, both products crossing to the host in one transfer (one wait for the device
        per trial point, not two)."""
        torch, w = self.torch, self._wide
        x_new, x_old, g_old, g_new = (a.reshape(-1) for a in (x_new, x_old, g_old, g_new))
        parts = []
        for k in range(0, x_new.numel(), self.CHUNK):
            part = slice(k, k + self.CHUNK)
            s = w(x_new[part] - x_old[part])  # each chunk cast once: fewer kernels, the same sums
            parts.append(torch.stack([torch.dot(w(g_old[part]), s), torch.dot(w(g_new[part]), s)]))
        before, after = self._numbers(parts)
        return before, after

    def rows_dot(self, rows, v):
        """Each row of `rows` dotted with v, left where `_added` leaves it: on a GPU a matrix-vector
        product per chunk of columns, on float64 copies no larger than `dot`'s two (2 x CHUNK values);
        on a CPU, or a device without float64, float32 products of chunks, added in float64."""
        torch = self.torch
        rows, v = rows.reshape(len(rows), -1), v.reshape(-1)
        if self.wide and not self.on_host:
            width = max(1, 2 * self.CHUNK // len(rows))
            return self._added([torch.mv(rows[:, k:k + width].double(), v[k:k + width].double())
                                for k in range(0, v.numel(), width)])
        return self._added([self._wide(torch.mv(rows[:, k:k + self.CHUNK], v[k:k + self.CHUNK]))
                            for k in range(0, v.numel(), self.CHUNK)])

    def add_rows_into(self, out, scale, rows, coefficients) -> None:
        """out = scale * out + sum_i coefficients[i] * rows[i], in place: two kernels, no temporaries."""
        flat = out.view(-1)
        self.scale(flat, scale)
        flat.addmv_(rows.reshape(len(rows), -1).T, self.from_host(coefficients))

    # --- small float64 arrays (the L-BFGS memory's products), on the device (__init__: the host's without float64)

    def small_zeros(self, shape):
        return self.torch.zeros(tuple(shape), dtype=self.torch.float64, device=self.device)

    def small_from_host(self, array):
        return self.torch.as_tensor(np.asarray(array, np.float64), device=self.device).clone()

    def small_to_host(self, x) -> np.ndarray:
        return x.detach().to("cpu", copy=True).numpy()

    def roll(self, x, shift, dims=0):
        return self.torch.roll(x, shift, dims)

    def solve_upper(self, upper, b, transpose: bool = False):
        """upper^-1 b (or upper^-T b), reading only the upper triangle."""
        solve = self.torch.linalg.solve_triangular
        if transpose:
            return solve(upper.mT, b[:, None], upper=False)[:, 0]
        return solve(upper, b[:, None], upper=True)[:, 0]

    def add_scaled(self, out, scale: float, v) -> None:
        """out += scale * v, the number rounded to float32 as on the host."""
        out.add_(v, alpha=float(np.float32(scale)))

    def step_numbers(self, x_new, x_old, g_new, g_old, lower, upper) -> tuple[float, float, float, float]:
        """As on the host, the four numbers crossing in one transfer."""
        torch, w = self.torch, self._wide
        x_new_flat, x_old, g_new_flat, g_old = (a.reshape(-1) for a in (x_new, x_old, g_new, g_old))
        parts = []
        for k in range(0, x_new_flat.numel(), self.CHUNK):
            part = slice(k, k + self.CHUNK)
            s, y = w(x_new_flat[part] - x_old[part]), w(g_new_flat[part] - g_old[part])
            parts.append(torch.stack([torch.dot(s, y), torch.dot(s, s), torch.dot(y, y)]))
        sy, ss, yy, free = self._numbers(parts, self._largest_free(x_new, g_new, lower, upper))
        return sy, ss, yy, free

    def _largest_free(self, x, g, lower, upper):
        keep = self.held(x, g, lower, upper)
        magnitude = g.abs() if keep is None else g.abs().masked_fill(keep, 0)
        return magnitude.max()

    def largest_free(self, x, g, lower, upper) -> float:
        return float(self._largest_free(x, g, lower, upper))
