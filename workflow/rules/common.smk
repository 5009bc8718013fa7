"""Tables of runs, naming, input functions and resources of the nst workflow."""

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from nst.settings import TransferSettings

validate(config, schema="../schemas/config.schema.yaml")

# Scripts import the nst package from this repository, also inside conda environments.
PROJECT_ROOT = str(Path(workflow.basedir).resolve())
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        p for p in (PROJECT_ROOT, os.getenv("PYTHONPATH", "")) if p
    )
)

NST = config["nst"]
SIZE = config["size"]

# The transfers' own settings (config nst over the article's defaults), for their stages.
STAGES = TransferSettings(**NST, size=SIZE).stages()

# one frame per iteration of every stage
N_FRAMES = sum(iterations for _, iterations, _ in STAGES)


def number(value):
    """A weight as the article wrote it in file names: 0.025, 5, 0.1 (no trailing .0, no exponent)."""
    return np.format_float_positional(float(value), trim="-")


def run_name(content, style, cw, sw, tvw):
    return f"c_{content}_s_{style}_cw_{cw}_sw_{sw}_tvw_{tvw}"


def triple_name(cw, sw, tvw):
    return f"cw_{cw}_sw_{sw}_tvw_{tvw}"


def pair_name(content, style):
    return f"c_{content}_s_{style}"


def read_run_sheet(path):
    """The hand-picked runs of a TSV sheet (content, style, cw, sw, tvw), checked row by row."""
    if not Path(path).is_file():
        raise WorkflowError(f"config key runs: no such run sheet {path}")
    sheet = pd.read_csv(path, sep="\t", comment="#", dtype=str).rename(
        columns=str.strip
    )
    missing = {"content", "style", "cw", "sw", "tvw"} - set(sheet.columns)
    if missing:
        raise WorkflowError(
            f"run sheet {path}: missing column(s) {', '.join(sorted(missing))}"
        )
    rows = []
    for index, row in sheet.iterrows():
        where = f"run sheet {path}, row {index + 2}"
        for kind, column in (("contents", "content"), ("styles", "style")):
            if row[column] not in config[kind]:
                raise WorkflowError(
                    f"{where}: {column} {row[column]!r} is not a key of config {kind}"
                )
        try:
            weights = [float(row[c]) for c in ("cw", "sw", "tvw")]
        except ValueError:
            raise WorkflowError(f"{where}: cw, sw and tvw must be numbers") from None
        if any(w < 0 or not np.isfinite(w) for w in weights):
            raise WorkflowError(f"{where}: cw, sw and tvw must be finite numbers >= 0")
        rows.append((row["content"], row["style"], *weights))
    return rows


def build_runs():
    if config["runs"]:
        combos = read_run_sheet(config["runs"])
    else:
        combos = [
            (c, s, *w)
            for c in config["contents"]
            for s in config["styles"]
            for w in config["weights"]
        ]
    table = pd.DataFrame(
        [
            {
                "content": c,
                "style": s,
                "cw": number(cw),
                "sw": number(sw),
                "tvw": number(tvw),
            }
            for c, s, cw, sw, tvw in combos
        ]
    )
    table["triple"] = [triple_name(r.cw, r.sw, r.tvw) for r in table.itertuples()]
    table["pair"] = [pair_name(r.content, r.style) for r in table.itertuples()]
    table["run"] = [
        run_name(r.content, r.style, r.cw, r.sw, r.tvw) for r in table.itertuples()
    ]
    return table.drop_duplicates("run").set_index("run", drop=False)


RUNS = build_runs()
CONTENTS = list(dict.fromkeys(RUNS["content"]))
STYLES = list(dict.fromkeys(RUNS["style"]))
TRIPLES = list(dict.fromkeys(RUNS["triple"]))
PAIRS = list(dict.fromkeys(RUNS["pair"]))


def alternatives(names):
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


wildcard_constraints:
    kind="contents|styles",
    name=alternatives(list(config["contents"]) + list(config["styles"])),
    run=alternatives(RUNS.index),
    content=alternatives(CONTENTS),
    style=alternatives(STYLES),
    triple=alternatives(TRIPLES),
    pair=alternatives(PAIRS),


# --- image sources -----------------------------------------------------------------


def source_of(kind, name):
    return config[kind][name]


def is_remote(kind, name):
    return isinstance(source_of(kind, name), dict)


def raw_image(wildcards):
    """A local image's own path, or where the fetch rule puts a URL's file."""
    if is_remote(wildcards.kind, wildcards.name):
        return f"results/downloads/{wildcards.kind}/{wildcards.name}"
    return source_of(wildcards.kind, wildcards.name)


def fetch_url(wildcards):
    return source_of(wildcards.kind, wildcards.name)["url"]


def fetch_sha256(wildcards):
    return source_of(wildcards.kind, wildcards.name)["sha256"]


def preprocess_size(wildcards):
    """Contents at the result's size; styles at size × style_scale, as `nst` would resize them."""
    if wildcards.kind == "styles":
        return max(1, round(SIZE * NST["style_scale"]))
    return SIZE


# --- runs --------------------------------------------------------------------------


def run_row(wildcards):
    return RUNS.loc[wildcards.run]


# One job per content x style pair runs all its triples, where every pair has them all.
BATCHED = bool(config["batch_triples"]) and not config["runs"]


def run_outputs(run):
    """Where one run's stylize writes: what the transfer scripts receive per run."""
    row = RUNS.loc[run]
    return {
        "cw": row.cw,
        "sw": row.sw,
        "tvw": row.tvw,
        "image": f"results/runs/{run}/{run}.png",
        "frames_dir": f"results/runs/{run}/iterations",
        "history": f"results/runs/{run}/history.csv",
        "record": f"results/runs/{run}/run.json",
    }


def single_run(wildcards):
    return [run_outputs(wildcards.run)]


def pair_of(wildcards):
    return pair_name(wildcards.content, wildcards.style)


def pair_run_outputs(wildcards):
    return [run_outputs(r) for r in runs_where("pair", pair_of(wildcards)).index]


def pair_inputs(wildcards):
    return {
        "content": f"results/inputs/contents/{wildcards.content}.png",
        "style": f"results/inputs/styles/{wildcards.style}.png",
    }


def transfer_inputs(wildcards):
    row = run_row(wildcards)
    return {
        "content": f"results/inputs/contents/{row.content}.png",
        "style": f"results/inputs/styles/{row.style}.png",
    }


def run_labels(wildcards):
    return labels_of(wildcards.run)


def labels_of(run):
    row = RUNS.loc[run]
    return {
        "content": row.content,
        "style": row.style,
        "cw": row.cw,
        "sw": row.sw,
        "tvw": row.tvw,
    }


def triple_labels(triple):
    """Report labels of the run of `triple` in a batched job's pair."""

    def labels(wildcards):
        return labels_of(f"{pair_of(wildcards)}_{triple}")

    return labels


def frames_of(run):
    return [f"results/runs/{run}/iterations/{run}_i_{k}.png" for k in range(N_FRAMES)]


def run_frames(wildcards):
    return frames_of(wildcards.run)


def runs_where(column, value):
    return RUNS[RUNS[column] == value]


def triple_runs(wildcards):
    return runs_where("triple", wildcards.triple).to_dict("records")


def pair_runs(wildcards):
    return runs_where("pair", wildcards.pair).to_dict("records")


def frame_captions(wildcards):
    return [f"iteration {k + 1} of {N_FRAMES}" for k in range(N_FRAMES)]


def sweep_captions(wildcards):
    return [
        f"cw {r['cw']} · sw {r['sw']} · tvw {r['tvw']}" for r in pair_runs(wildcards)
    ]


def pair_finals(wildcards):
    return [
        f"results/runs/{r}/{r}.png" for r in runs_where("pair", wildcards.pair).index
    ]


def triple_finals(wildcards):
    return [
        f"results/runs/{r}/{r}.png"
        for r in runs_where("triple", wildcards.triple).index
    ]


def all_histories(wildcards):
    return [f"results/runs/{r}/history.csv" for r in RUNS.index]


def all_records(wildcards):
    return [f"results/runs/{r}/run.json" for r in RUNS.index]


# --- resources ---------------------------------------------------------------------

# Seconds of one float32 loss+gradient evaluation at 512² on this project's 2-core CPU
# (3.75 s measured by benchmarks/performance.py, rounded up); runtime requests scale it by
# area and evaluations (every stage counted at full size), x3 headroom.
SECONDS_PER_EVAL_512 = 4.0


def evaluations():
    return sum(iterations * evals for _, iterations, evals in STAGES)


def transfer_runtime(wildcards, attempt):
    """Minutes to request: the job's estimated time with headroom, more on each retry."""
    runs = len(TRIPLES) if BATCHED else 1
    seconds = runs * evaluations() * SECONDS_PER_EVAL_512 * (SIZE / 512) ** 2
    return int(10 + 3 * attempt * seconds / 60)


def transfer_mem_mb(wildcards, attempt):
    """The engine's own estimate for a square image of the configured size, plus margin."""
    from nst.memory import estimate_bytes

    layers = list(dict.fromkeys(NST["content_layers"] + NST["style_layers"]))
    need = estimate_bytes("vgg19", layers, SIZE, SIZE, NST["lbfgs_history"])
    return int(attempt * 1.25 * need / 2**20)


# --- targets -----------------------------------------------------------------------


def final_outputs(wildcards=None):
    return (
        [f"results/runs/{r}/{r}.png" for r in RUNS.index]
        + [f"results/grids/by_weights/{t}.png" for t in TRIPLES]
        + [f"results/grids/by_pair/{p}.png" for p in PAIRS]
        + [f"results/gifs/runs/{r}.gif" for r in RUNS.index]
        + [f"results/gifs/sweeps/{p}.gif" for p in PAIRS]
        + ["results/summary.csv", "results/plots/sweep.png"]
        + [f"results/plots/pairs/{p}.png" for p in PAIRS]
    )
