"""Shared fixtures: the article's images (read in place from ../shared/article), small real images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Idle OpenMP threads (PyTorch's CPU kernels) sleep at once instead of spinning: the suite runs three
# workers, and each worker's runs and jobs their own threads, on two cores, where spinning threads take
# the cores from working ones (the engine's tests on PyTorch: 42-44 s instead of 49-51, docs/testing.md).
# Set before anything loads an OpenMP runtime; the processes tests start inherit it. No result depends
# on it: the threads' number, and so every sum's order, stay as they are.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = Path(os.environ.get("NST_ARTICLE_DIR", ROOT.parent / "shared" / "article"))


@pytest.fixture(scope="session")
def article() -> Path:
    if not (ARTICLE / "hugo.jpg").is_file():
        pytest.skip(f"the article's images are not at {ARTICLE} (set NST_ARTICLE_DIR)")
    return ARTICLE


@pytest.fixture(scope="session")
def small_images(tmp_path_factory) -> dict[str, Path]:
    """The project's own example images, downscaled: fast inputs with real image statistics."""
    folder = tmp_path_factory.mktemp("small")
    sources = {
        "content": ("content/chelsea.png", (64, 64)),
        "wide": ("content/chelsea.png", (96, 64)),
        "style": ("styles/strokes.png", (80, 80)),
        "style2": ("styles/mosaic.png", (72, 72)),
    }
    out = {}
    for name, (source, size) in sources.items():
        with Image.open(ROOT / "data" / source) as im:
            path = folder / f"{name}.png"
            im.convert("RGB").resize(size, Image.Resampling.LANCZOS).save(path)
            out[name] = path
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# Files in the order the xdist workers should take them (--dist loadfile takes whole files, in this
# order): the Slurm tests first, so the time they spend waiting for Slurm overlaps the rest; then the
# longest files, longest first (by their slowest tests in the CI runs' duration lists), so that no
# long file starts last and runs on alone at the end (test_workflow.py, the longest after Slurm's,
# came last alphabetically); the other, shorter files fill in after them.
FIRST = ["test_slurm.py", "test_workflow.py", "test_sweep.py", "test_transfer.py", "test_cli.py", "test_resume.py", "test_video.py",
         "test_masks.py", "test_terms.py", "test_tiling.py"]


def pytest_collection_modifyitems(session, config, items):
    """Whole files in FIRST's order, the rest after them as collected."""
    items.sort(key=lambda item: FIRST.index(item.path.name) if item.path.name in FIRST else len(FIRST))


_SAID: list[str] = []
_CPU: dict[str, float] = {}  # test id -> CPU seconds of its worker and the processes it waited for
CPU_KEY = "cpu seconds"
_CPU_START = pytest.StashKey[float]()


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    item.stash[_CPU_START] = _cpu_seconds()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """The suite's time is CPU-bound on 2 cores, so each test's CPU (setup to teardown, the module
    fixtures it starts included) says where to cut better than its wall time, which a parallel
    worker's load stretches."""
    outcome = yield
    if call.when == "teardown" and _CPU_START in item.stash:
        report = outcome.get_result()  # a new list: the report's is the item's own
        report.user_properties = [*report.user_properties, (CPU_KEY, _cpu_seconds() - item.stash[_CPU_START])]


_SPANS: dict[str, list] = {}  # test id -> [worker, first start, last stop] over setup, call, teardown


def pytest_runtest_logreport(report):
    """Keep what tests recorded with `record_property` (which path a precision test ran, what
    `auto` chose here); a report carries it from an xdist worker, where prints are lost."""
    span = _SPANS.setdefault(report.nodeid, [getattr(report, "worker_id", "main"), report.start, report.stop])
    span[1], span[2] = min(span[1], report.start), max(span[2], report.stop)
    if report.when == "call":
        _SAID.extend(f"{report.nodeid.split('::')[-1]}: {name}: {value}" for name, value in report.user_properties)
    elif report.when == "teardown":
        _CPU.update({report.nodeid: value for name, value in report.user_properties if name == CPU_KEY})


def pytest_terminal_summary(terminalreporter):
    if _SAID:
        terminalreporter.section("what this machine ran")
        for line in _SAID:
            terminalreporter.line(line)
    if _CPU:
        terminalreporter.section("CPU seconds, the test's worker and the processes it waited for")
        terminalreporter.line(f"{sum(_CPU.values()):.0f} s in all, in {len(_CPU)} tests; the 15 most:")
        for nodeid, seconds in sorted(_CPU.items(), key=lambda kv: -kv[1])[:15]:
            terminalreporter.line(f"{seconds:8.1f}s {nodeid}")
    if _SPANS:  # where the wall time went: a worker idle at the end is time a better file order would save
        began = min(start for _, start, _ in _SPANS.values())
        terminalreporter.section("each worker: seconds in tests, and when its last test ended")
        for worker in sorted({w for w, _, _ in _SPANS.values()}):
            spans = [(start, stop, nodeid) for nodeid, (w, start, stop) in _SPANS.items() if w == worker]
            last = max(spans)
            terminalreporter.line(f"{worker}: {sum(stop - start for start, stop, _ in spans):6.0f} s in tests, last "
                                  f"ended at {last[1] - began:6.0f} s ({last[2].split('::')[0]})")


@pytest.fixture(scope="session")
def without_slurm_clients(tmp_path_factory) -> Path:
    """A PATH entry whose `scontrol` fails at once. Once tests/slurm/cluster.sh has installed
    Slurm's client tools, every Snakemake start asks `scontrol show config` (the Slurm executor
    plugin does, on import) and, while no controller answers, waits ~9 s for it; local runs
    never use Slurm, so they do not wait."""
    folder = tmp_path_factory.mktemp("no-slurm")
    scontrol = folder / "scontrol"
    scontrol.write_text("#!/bin/sh\nexit 1\n")
    scontrol.chmod(0o755)
    return folder


@pytest.fixture(autouse=True)
def _local_runs_do_not_wait_for_slurm(request, monkeypatch, without_slurm_clients):
    if request.node.path.name != "test_slurm.py":
        monkeypatch.setenv("PATH", f"{without_slurm_clients}{os.pathsep}{os.environ.get('PATH', '')}")
