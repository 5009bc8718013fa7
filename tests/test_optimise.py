"""The optimisation loops on a NumPy objective whose minimum is known; and, in a real transfer, how often
the float32 L-BFGS waits for a PyTorch device."""

import collections
import copy
import functools
from pathlib import Path

import numpy as np
import pytest

from nst.loss_values import Losses
from nst.backends.vectors import NumpyVectors
from nst.lbfgs32 import Memory
from nst.optimise import lbfgs

HOST = NumpyVectors()
DATA = Path(__file__).resolve().parents[1] / "data"


def vectors_of(kind: str):
    """The optimiser's arrays: on the host (NumPy), or PyTorch's on its CPU where PyTorch is installed;
    `torch-as-gpu` makes its products as on a GPU (float64 chunks), small chunks so that there are many."""
    if kind == "numpy":
        return HOST
    torch = pytest.importorskip("torch")
    from nst.backends.vectors import TorchVectors

    if kind == "torch-without-float64":  # Apple's MPS (tests/test_device_limits.py runs whole transfers so)
        import nst.backends.vectors

        with pytest.MonkeyPatch.context() as patch:  # built as on such a device
            patch.setattr(nst.backends.vectors, "device_lacks", lambda _device: frozenset({"float64", "sparse_csr"}))
            vectors = TorchVectors(torch.device("cpu"))
        vectors.CHUNK, vectors.on_host = 1 << 18, False  # its chunks there
        return vectors
    vectors = TorchVectors(torch.device("cpu"))
    if kind == "torch-as-gpu":
        vectors.CHUNK, vectors.on_host = 1 << 10, False
    return vectors


VECTORS = pytest.mark.parametrize("kind", ["numpy", "torch", "torch-as-gpu", "torch-without-float64"])

lbfgs32 = functools.partial(lbfgs, state="float32")  # nst's float32 L-BFGS, scipy's loops

TARGET = np.random.default_rng(0).uniform(-100, 100, (1, 32, 48, 3))


def quadratic(points):
    """sum((x - TARGET)^2) with its gradient; records every point it is evaluated at."""

    def evaluate(x):
        points.append(np.array(x, np.float64))
        diff = x.astype(np.float64) - TARGET
        value = float((diff**2).sum())
        return Losses(value, {"quadratic": value}), (2 * diff).astype(np.float32)

    return evaluate


LOOPS = pytest.mark.parametrize("loop", [lbfgs, lbfgs32], ids=["scipy", "float32"])


@LOOPS
def test_lbfgs_finds_the_minimum(loop):
    x = loop(quadratic([]), np.zeros_like(TARGET, np.float32), iterations=3, evals_per_iteration=20)
    np.testing.assert_allclose(x, TARGET, atol=1e-2)


@LOOPS
@pytest.mark.parametrize("first_step", [0.5, 4.0])
def test_first_step_moves_each_pixel_by_that_many_grey_levels(loop, first_step):
    points = []
    loop(quadratic(points), np.zeros_like(TARGET, np.float32), iterations=1, evals_per_iteration=3, first_step=first_step)
    rms = float(np.sqrt(np.mean((points[1] - points[0]) ** 2)))
    assert rms == pytest.approx(first_step, rel=1e-3)


@LOOPS
def test_without_first_step_the_first_step_has_unit_length(loop):
    points = []
    loop(quadratic(points), np.zeros_like(TARGET, np.float32), iterations=1, evals_per_iteration=3)
    assert float(np.linalg.norm(points[1] - points[0])) == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("bad_from", [1, 5])
def test_float32_lbfgs_stops_at_a_non_finite_gradient_whose_loss_is_finite(kind, bad_from):
    """The float32 L-BFGS does not check each gradient apart (on a GPU that is a wait for the device):
    its line search's product g·s shows a NaN (s is finite and not 0). A run whose loss stays finite while
    its gradient does not is stopped there and keeps the last point it accepted, as for a NaN loss."""
    from nst.errors import DivergedError

    v, good = vectors_of(kind), quadratic([])
    calls = []

    def evaluate(x):
        calls.append(1)
        losses, grad = good(v.to_host(x))
        if len(calls) >= bad_from:
            grad = grad.copy()
            grad[0, 3, 4, 1] = np.nan
        return losses, v.from_host(grad)

    accepted = []
    with pytest.raises(DivergedError) as stopped:
        lbfgs32(evaluate, v.from_host(np.zeros_like(TARGET, np.float32)), iterations=4, evals_per_iteration=3,
                on_iteration=lambda result, image: accepted.append(v.to_host(image).copy()), vectors=v)
    assert stopped.value.evaluation == bad_from
    if accepted:  # the image kept is the last iteration's
        np.testing.assert_array_equal(v.to_host(stopped.value.last_good), accepted[-1])


def test_first_step_spares_scipy_growing_its_step():
    """scipy's line search spends its evaluations growing a unit-length first step (the float32 L-BFGS takes
    the short step, then scales its second by the pair it made)."""
    found = {}
    for step in (0.0, 10.0):
        x = lbfgs(quadratic([]), np.zeros_like(TARGET, np.float32), iterations=1, evals_per_iteration=4, first_step=step)
        found[step] = float(((x - TARGET) ** 2).sum())
    assert found[10.0] < 0.5 * found[0.0]


@LOOPS
def test_bounds_keep_every_evaluated_point_inside(loop):
    points = []
    lower, upper = np.full(3, -20.0), np.full(3, 30.0)  # per channel, broadcast to the image
    x = loop(quadratic(points), np.zeros_like(TARGET, np.float32), iterations=2, evals_per_iteration=15,
             bounds=(lower, upper), first_step=1.0)
    assert all(p.min() >= -20 - 1e-9 and p.max() <= 30 + 1e-9 for p in points)
    np.testing.assert_allclose(x, np.clip(TARGET, -20, 30), atol=1e-2)


SCALES = np.geomspace(1, 1000, TARGET.size).reshape(TARGET.shape)


def ill_conditioned(x):
    """sum(s * (x - TARGET)^2) with s from 1 to 1000: L-BFGS needs its memory here."""
    diff = x.astype(np.float64) - TARGET
    value = float((SCALES * diff**2).sum())
    return Losses(value, {"quadratic": value}), (2 * SCALES * diff).astype(np.float32)


@LOOPS
def test_one_run_reports_every_iteration_at_its_evaluation_mark(loop):
    seen = []
    loop(ill_conditioned, np.zeros_like(TARGET, np.float32), iterations=4, evals_per_iteration=3, restarts=False,
          first_step=1.0, on_iteration=lambda result, image: seen.append((result.iteration, result.evaluations)))
    assert [k for k, _ in seen] == [0, 1, 2, 3]
    assert all(evaluations >= 3 * (k + 1) for k, evaluations in seen)


@LOOPS
def test_one_run_keeps_its_memory_and_beats_restarts_on_an_ill_conditioned_problem(loop):
    found = {}
    for restarts in (True, False):
        x = loop(ill_conditioned, np.zeros_like(TARGET, np.float32), iterations=6, evals_per_iteration=8,
                  restarts=restarts, first_step=1.0)
        found[restarts] = ill_conditioned(x)[0].total
    assert found[False] < 0.5 * found[True]


def filled_memory(v, n: int, m: int, added: int, cleared_after: int | None, seed: int = 1):
    """A memory of m pairs from a convex quadratic (y = A s) after `added` pairs, cleared once after
    `cleared_after` of them (its rows then hold stale pairs); the pairs it should hold, as float64."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    hessian = a @ a.T + n * np.eye(n)
    memory = Memory(m, (n,), v)
    held = []
    for k in range(added):
        if k == cleared_after:
            memory.clear()
            held = []
        s_ = rng.normal(size=n)
        y_ = hessian @ s_
        zero = v.zeros((n,))  # pairs are written from the points and gradients: s = x - 0, y = g - 0
        memory.add(v.from_host(s_), zero, v.from_host(y_), zero)
        held = (held + [(s_.astype(np.float32).astype(float), y_.astype(np.float32).astype(float))])[-m:]
    return memory, held


@VECTORS
@pytest.mark.parametrize("added, cleared_after", [(2, None), (4, None), (7, None), (7, 5)],
                         ids=["filling", "full", "wrapped", "cleared"])
def test_the_memory_multiplies_by_the_bfgs_inverse_hessian(kind, added, cleared_after):
    """H g from the compact form equals the matrix of the BFGS updates (Nocedal & Wright (6.17)), built
    densely in NumPy from the same pairs, oldest first: while the ring fills, once it wraps (the oldest
    pairs dropped) and after a restart cleared it (its rows holding stale pairs)."""
    v = vectors_of(kind)
    n, m = 12, 4
    memory, held = filled_memory(v, n, m, added, cleared_after)
    assert memory.count == len(held)
    s_new, y_new = held[-1]
    inverse = (s_new @ y_new) / (y_new @ y_new) * np.eye(n)
    for s_, y_ in held:
        rho = 1 / (s_ @ y_)
        left = np.eye(n) - rho * np.outer(s_, y_)
        inverse = left @ inverse @ left.T + rho * np.outer(s_, s_)
    g = np.random.default_rng(9).normal(size=n).astype(np.float32)
    np.testing.assert_allclose(v.to_host(memory.times(v.copy(g))), inverse @ g, rtol=1e-4, atol=1e-5)  # in place


@VECTORS
def test_a_memory_saved_without_its_products_makes_them_again(kind):
    """A checkpoint from before the compact form holds the pairs but not their products: a resume makes
    them from the pairs, oldest first, as the run had."""
    v = vectors_of(kind)
    memory, _ = filled_memory(v, 12, 4, 7, None)
    saved = memory.arrays()
    again = Memory.from_arrays(4, (12,), saved["s"], saved["y"], saved["newest"], v)
    assert again.count == memory.count and again.newest == memory.newest
    restored = again.arrays()
    for name in ("sy", "yy"):
        upper = np.triu(saved[name]) if name == "sy" else saved[name]  # S'Y below its diagonal is not used
        np.testing.assert_allclose(np.triu(restored[name]) if name == "sy" else restored[name], upper, rtol=1e-12)
    g = v.from_host(np.random.default_rng(9).normal(size=12).astype(np.float32))
    np.testing.assert_allclose(v.to_host(again.times(v.copy(g))), v.to_host(memory.times(v.copy(g))), rtol=1e-6)


@VECTORS
def test_chunked_dot_is_accurate_at_millions_of_values(kind):
    v = vectors_of(kind)
    rng = np.random.default_rng(2)
    a, b = (rng.normal(size=3_000_001).astype(np.float32) for _ in range(2))
    exact = a.astype(np.float64) @ b.astype(np.float64)
    assert abs(v.dot(v.from_host(a), v.from_host(b)) - exact) <= 1e-8 * float(np.abs(a.astype(np.float64) * b).sum())


@VECTORS
def test_the_chunked_vector_helpers_equal_their_whole_array_forms(kind):
    """The float32 L-BFGS makes no image-sized temporaries: each helper works chunk by chunk, and
    must give what the whole-array NumPy expression gives (bit for bit where elementwise, on the host)."""
    v = vectors_of(kind)
    rng = np.random.default_rng(3)
    x, x_old, g, g_old = (rng.normal(size=(1, 700, 500, 3)).astype(np.float32) for _ in range(4))
    X, X_old, G, G_old = (v.from_host(a) for a in (x, x_old, g, g_old))
    out = v.copy(X)
    v.add_scaled(out, 0.37, G)
    if kind == "numpy":
        np.testing.assert_array_equal(v.to_host(out), x + np.float32(0.37) * g)
    else:  # a fused multiply-add may round once where NumPy rounds twice
        np.testing.assert_allclose(v.to_host(out), x + np.float32(0.37) * g, rtol=1e-6, atol=1e-6)
    # the memory's two products with its stacked pairs: each row's dot, and out = scale * out + rows' c
    rows = np.stack([g, x_old, g_old]).reshape(3, -1)
    rows_dot = v.small_to_host(v.rows_dot(v.from_host(rows.reshape(3, *x.shape)), X))
    exact = rows.astype(np.float64) @ x.astype(np.float64).ravel()
    magnitude = np.abs(rows.astype(np.float64) * x.ravel()).sum(axis=1)
    assert (np.abs(rows_dot - exact) <= 1e-7 * magnitude).all()  # float32 chunk sums on a CPU, float64 on a GPU
    if kind == "numpy":  # each row's product is `dot`'s, bit for bit
        assert list(rows_dot) == [v.dot(v.from_host(row.reshape(x.shape)), X) for row in rows]
    combined = v.copy(X)
    coefficients = np.array([0.5, -1.25, 3.0])
    v.add_rows_into(combined, 0.37, v.from_host(rows.reshape(3, *x.shape)), v.small_from_host(coefficients))
    np.testing.assert_allclose(v.to_host(combined).ravel(), np.float32(0.37) * x.ravel() + coefficients @ rows,
                               rtol=1e-5, atol=1e-5)
    # on the host the same float32 chunk sums as its whole-array dot; on a PyTorch device each chunk's
    # product in float64, so against the float64 product of the same float32 values; without float64 on
    # the device, float32 chunk sums (as the host's), within float32's rounding of the terms' magnitude
    def wide_dot(a, b):
        return float(a.astype(np.float64).ravel() @ b.astype(np.float64).ravel())

    def agree(found, pairs):
        if kind != "torch-without-float64":
            dot = HOST.dot if kind == "numpy" else wide_dot
            return found == pytest.approx([dot(a, b) for a, b in pairs], rel=1e-12)
        return all(abs(f - wide_dot(a, b)) <= 1e-7 * wide_dot(np.abs(a), np.abs(b)) for f, (a, b) in zip(found, pairs))

    assert agree(v.slopes_of_step(X, X_old, G_old, G), [(g_old, x - x_old), (g, x - x_old)])
    sy, ss, yy, largest = v.step_numbers(X, X_old, G, G_old, None, None)
    assert agree((sy, ss, yy), [(x - x_old, g - g_old), (x - x_old, x - x_old), (g - g_old, g - g_old)])
    assert largest == v.largest_free(X, G, None, None) == np.abs(g).max()
    lower, upper = np.array([-1.0, -2.0, -0.5], np.float32), np.array([1.0, 2.0, 0.5], np.float32)
    clipped = np.clip(x, lower, upper)
    at_bound_pushing_out = ((clipped <= lower) & (g > 0)) | ((clipped >= upper) & (g < 0))
    assert at_bound_pushing_out.any()
    free = np.abs(np.where(at_bound_pushing_out, 0, g)).max()
    assert v.largest_free(v.from_host(clipped), G, lower, upper) == free
    assert v.step_numbers(v.from_host(clipped), X_old, G, G_old, lower, upper)[3] == free


@pytest.mark.parametrize("restarts", [True, False])
def test_float32_lbfgs_resumes_bit_for_bit_from_any_iteration(restarts):
    """Its state holds its memory too, so even one long run goes on exactly as if never stopped."""
    kept = []
    whole = lbfgs32(ill_conditioned, np.zeros_like(TARGET, np.float32), iterations=5, evals_per_iteration=4,
                    restarts=restarts, first_step=1.0, bounds=(np.full(3, -50.0), np.full(3, 50.0)),
                    on_iteration=lambda result, image: kept.append(copy.deepcopy(result.state)))  # as saved
    assert len(kept) == 5
    for state in kept[:-1]:
        resumed = lbfgs32(ill_conditioned, np.zeros_like(TARGET, np.float32), iterations=5, evals_per_iteration=4,
                          restarts=restarts, first_step=1.0, bounds=(np.full(3, -50.0), np.full(3, 50.0)),
                          resume=state)
        np.testing.assert_array_equal(resumed, whole)


@pytest.mark.parametrize("lacks, per_evaluation", [((), 4), (("float64", "sparse_csr"), 6)], ids=["cpu", "mps-limits"])
def test_on_pytorch_the_host_waits_for_the_device_a_few_times_an_evaluation(monkeypatch, record_property, lacks,
                                                                            per_evaluation):
    """On a GPU each number that crosses to the host is a wait for the device, and at 512 px such waits
    and the optimiser's small kernels were most of nst's time over a bare PyTorch loop (docs/gpu.md).
    Counted on a CPU, where the crossings are the same PyTorch calls: in a `--preset fast` transfer (the
    float32 L-BFGS, its state on the backend's device) an evaluation reads its losses (one transfer) and
    the line search's two slopes (one transfer, which also shows a non-finite gradient); a step, the slope
    of its direction and the accepted point's four numbers (one transfer); an iteration, its frame and the
    checkpoint's arrays (the image, its gradient, the L-BFGS memory and its products) and a start's
    gradient check. A step takes one evaluation or more, so at most four per evaluation (6.70 before these
    numbers crossed together and the gradient's own check went). On a device without float64 (Apple's
    MPS; its limits given to the CPU here) the memory's two products a step cross too: at most six."""
    torch = pytest.importorskip("torch")
    import nst.backends
    import nst.backends.vectors
    import nst.engine
    from nst.settings import TransferSettings
    from nst.transfer import stylize

    monkeypatch.setattr(nst.backends, "_BACKENDS", {})  # a backend built for these limits, dropped after
    monkeypatch.setattr(nst.engine, "_ENGINES", {})
    monkeypatch.setattr(nst.backends.vectors, "device_lacks", lambda _device: frozenset(lacks))

    reads = collections.Counter()
    for name in ("__float__", "__bool__", "__int__", "item", "tolist", "numpy", "cpu"):
        def counted(self, *args, _original=getattr(torch.Tensor, name), _name=name, **kwargs):
            reads[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    settings = TransferSettings.from_preset("fast", size=48, backend="torch", device="cpu", precision="float32", seed=0,
                                            init="content", iterations=2, evals_per_iteration=20)
    done = stylize(DATA / "content" / "chelsea.png", [DATA / "styles" / "mosaic.png"], settings, progress=False)
    evaluations, iterations = done.record.evaluations, done.record.iterations_completed
    record_property(f"host reads per evaluation, PyTorch, fast preset, device lacking {list(lacks) or 'nothing'}",
                    f"{sum(reads.values()) / evaluations:.2f} ({dict(reads)} in {evaluations} evaluations)")
    assert evaluations >= 30 and done.record.settings["optimizer"] == "lbfgs32"
    assert sum(reads.values()) <= per_evaluation * evaluations + 7 * iterations + 2, dict(reads)


def test_on_pytorch_the_memory_launches_as_many_kernels_whatever_its_length(record_property):
    """On a GPU each PyTorch operation is a kernel launched from the host, and at 512 px launches and
    waits were most of nst's time over a bare PyTorch loop (docs/gpu.md). The memory's product H q and
    its update are a fixed number of operations whatever m is (the two-loop recursion's product made 14 a
    pair and 8 more: 148 at m = 10). Counted on a CPU, with a GPU's chunks."""
    pytest.importorskip("torch")
    from nst.backends.launches import Launches

    launched = {}
    for m in (3, 10, 20):
        v = vectors_of("torch")
        v.CHUNK, v.on_host = 1 << 22, False  # a GPU's products
        memory, _ = filled_memory(v, 300, m, m + 2, None)  # wrapped: the most work a step does
        q, x_new, g_new, zero = (v.from_host(np.random.default_rng(k).normal(size=300)) for k in range(4))
        with Launches() as product:
            memory.times(q)
        with Launches() as update:
            memory.add(x_new, zero, g_new, zero)
        launched[m] = (product.launched, update.launched)
    record_property("PyTorch operations of the memory's product and update, by its length", launched)
    assert launched[3] == launched[10] == launched[20], launched
    assert sum(launched[10]) <= 40, launched
