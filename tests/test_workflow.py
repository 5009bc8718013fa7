"""The Snakemake workflow, run for real with the real weights on small real images."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from nst.quiet import is_chatter
from snakemake_runner import ROOT, SNAKEMAKE, job_counts, paused, snakemake, wait_for_pause

DATA = ROOT / "data"


def write_config(workdir: Path, **config) -> Path:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def third_style(tmp_path_factory):
    path = tmp_path_factory.mktemp("styles") / "stripes.png"
    stripes = np.zeros((96, 96, 3), np.uint8)
    stripes[:, ::8] = (250, 200, 40)
    stripes[::12] = (30, 60, 200)
    Image.fromarray(stripes).save(path)
    return path


@pytest.mark.parametrize("batched, snakefile", [(True, "Snakefile"), (False, "Snakefile"),
                                               (True, "workflow/Snakefile"), (False, "workflow/Snakefile")])
def test_dag_of_two_contents_three_styles_two_triples(tmp_path, third_style, batched, snakefile):
    """The same DAG whichever Snakefile is the entry point (the top-level one uses workflow/Snakefile as a module)."""
    config = write_config(
        tmp_path,
        contents={"chelsea": str(DATA / "content/chelsea.png"), "coffee": str(DATA / "content/coffee.png")},
        styles={"strokes": str(DATA / "styles/strokes.png"), "mosaic": str(DATA / "styles/mosaic.png"),
                "stripes": str(third_style)},
        weights=[[0.025, 5, 1], [0.025, 5, 0.1]],
        size=64,
        pair_jobs=batched,
    )
    counts = job_counts(snakemake(tmp_path, "-n", "--configfile", config, snakefile=ROOT / snakefile).stdout)
    # batched: one job (one process, one model) per content x style pair runs both triples
    assert (counts.get("transfer_pair", 0), counts.get("transfer", 0)) == ((6, 0) if batched else (0, 12))
    assert counts["preprocess"] == 5
    assert counts["grid_by_weights"] == 2 and counts["grid_by_pair"] == 6
    assert counts["gif_run"] == 12 and counts["gif_sweep"] == 6
    assert counts["summary"] == 1 and counts["plot_pair"] == 6 and counts["plot_sweep"] == 1
    assert counts["gallery"] == 2 and counts["plot_run"] == 12


def test_run_names_write_numbers_as_the_article(tmp_path):
    config = write_config(
        tmp_path,
        contents={"hugo": str(DATA / "content/chelsea.png")},
        styles={"starry_night": str(DATA / "styles/strokes.png")},
        weights=[[0.025, 5.0, 0.1], [1e-4, 10, 1]],
        size=64,
    )
    out = snakemake(tmp_path, "-n", "--configfile", config).stdout
    assert "results/runs/c_hugo_s_starry_night_cw_0.025_sw_5_tvw_0.1/c_hugo_s_starry_night_cw_0.025_sw_5_tvw_0.1.png" in out
    assert "c_hugo_s_starry_night_cw_0.0001_sw_10_tvw_1_i_9.png" in out
    assert ".0_" not in out


ITERATIONS, CELL = 2, 64


def tiny_config(workdir: Path, contents: tuple = ("chelsea", "coffee")) -> Path:
    """2 contents (or those named) x 2 styles x 2 triples at 64 px, 2 iterations x 3 evaluations, real weights."""
    return write_config(
        workdir,
        contents={name: str(DATA / f"content/{name}.png") for name in contents},
        styles={"strokes": str(DATA / "styles/strokes.png"), "mosaic": str(DATA / "styles/mosaic.png")},
        weights=[[0.025, 5, 1], [0.1, 5, 0.1]],
        size=64,
        grid_cell=CELL,
        nst={"iterations": ITERATIONS, "evals_per_iteration": 3, "precision": "float32"},
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny_run")
    config = tiny_config(workdir)
    done = snakemake(workdir, "--cores", "2", "--configfile", config, umask=0o022)
    assert not [line for line in done.stderr.splitlines() if is_chatter(line)]  # no TensorFlow start-up lines
    return workdir, config


def test_a_sweep_under_umask_0022_writes_files_others_can_read(tiny_run):
    """A group on a shared file system, or a web server serving the galleries, can read every file."""
    written = [p for p in (tiny_run[0] / "results").rglob("*") if p.is_file()]
    assert len(written) > 100
    assert {p.relative_to(tiny_run[0]).as_posix(): oct(p.stat().st_mode & 0o777) for p in written} == {
        p.relative_to(tiny_run[0]).as_posix(): oct(0o644) for p in written}


def same_images(a: Path, b: Path) -> int:
    """Every run image and frame of workflow directory b equals a's of the same name, byte for byte (b may
    hold a's runs of fewer contents, but all of their files); how many."""
    found = sorted(p.relative_to(b) for p in (b / "results" / "runs").rglob("*.png"))
    runs = {path.parts[2] for path in found}  # results/runs/<run>/...
    assert runs and found == sorted(q for q in (p.relative_to(a) for p in (a / "results" / "runs").rglob("*.png"))
                                    if q.parts[2] in runs)
    for path in found:
        assert (a / path).read_bytes() == (b / path).read_bytes(), path
    return len(found)


@pytest.mark.parametrize("victim", ["snakemake", "job"])
def test_a_sweep_killed_with_sigkill_resumes_to_the_same_images(tmp_path, tiny_run, victim):
    """Kill snakemake and its jobs (or one transfer job) with SIGKILL right after a checkpoint; run again."""
    config, marker = tiny_config(tmp_path, contents=("chelsea",)), tmp_path / "paused"  # 2 jobs of 2 runs each
    command = [*SNAKEMAKE, "--directory", str(tmp_path), "--cores", "2", "--configfile", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                               env=paused(marker))
    wait_for_pause(marker, process)
    assert marker.exists(), "no transfer job reached its first checkpoint"
    if victim == "snakemake":
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        snakemake(tmp_path, "--unlock", "--configfile", config)  # a killed Snakemake leaves its lock
    else:
        os.kill(int(marker.read_text()), signal.SIGKILL)
        assert process.wait(timeout=600) != 0  # keep-going: the other jobs finish, the killed one failed
    snakemake(tmp_path, "--cores", "2", "--configfile", config)
    logs = "".join(p.read_text() for p in (tmp_path / "results" / "logs" / "transfer").glob("*.log"))
    assert "resumed at iteration" in logs
    assert same_images(tiny_run[0], tmp_path) == 4 * (1 + ITERATIONS)


def test_a_sweep_raised_to_more_iterations_goes_on_to_the_longer_sweeps_images(tmp_path, tiny_run):
    """Raising nst.iterations of a finished sweep reruns its transfers (their last frames are missing), and each
    goes on from its checkpoint's last iteration instead of starting again: it ends with the images of a sweep
    that long from the start (tiny_run's)."""
    for iterations in (ITERATIONS - 1, ITERATIONS):
        config = write_config(tmp_path, contents={"coffee": str(DATA / "content/coffee.png")},
                              styles={"mosaic": str(DATA / "styles/mosaic.png")}, weights=[[0.025, 5, 1]], size=64,
                              grid_cell=CELL, nst={"iterations": iterations, "evals_per_iteration": 3,
                                                   "precision": "float32"})
        snakemake(tmp_path, "--cores", "2", "--configfile", config)  # the sweep, as a user reruns it
    log = (tmp_path / "results/logs/transfer/c_coffee_s_mosaic.log").read_text()
    assert f"holds {ITERATIONS - 1} of this run's iterations (it was to make {ITERATIONS - 1}); going on to " \
           f"{ITERATIONS}" in log
    assert same_images(tiny_run[0], tmp_path) == 1 + ITERATIONS


def test_tiny_run_produces_every_output(tiny_run):
    workdir, _ = tiny_run
    results = workdir / "results"
    runs = sorted(p.name for p in (results / "runs").iterdir())
    assert len(runs) == 8
    for run in runs:
        final = Image.open(results / "runs" / run / f"{run}.png")
        assert max(final.size) == 64
        frames = sorted((results / "runs" / run / "iterations").iterdir())
        assert [f.name for f in frames] == [f"{run}_i_{k}.png" for k in range(ITERATIONS)]
        pair = run.split("_cw_")[0]
        assert (results / "logs" / "transfer" / f"{pair}.log").is_file()
        assert (results / "benchmarks" / "transfer" / f"{pair}.tsv").is_file()
        gif = Image.open(results / "gifs" / "runs" / f"{run}.gif")
        assert gif.n_frames == ITERATIONS
    # one picture per content: the photo and its 4 results; contents x styles for each triple, the
    # inputs as headers; the triples side by side for each pair
    assert Image.open(results / "galleries" / "chelsea.png").size == (3 * CELL, 2 * CELL)
    by_weights = Image.open(results / "grids" / "by_weights" / "cw_0.025_sw_5_tvw_1.png")
    assert by_weights.size == (3 * CELL, 3 * CELL)
    by_pair = Image.open(results / "grids" / "by_pair" / "c_coffee_s_mosaic.png")
    assert by_pair.size == (2 * CELL, 1 * CELL)
    sweep = Image.open(results / "gifs" / "sweeps" / "c_coffee_s_mosaic.gif")
    assert sweep.n_frames == 2
    for plot in ["sweep.png", "pairs/c_chelsea_s_strokes.png"]:
        assert Image.open(results / "plots" / plot).size[0] > 300


def test_one_job_per_run_makes_the_same_images_as_one_job_per_pair(tmp_path, tiny_run):
    """A triple run second in a shared process equals the same run in a process of its own."""
    workdir, _ = tiny_run
    config = write_config(
        tmp_path,
        contents={"coffee": str(DATA / "content/coffee.png")},
        styles={"mosaic": str(DATA / "styles/mosaic.png")},
        weights=[[0.025, 5, 1], [0.1, 5, 0.1]],
        size=64,
        grid_cell=CELL,
        pair_jobs=False,
        nst={"iterations": ITERATIONS, "evals_per_iteration": 3, "precision": "float32"},
    )
    runs = [f"c_coffee_s_mosaic_{t}" for t in ("cw_0.025_sw_5_tvw_1", "cw_0.1_sw_5_tvw_0.1")]
    targets = [f"results/runs/{run}/{run}.png" for run in runs]
    done = snakemake(tmp_path, *targets, "--cores", "2", "--configfile", config)
    assert job_counts(done.stdout + done.stderr)["transfer"] == 2
    for target in targets:
        assert Image.open(tmp_path / target).tobytes() == Image.open(workdir / target).tobytes(), target


def test_summary_matches_each_runs_history(tiny_run):
    import pandas as pd

    workdir, _ = tiny_run
    results = workdir / "results"
    table = pd.read_csv(results / "summary.csv")
    assert len(table) == 8 * ITERATIONS
    for column in ("content", "style", "content_weight", "style_weight", "tv_weight", "iteration", "total_loss", "content_loss", "style_loss",
                   "tv_loss", "evaluations", "seconds", "backbone", "precision", "size"):
        assert column in table.columns
    assert set(table["precision"]) == {"float32"} and set(table["size"]) == {64}
    for run, rows in table.groupby("run"):
        with open(results / "runs" / run / "history.csv") as f:
            history = list(csv.DictReader(f))
        assert [float(h["total_loss"]) for h in history] == list(rows["total_loss"])
        assert [int(h["evaluations"]) for h in history] == list(rows["evaluations"])
        record = json.loads((results / "runs" / run / "run.json").read_text())
        for option in ("content_weight", "style_weight", "tv_weight"):
            assert record["settings"][option] == rows[option].iloc[0]


def test_report_bundles_the_results(tiny_run):
    workdir, config = tiny_run
    done = snakemake(workdir, "--report", "report.zip", "--configfile", config)
    assert "WARNING" not in done.stdout + done.stderr  # every caption renders
    import zipfile

    files = [Path(n).name for n in zipfile.ZipFile(workdir / "report.zip").namelist() if "/raw/" in n]
    assert "summary.csv" in files and "sweep.png" in files
    assert "cw_0.025_sw_5_tvw_1.png" in files  # a contents x styles grid
    assert "c_coffee_s_mosaic_cw_0.1_sw_5_tvw_0.1.gif" in files  # a run's iterations
    assert files.count("c_coffee_s_mosaic.png") == 2  # its pair grid and its loss plot
    assert files.count("c_coffee_s_mosaic_cw_0.1_sw_5_tvw_0.1.png") == 2  # a run's result and its loss curve
    assert "chelsea.png" in files  # a content's gallery
    # runs, their GIFs and loss curves, galleries, grids x2, sweep GIFs, CSV, pair and sweep plots
    assert len(files) == 8 + 8 + 8 + 2 + 2 + 4 + 4 + 1 + 4 + 1



def test_a_run_sheet_gives_a_gallery_per_content_and_no_empty_comparisons(tmp_path):
    """The article's kind of sheet: each style with its own weights. A content with transparency keeps it."""
    cat = tmp_path / "cat.png"
    rgba = np.asarray(Image.open(DATA / "content/chelsea.png").convert("RGBA").resize((96, 64))).copy()
    rgba[:, :24, 3] = 0  # a transparent strip on the left
    Image.fromarray(rgba, "RGBA").save(cat)
    sheet = tmp_path / "runs.tsv"
    sheet.write_text("content\tstyle\tcw\tsw\ttvw\ncat\tstrokes\t0.025\t5\t1\ncat\tmosaic\t0.025\t5\t0.1\n"
                     "cup\tmosaic\t0.025\t5\t1\n")
    config = write_config(
        tmp_path, contents={"cat": str(cat), "cup": str(DATA / "content/coffee.png")},
        styles={"strokes": str(DATA / "styles/strokes.png"), "mosaic": str(DATA / "styles/mosaic.png")},
        runs=str(sheet), size=48, grid_cell=CELL, nst={"iterations": 1, "evals_per_iteration": 2, "precision": "float32"},
    )
    counts = job_counts(snakemake(tmp_path, "-n", "--configfile", config).stdout)
    assert counts["gallery"] == 2 and counts["grid_by_weights"] == 1  # only cw 0.025 sw 5 tvw 1 has two runs
    assert "grid_by_pair" not in counts and "gif_sweep" not in counts  # no pair has two triples
    snakemake(tmp_path, "--cores", "2", "--configfile", config)
    results = tmp_path / "results"
    assert Image.open(results / "galleries" / "cat.png").size == (2 * CELL, 2 * CELL)  # photo + 2 results
    assert Image.open(results / "galleries" / "cup.png").size == (2 * CELL, CELL)  # photo + 1 result
    # two runs of four cells would be half empty as a table: a list instead
    assert Image.open(results / "grids" / "by_weights" / "cw_0.025_sw_5_tvw_1.png").size == (2 * CELL, CELL)
    result = Image.open(results / "runs" / "c_cat_s_strokes_cw_0.025_sw_5_tvw_1" / "c_cat_s_strokes_cw_0.025_sw_5_tvw_1.png")
    alpha = np.asarray(result)[..., 3]
    assert result.mode == "RGBA" and alpha[:, :8].max() == 0 and alpha[:, 20:].min() == 255  # the strip: 12 px here


def test_rerun_has_nothing_to_do(tiny_run):
    workdir, config = tiny_run
    assert "Nothing to be done" in snakemake(workdir, "-n", "--configfile", config).stdout


def test_article_config_resolves_against_the_mirror(tmp_path, article):
    """Fetch (from the mirror, sha256-checked) and preprocess every image of the article's gallery."""
    overrides = ["--config", f"mirror={article}", f"runs={ROOT / 'config' / 'article_runs.tsv'}"]
    done = snakemake(tmp_path, "-n", "--configfile", ROOT / "config/article.yaml", *overrides)
    counts = job_counts(done.stdout)
    assert counts["transfer"] == 6 and counts["fetch"] == 8
    snakemake(tmp_path, "--cores", "2", "--configfile", ROOT / "config/article.yaml", "--until", "preprocess", *overrides)
    assert Image.open(tmp_path / "results/inputs/styles/starry_night.png").size == (512, 512)
    assert Image.open(tmp_path / "results/inputs/contents/hugo.png").size == (512, 512)


def test_the_articles_hyper_parameter_gif_config_runs(tmp_path, article):
    """config/article_sweep.yaml: hugo in one style, the style weight rising over five labelled frames.

    Run for real at 48 px and 2 x 3 evaluations (the config's own 512 px, 10 x 20 takes tens of minutes)."""
    config = yaml.safe_load((ROOT / "config/article_sweep.yaml").read_text())
    config.update(size=48, grid_cell=CELL, mirror=str(article),
                  nst={**config["nst"], "iterations": 2, "evals_per_iteration": 3, "precision": "float32",
                       "init": "content", "lbfgs_step": 1.0})  # 6 evaluations must move the image
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    counts = job_counts(snakemake(tmp_path, "-n", "--configfile", path).stdout)
    assert counts["transfer_pair"] == 1 and counts["gif_sweep"] == 1 and counts["fetch"] == 2
    snakemake(tmp_path, "--cores", "2", "--configfile", path)
    gif = Image.open(tmp_path / "results/gifs/sweeps/c_hugo_s_wave.gif")
    assert gif.n_frames == 5
    weights = [w[1] for w in config["weights"]]
    assert weights == sorted(weights) and len(set(weights)) == 5  # the style weight rises
    frames = []
    for k in range(5):
        gif.seek(k)
        frames.append(np.asarray(gif.convert("RGB"), np.float64))
    assert all(np.abs(a - b).mean() > 0 for a, b in zip(frames, frames[1:]))  # five frames, each its own


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"size": -5}, "config key size: -5 is less than the minimum of 16"),
        ({"nst": {"optimizer": "sgd"}}, "config key nst.optimizer: 'sgd' is not one of lbfgs, lbfgs32, adam"),
        ({"nst": {"iteration": 2}}, "config key nst: unknown key 'iteration' (did you mean 'iterations'?)"),
    ],
)
def test_a_wrong_config_value_is_one_line_naming_the_key(tmp_path, change, expected):
    """Not Snakemake's validation message, which quotes the schema (300 lines for an unknown nst key)."""
    config = write_config(
        tmp_path,
        **{"contents": {"chelsea": str(DATA / "content/chelsea.png")}, "styles": {"mosaic": str(DATA / "styles/mosaic.png")},
           **change},
    )
    done = snakemake(tmp_path, "-n", "--configfile", config, check=False)
    assert done.returncode != 0
    said = done.stdout + done.stderr  # Snakemake prints parse-time errors on stdout
    assert expected in said, said
    assert len(said.splitlines()) < 10, said


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"nst": {"scales": [32], "scale_evals": [5, 5]}}, "config key nst.scale_evals: needs one number per scale"),
        ({"nst": {"terms": {"style": 1.0}}}, "config key nst.terms: 'style' is a built-in term"),
        ({"weights": [[0, 0, 1]]}, "weights cw 0 · sw 0 · tvw 1 (run c_chelsea_s_mosaic_cw_0_sw_0_tvw_1): option "
                                   "content_weight/style_weight: at least one of them"),
    ],
)
def test_values_the_engine_would_refuse_stop_the_workflow_at_parse_time(tmp_path, change, expected):
    """The schema's types pass, but the engine's own checks (the same as `nst transfer`'s) do not."""
    config = write_config(
        tmp_path,
        **{"contents": {"chelsea": str(DATA / "content/chelsea.png")}, "styles": {"mosaic": str(DATA / "styles/mosaic.png")},
           **change},
    )
    done = snakemake(tmp_path, "-n", "--configfile", config, check=False)
    assert done.returncode != 0
    assert expected in done.stdout + done.stderr


def test_transfer_jobs_ask_for_the_engines_estimate_of_their_own_image(tmp_path):
    """mem_mb and runtime come from nst.estimate for the job's real backbone and aspect ratio."""
    from nst import estimate
    from nst.settings import TransferSettings
    from nst.terms import read_layers

    wide = tmp_path / "wide.png"
    Image.open(DATA / "content/coffee.png").convert("RGB").save(wide)  # 600 x 400
    config = write_config(tmp_path, contents={"cup": str(wide)}, styles={"mosaic": str(DATA / "styles/mosaic.png")},
                          weights=[[0.025, 5, 1], [0.025, 1, 1]], size=96, nst={"iterations": 2, "evals_per_iteration": 3})
    snakemake(tmp_path, "--cores", "1", "--configfile", config, "--until", "preprocess")
    out = snakemake(tmp_path, "-n", "--configfile", config, "--set-threads", "transfer_pair=1").stdout
    job = out[out.index("rule transfer_pair:"):]
    mem_mb = int(re.search(r"mem_mb=(\d+)", job).group(1))
    runtime = int(re.search(r"runtime=(\d+)", job).group(1))
    settings = TransferSettings(size=96, iterations=2, evals_per_iteration=3)
    assert Image.open(tmp_path / "results/inputs/contents/cup.png").size == (96, 64)
    assert mem_mb == int(1.25 * estimate.request_bytes(settings, "vgg19", 64, 96) / 2**20)
    assert mem_mb == int(1.25 * estimate.estimate_bytes("vgg19", read_layers(settings), 64, 96) / 2**20)  # small: untiled
    assert runtime == int(10 + 3 * 2 * estimate.run_seconds(settings, "vgg19", 64, 96, threads=1) / 60)


def test_print_size_jobs_ask_for_the_tiled_plan(tmp_path):
    """size 4096 with the print preset: the job asks for the engine's tiled plan within the cap
    (not the 52 GiB an untiled run would need) and for the time of its tiled stages."""
    from nst import estimate
    from nst.settings import TransferSettings
    from nst.terms import read_layers

    config = write_config(tmp_path, contents={"cup": str(DATA / "content/coffee.png")},
                          styles={"mosaic": str(DATA / "styles/mosaic.png")}, weights=[[0.025, 5, 1]], size=4096,
                          nst={"preset": "print"})
    snakemake(tmp_path, "--cores", "1", "--configfile", config, "--until", "preprocess")
    out = snakemake(tmp_path, "-n", "--configfile", config, "--set-threads", "transfer_pair=2").stdout
    job = out[out.index("rule transfer_pair:"):]
    mem_mb = int(re.search(r"mem_mb=(\d+)", job).group(1))
    runtime = int(re.search(r"runtime=(\d+)", job).group(1))
    settings = TransferSettings.from_preset("print", size=4096)
    height, width = Image.open(tmp_path / "results/inputs/contents/cup.png").size[::-1]
    assert max(height, width) == 4096 and settings.sizes() == [512, 1024, 2048, 4096]
    request = estimate.request_bytes(settings, "vgg19", height, width)
    assert mem_mb == int(1.25 * request) // 2**20
    assert request <= estimate.REQUEST_CAP < estimate.estimate_bytes("vgg19", read_layers(settings), height, width)
    limit = int(1.25 * request)
    assert estimate.plan_stage(settings, "vgg19", height, width, limit).tile > 0  # the last stage runs tiled
    assert runtime == int(10 + 3 * estimate.run_seconds(settings, "vgg19", height, width, 2, limit) / 60)


@pytest.mark.parametrize(
    "row, expected",
    [
        ("chelsea\tnope\t0.025\t5\t1", "row 2: style 'nope' is not a key of config styles"),
        ("chelsea\tmosaic\t0.025\tlots\t1", "row 2, column sw: a weight must be a number >= 0, got 'lots'"),
    ],
)
def test_a_bad_run_sheet_row_is_named(tmp_path, row, expected):
    sheet = tmp_path / "runs.tsv"
    sheet.write_text(f"content\tstyle\tcw\tsw\ttvw\n{row}\n")
    config = write_config(tmp_path, contents={"chelsea": str(DATA / "content/chelsea.png")},
                          styles={"mosaic": str(DATA / "styles/mosaic.png")}, runs=str(sheet))
    done = snakemake(tmp_path, "-n", "--configfile", config, check=False)
    assert done.returncode != 0
    assert expected in done.stdout + done.stderr


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sizes: 64\n", "config: unknown key 'sizes' (did you mean 'size'?)"),
        ("contents:\n  cat: a.png\n  cat: b.png\n", "config.yaml, line 5: 'cat' is given twice (also on line 4)"),
        ('styles:\n  "my style": a.png\n', "config styles: the name 'my style' names files and runs, so it may"),
        ('contents:\n  "holiday/cat": a.png\n', "config contents: the name 'holiday/cat' names files and runs"),
        ("contents:\n  a_s_b: a.png\n  a: a.png\nstyles:\n  c: s.png\n  b_s_c: s.png\n",
         "would both be named c_a_s_b_s_c_cw_0.025_sw_5_tvw_1; rename one of the images"),
        ("weights:\n  - [0.025, 5, 1]\n  - {style: -1}\n", "config weights, entry 2, style: a weight must be a number >= 0"),
        ("weights:\n  - [0.025, 5]\n", "config weights, entry 1: a list is the article's [cw, sw, tvw] triple"),
    ],
    ids=["unknown-key", "duplicate-name", "space-in-name", "slash-in-name", "run-name-clash", "negative-weight",
         "short-triple"],
)
def test_config_mistakes_are_named_in_one_line(tmp_path, text, expected):
    (tmp_path / "a.png").write_bytes((DATA / "content/chelsea.png").read_bytes())
    (tmp_path / "s.png").write_bytes((DATA / "styles/mosaic.png").read_bytes())
    config = tmp_path / "config.yaml"
    base = {"contents": "contents:\n  cat: a.png\n", "styles": "styles:\n  mosaic: s.png\n"}
    for key in base:
        if text.startswith(key) or f"\n{key}:" in text:
            base[key] = ""
    config.write_text(base["contents"] + base["styles"] + text)
    done = snakemake(tmp_path, "-n", "--configfile", config, check=False)
    assert done.returncode != 0
    assert expected in done.stdout + done.stderr, (done.stdout + done.stderr)[-2000:]


def test_bad_inputs_are_named_and_the_other_runs_finish(tmp_path):
    """A corrupt image, a missing file, a URL whose sha256 differs, an unreachable URL: one line each, keep-going."""
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes((DATA / "content/chelsea.png").read_bytes()[:5000])
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "strokes.png").write_bytes((DATA / "styles/strokes.png").read_bytes())
    config = write_config(
        tmp_path,
        contents={"chelsea": str(DATA / "content/chelsea.png"), "broken": str(corrupt), "gone": str(tmp_path / "absent.png")},
        styles={"mosaic": str(DATA / "styles/mosaic.png"),
                "wrong": {"url": "https://example.invalid/strokes.png", "sha256": "0" * 64},
                "far": {"url": "http://127.0.0.1:9/far.jpg", "sha256": "1" * 64}},
        mirror=str(mirror), size=48, nst={"iterations": 1, "evals_per_iteration": 2, "precision": "float32"},
    )
    done = snakemake(tmp_path, "--cores", "2", "--configfile", config, check=False, timeout=1200)
    assert done.returncode != 0
    said = sorted(line for line in done.stderr.splitlines() if line.startswith("nst: error"))
    assert len(said) == 4, done.stderr[-3000:]
    assert said[3].startswith(f"nst: error in rule preprocess: {corrupt}: cannot be decoded (")  # Pillow's words
    assert said[3].endswith("); the file is truncated or corrupt")
    assert said[:3] == sorted([
        f"nst: error in rule preprocess: {tmp_path / 'absent.png'}: no such file",
        f"nst: error in rule fetch: {mirror / 'strokes.png'}: sha256 is "
        f"{hashlib.sha256((DATA / 'styles/strokes.png').read_bytes()).hexdigest()}, but the config expects {'0' * 64}; "
        "the file is not the one named",
        f"nst: error in rule fetch: http://127.0.0.1:9/far.jpg: the mirror {mirror} has no far.jpg, and the download "
        "failed ([Errno 111] Connection refused); put far.jpg in a directory and set config key mirror to it",
    ]), done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert Image.open(tmp_path / "results/runs/c_chelsea_s_mosaic_cw_0.025_sw_5_tvw_1/"
                                 "c_chelsea_s_mosaic_cw_0.025_sw_5_tvw_1.png").size == (48, 32)
    assert not (tmp_path / "results/inputs/contents/broken.png").exists()
    assert not list((tmp_path / "results").rglob(".*.tmp"))


def test_a_full_disk_stops_with_one_line_keeps_what_was_made_and_a_rerun_finishes(tmp_path, tiny_run):
    config = tiny_config(tmp_path, contents=("chelsea",))  # its results take ~1.5 MB: 400 kB fill in the transfers
    results = tmp_path / "results"
    results.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(results)]).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        done = snakemake(tmp_path, "--cores", "2", "--configfile", config, check=False)
        assert done.returncode != 0
        full = [line for line in done.stderr.splitlines() if line.startswith("nst: error")]
        assert full and all("no space left on the device" in line for line in full), done.stderr[-3000:]
        assert "Traceback" not in done.stderr
        for image in results.rglob("*.png"):  # whatever is there is whole
            Image.open(image).load()
        assert not list(results.rglob(".*.tmp"))
        subprocess.run(["mount", "-o", "remount,size=64m", str(results)], check=True)
        snakemake(tmp_path, "--cores", "2", "--configfile", config)
        same_images(tiny_run[0], tmp_path)
    finally:
        subprocess.run(["umount", "-l", str(results)])


def test_a_second_snakemake_in_the_same_directory_is_refused(tmp_path):
    """The first run, asked for one run's image, is paused inside its transfer job after a checkpoint
    while the second starts, so it surely holds its lock whatever the CPU's speed; released, it
    finishes undisturbed."""
    config, marker = tiny_config(tmp_path, contents=("chelsea",)), tmp_path / "paused"
    run = "c_chelsea_s_strokes_cw_0.025_sw_5_tvw_1"
    command = [*SNAKEMAKE, f"results/runs/{run}/{run}.png", "--directory", str(tmp_path), "--cores", "2",
               "--configfile", str(config)]  # the target first: --configfile takes every name after it
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=paused(marker))
    try:
        wait_for_pause(marker, first)
        assert marker.exists(), "the transfer job did not reach its first checkpoint"
        second = snakemake(tmp_path, "--cores", "2", "--configfile", config, check=False)
        assert second.returncode != 0
        assert "Directory cannot be locked" in second.stdout + second.stderr
    finally:
        marker.unlink(missing_ok=True)
        assert first.wait(timeout=600) == 0  # the first one is not disturbed
    assert (tmp_path / "results" / "runs" / run / f"{run}.png").is_file()


def test_lint_is_clean():
    done = subprocess.run([*SNAKEMAKE, "--lint"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0 and "Congratulations" in done.stdout + done.stderr, done.stdout + done.stderr


def test_snakefmt_is_clean():
    files = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    done = subprocess.run([str(Path(sys.executable).with_name("snakefmt")), "--check", *map(str, files)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
