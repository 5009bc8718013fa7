"""Tables of runs, input functions and resources of the nst workflow.

Names and paths come from nst.workflow.naming; what a transfer will do (its stages, frames,
style size, memory and time) comes from the engine's own settings and estimates, so
nothing here restates them.
"""

import os
import re
import sys
from pathlib import Path

import pandas as pd
from PIL import Image
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The nst package of this repository, for this process and for every job's script (also
# inside conda environments). Found from this file, whichever Snakefile was the entry point.
PROJECT_ROOT = str(Path(str(workflow.current_basedir)).resolve().parents[1])
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        p for p in (PROJECT_ROOT, os.getenv("PYTHONPATH", "")) if p
    )
)

from nst import estimate
from nst.errors import NSTError, SettingsError
from nst.settings import TransferSettings
from nst.weights import which_backbone
from nst.workflow import naming

validate(config, schema="../schemas/config.schema.yaml")

SIZE = config["size"]


def transfer_settings():
    """Config nst over the article's defaults, checked by the engine's own rules."""
    try:
        settings = TransferSettings.from_mapping(
            config["nst"], size=SIZE, seed=config["seed"]
        )
        return settings.validate()
    except SettingsError as exc:
        raise WorkflowError(f"config key nst.{exc.option}: {exc.problem}") from None


SETTINGS = transfer_settings()
N_FRAMES = SETTINGS.frame_count()
try:
    BACKBONE = which_backbone(SETTINGS.backbone, SETTINGS.weights)
except NSTError as exc:
    raise WorkflowError(f"config key nst.weights: {exc}") from None


# --- runs --------------------------------------------------------------------------


def read_run_sheet(path):
    """The hand-picked runs of a TSV sheet (content, style, cw, sw, tvw), checked row by row."""
    if not Path(path).is_file():
        raise WorkflowError(f"config key runs: no such run sheet {path}")
    sheet = pd.read_csv(
        path, sep="\t", comment="#", dtype={"content": str, "style": str}
    ).rename(columns=str.strip)
    validate(sheet, schema="../schemas/runs.schema.yaml")
    for index, row in sheet.iterrows():
        for kind, column in (("contents", "content"), ("styles", "style")):
            if row[column] not in config[kind]:
                raise WorkflowError(
                    f"run sheet {path}, row {index + 2}: {column} {row[column]!r} "
                    f"is not a key of config {kind}"
                )
    return [
        tuple(r)
        for r in sheet[["content", "style", "cw", "sw", "tvw"]].itertuples(index=False)
    ]


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
    rows = []
    for content, style, *weights in combos:
        cw, sw, tvw = map(naming.number, weights)
        check_triple(weights)
        rows.append(
            {
                "content": content,
                "style": style,
                "cw": cw,
                "sw": sw,
                "tvw": tvw,
                "triple": naming.triple_name(cw, sw, tvw),
                "pair": naming.pair_name(content, style),
                "run": naming.run_name(content, style, cw, sw, tvw),
            }
        )
    return pd.DataFrame(rows).drop_duplicates("run").set_index("run", drop=False)


def check_triple(weights):
    """A weight triple the engine would refuse stops the workflow before any job runs."""
    try:
        with_weights(*weights).validate()
    except SettingsError as exc:
        raise WorkflowError(f"weights {list(weights)}: {exc}") from None


def with_weights(cw, sw, tvw):
    return TransferSettings(
        **{
            **SETTINGS.to_dict(),
            "content_weight": float(cw),
            "style_weight": float(sw),
            "tv_weight": float(tvw),
        }
    )


RUNS = build_runs()
CONTENTS = list(dict.fromkeys(RUNS["content"]))
STYLES = list(dict.fromkeys(RUNS["style"]))
TRIPLES = list(dict.fromkeys(RUNS["triple"]))
PAIRS = list(dict.fromkeys(RUNS["pair"]))

# One job per content x style pair runs all its triples, where every pair has them all.
BATCHED = bool(config["batch_triples"]) and not config["runs"]


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


def raw_image(wildcards):
    """A local image's own path, or where the fetch rule puts a URL's file."""
    source = source_of(wildcards.kind, wildcards.name)
    if isinstance(source, dict):
        return naming.DOWNLOAD.format(kind=wildcards.kind, name=wildcards.name)
    return source


def fetch_url(wildcards):
    return source_of(wildcards.kind, wildcards.name)["url"]


def fetch_sha256(wildcards):
    return source_of(wildcards.kind, wildcards.name)["sha256"]


def preprocess_size(wildcards):
    """Contents at the result's size; styles at the size the engine resizes them to."""
    return SETTINGS.style_size(SIZE) if wildcards.kind == "styles" else SIZE


def input_image(kind, name):
    return naming.INPUT.format(kind=kind, name=name)


# --- transfers ---------------------------------------------------------------------


def runs_where(column, value):
    return RUNS[RUNS[column] == value]


def run_job(run):
    """What the transfer script needs of one run: its weights and where it writes."""
    row = RUNS.loc[run]
    return {"cw": row.cw, "sw": row.sw, "tvw": row.tvw, **naming.run_files(run)}


def pair_of(wildcards):
    return naming.pair_name(wildcards.content, wildcards.style)


def job_runs(wildcards):
    """The runs of one transfer job: its own run, or every triple of its pair."""
    if "run" in wildcards.keys():
        return [run_job(wildcards.run)]
    return [run_job(r) for r in runs_where("pair", pair_of(wildcards)).index]


def transfer_inputs(wildcards):
    """The preprocessed content and style of a job (one run's, or one pair's)."""
    if "run" in wildcards.keys():
        row = RUNS.loc[wildcards.run]
        content, style = row.content, row.style
    else:
        content, style = wildcards.content, wildcards.style
    return {
        "content": input_image("contents", content),
        "style": input_image("styles", style),
    }


# A pair job's name, in the pair rule's wildcards.
PAIR_PATTERN = naming.pair_name("{content}", "{style}")


def pair_run(triple):
    """The run pattern of `triple` in a pair job."""
    return f"{PAIR_PATTERN}_{triple}"


def run_labels(wildcards):
    return labels_of(wildcards.run)


def labels_of(run):
    row = RUNS.loc[run]
    return {k: row[k] for k in ("content", "style", "cw", "sw", "tvw")}


def triple_labels(triple):
    """Report labels of the run of `triple` in a pair job."""

    def labels(wildcards):
        return labels_of(f"{pair_of(wildcards)}_{triple}")

    return labels


def image_shape(path):
    """(height, width) of an image, from its header."""
    with Image.open(path) as image:
        return image.height, image.width


def transfer_mem_mb(wildcards, input, attempt):
    """The engine's estimate for this job's content (its backbone, its aspect ratio), plus margin."""
    height, width = image_shape(input.content)
    need = estimate.estimate_bytes(
        BACKBONE, SETTINGS.layers(), height, width, SETTINGS.lbfgs_history
    )
    return int(attempt * 1.25 * need / 2**20)


def transfer_runtime(wildcards, input, threads, attempt):
    """Minutes: the engine's estimate for every run of the job, x3 headroom, more on each retry."""
    height, width = image_shape(input.content)
    seconds = len(job_runs(wildcards)) * estimate.run_seconds(
        SETTINGS, BACKBONE, height, width, threads
    )
    return int(10 + 3 * attempt * seconds / 60)


# --- galleries and tables ----------------------------------------------------------


def run_frames(wildcards):
    return naming.frame_files(wildcards.run, N_FRAMES)


def triple_runs(wildcards):
    return runs_where("triple", wildcards.triple).to_dict("records")


def pair_runs(wildcards):
    return runs_where("pair", wildcards.pair).to_dict("records")


def frame_captions(wildcards):
    return [f"iteration {k + 1} of {N_FRAMES}" for k in range(N_FRAMES)]


def sweep_captions(wildcards):
    return [
        naming.triple_label(r["cw"], r["sw"], r["tvw"]) for r in pair_runs(wildcards)
    ]


def finals(runs):
    return [naming.RUN_IMAGE.format(run=r) for r in runs.index]


def pair_finals(wildcards):
    return finals(runs_where("pair", wildcards.pair))


def triple_finals(wildcards):
    return finals(runs_where("triple", wildcards.triple))


def all_histories(wildcards):
    return [naming.RUN_HISTORY.format(run=r) for r in RUNS.index]


def all_records(wildcards):
    return [naming.RUN_RECORD.format(run=r) for r in RUNS.index]


# --- targets -----------------------------------------------------------------------


def final_outputs(wildcards=None):
    return (
        finals(RUNS)
        + [naming.GRID_BY_WEIGHTS.format(triple=t) for t in TRIPLES]
        + [naming.GRID_BY_PAIR.format(pair=p) for p in PAIRS]
        + [naming.GIF_RUN.format(run=r) for r in RUNS.index]
        + [naming.GIF_SWEEP.format(pair=p) for p in PAIRS]
        + [naming.SUMMARY, naming.PLOT_SWEEP]
        + [naming.PLOT_PAIR.format(pair=p) for p in PAIRS]
    )
