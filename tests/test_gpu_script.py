"""The H200's prepared script (benchmarks/gpu.py) runs on any machine with `--quick`.

The GPU is lent to some sessions only, for minutes; a script that broke since its last run there would
spend them on a traceback. So its parts run here, small, on the CPU, with the same code paths but the device (figures:
docs/gpu.md): all but the print, the clip and the sweep, the longest (they ran there before)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from snakemake_runner import ROOT

pytest.importorskip("torch")


def test_the_gpu_script_runs_its_parts_small_on_a_cpu(tmp_path, article):
    figures_file = tmp_path / "gpu.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks/gpu.py"), "--quick", "--parts", "0,1,2,7,8",
                           "--sizes", "64", "--json", str(figures_file)], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    figures = json.loads(figures_file.read_text())
    assert figures["failed"] == {} and figures["skipped"] == []
    # part 0 compares the device's objective with the CPU's: here both are the CPU, so they agree exactly
    assert {row["precision"] for row in figures["equality"]} == {"float32", "tf32"}
    assert all(row["total"] == 0 and row["gradient"] == 0 for row in figures["equality"])
    # part 1: the bare loop and nst's evaluations inside a real run, each precision
    precisions = set(figures["precisions"])  # bfloat16 where this CPU computes it fast (auto takes it), else left out
    assert precisions >= {"float32", "tf32"}
    assert {row["precision"] for row in figures["evaluations"]} == precisions
    assert all(row["bare_s"] > 0 and row["nst_s"] > 0 for row in figures["evaluations"])
    # part 2: the article's settings (float32, auto, float32 with cuDNN's benchmark mode), each saved image scored,
    # and --preset fast's frames scored against them
    quality = figures["quality"]
    assert set(quality) == {"float32", "auto", "float32_cudnn_benchmark"}
    assert all(row["article_optimise_s"] > 0 and row["article_score"] > 0 for row in quality.values())
    assert all(quality[p]["fast_best_score"] > 0 for p in ("float32", "auto"))
    # part 7: each way of timing an evaluation, and the profile's table
    assert {row["precision"] for row in figures["overhead"]} == precisions - {"tf32"}
    for row in figures["overhead"]:
        assert all(row[key] > 0 for key in ("bare_nchw_s", "bare_cudnn_benchmark_s", "objective_free_s",
                                            "objective_cudnn_benchmark_s", "run_seeded_s", "run_unseeded_s"))
    assert "profile" in figures["overhead"][0]
    # part 8: the optimiser's own step, with the operations it launches (each a kernel on a GPU)
    assert [row["size"] for row in figures["optimiser"]] == [64, 128]
    assert all(0 < row["operations_per_step"] < 100 and row["ms_per_step"] > 0 for row in figures["optimiser"])
