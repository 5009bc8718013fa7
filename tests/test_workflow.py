"""The Snakemake workflow, run for real with the real weights on small real images."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from snakemake_runner import ROOT, SNAKEMAKE, job_counts, snakemake

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
        batch_triples=batched,
    )
    counts = job_counts(snakemake(tmp_path, "-n", "--configfile", config, snakefile=ROOT / snakefile).stdout)
    # batched: one job (one process, one model) per content x style pair runs both triples
    assert (counts.get("transfer_pair", 0), counts.get("transfer", 0)) == ((6, 0) if batched else (0, 12))
    assert counts["preprocess"] == 5
    assert counts["grid_by_weights"] == 2 and counts["grid_by_pair"] == 6
    assert counts["gif_run"] == 12 and counts["gif_sweep"] == 6
    assert counts["summary"] == 1 and counts["plot_pair"] == 6 and counts["plot_sweep"] == 1


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


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """2 contents x 2 styles x 2 triples at 64 px, 2 iterations x 3 evaluations, real weights."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    config = write_config(
        workdir,
        contents={"chelsea": str(DATA / "content/chelsea.png"), "coffee": str(DATA / "content/coffee.png")},
        styles={"strokes": str(DATA / "styles/strokes.png"), "mosaic": str(DATA / "styles/mosaic.png")},
        weights=[[0.025, 5, 1], [0.1, 5, 0.1]],
        size=64,
        grid_cell=CELL,
        nst={"iterations": ITERATIONS, "evals_per_iteration": 3, "precision": "float32"},
    )
    snakemake(workdir, "--cores", "2", "--configfile", config)
    return workdir, config


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
    # contents x styles for each triple; the triples side by side for each pair
    by_weights = Image.open(results / "grids" / "by_weights" / "cw_0.025_sw_5_tvw_1.png")
    assert by_weights.size == (2 * CELL, 2 * CELL)
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
        batch_triples=False,
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
    table = pd.read_csv(results / "summary.csv", dtype={"cw": str, "sw": str, "tvw": str})
    assert len(table) == 8 * ITERATIONS
    for column in ("content", "style", "cw", "sw", "tvw", "iteration", "total_loss", "content_loss", "style_loss",
                   "tv_loss", "evaluations", "seconds", "backbone", "precision", "size"):
        assert column in table.columns
    assert set(table["precision"]) == {"float32"} and set(table["size"]) == {64}
    for run, rows in table.groupby("run"):
        with open(results / "runs" / run / "history.csv") as f:
            history = list(csv.DictReader(f))
        assert [float(h["total_loss"]) for h in history] == list(rows["total_loss"])
        assert [int(h["evaluations"]) for h in history] == list(rows["evaluations"])
        record = json.loads((results / "runs" / run / "run.json").read_text())
        assert record["settings"]["content_weight"] == float(rows["cw"].iloc[0])
        assert record["settings"]["tv_weight"] == float(rows["tvw"].iloc[0])


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
    assert len(files) == 8 + 8 + 2 + 4 + 4 + 1 + 4 + 1  # runs, run GIFs, grids x2, sweep GIFs, CSV, plots


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


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"size": -5}, "size"),
        ({"weights": [[0.025, 5]]}, "weights"),
        ({"nst": {"optimizer": "sgd"}}, "optimizer"),
    ],
)
def test_a_wrong_config_value_is_named(tmp_path, change, expected):
    config = write_config(
        tmp_path,
        **{"contents": {"chelsea": str(DATA / "content/chelsea.png")}, "styles": {"mosaic": str(DATA / "styles/mosaic.png")},
           **change},
    )
    done = snakemake(tmp_path, "-n", "--configfile", config, check=False)
    assert done.returncode != 0
    said = done.stdout + done.stderr  # Snakemake prints parse-time errors on stdout
    assert f"['{expected}']" in said, said  # e.g. "On instance['size']" or "['nst']['optimizer']"
    assert "Error validating config file" in said


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"nst": {"scales": [32], "scale_evals": [5, 5]}}, "config key nst.scale_evals: needs one number per scale"),
        ({"nst": {"terms": {"style": 1.0}}}, "config key nst.terms: 'style' is a built-in term"),
        ({"weights": [[0, 0, 1]]}, "weights [0, 0, 1]: option content_weight/style_weight: at least one of them"),
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
    assert mem_mb == int(1.25 * estimate.estimate_bytes("vgg19", settings.layers(), 64, 96) / 2**20)
    assert runtime == int(10 + 3 * 2 * estimate.run_seconds(settings, "vgg19", 64, 96, threads=1) / 60)


@pytest.mark.parametrize(
    "row, expected",
    [
        ("chelsea\tnope\t0.025\t5\t1", "row 2: style 'nope' is not a key of config styles"),
        ("chelsea\tmosaic\t0.025\tlots\t1", "'lots' is not of type 'number'"),
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


def test_a_corrupt_input_image_stops_with_its_name(tmp_path):
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes((DATA / "content/chelsea.png").read_bytes()[:5000])
    config = write_config(tmp_path, contents={"broken": str(corrupt)}, styles={"mosaic": str(DATA / "styles/mosaic.png")},
                          size=64, nst={"iterations": 1, "evals_per_iteration": 2})
    done = snakemake(tmp_path, "--cores", "2", "--configfile", config, check=False)
    assert done.returncode != 0
    assert f"nst: error in rule preprocess: {corrupt}: cannot be decoded" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "results/inputs/contents/broken.png").exists()


def test_lint_is_clean():
    done = subprocess.run([*SNAKEMAKE, "--lint"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0 and "Congratulations" in done.stdout + done.stderr, done.stdout + done.stderr


def test_snakefmt_is_clean():
    files = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    done = subprocess.run([str(Path(sys.executable).with_name("snakefmt")), "--check", *map(str, files)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
