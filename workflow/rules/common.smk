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
from snakemake.common.configfile import load_configfile

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
from nst.video.chain import TEMPORAL_WEIGHT
from nst.workflow import mask_sets, naming, runs
from nst.workflow.config_checks import ConfigProblem, check_config, check_files

# What the user set in nst: (before the schema fills in the article's defaults), so that
# the keys set explicitly win over nst.preset and the others come from the preset.
NST_GIVEN = dict(config.get("nst") or {})

try:
    check_files(workflow.configfiles)
    runs.check_entries(config.get("weights"))
    mask_sets.check(
        config.get("mask_sets"),
        config.get("contents") or {},
        config.get("styles") or {},
    )
    if not (config.get("contents") or config.get("videos")):
        raise ConfigProblem("config: give contents (images), videos (clips) or both")
    check_config(
        config,
        list(
            load_configfile(
                Path(str(workflow.current_basedir)) / "../schemas/config.schema.yaml"
            )["properties"]
        ),
    )
except ConfigProblem as exc:
    raise WorkflowError(str(exc)) from None
validate(config, schema="../schemas/config.schema.yaml")

SIZE = config["size"]


def transfer_settings():
    """Config nst over its preset's defaults, checked by the engine's own rules."""
    try:
        settings = TransferSettings.from_mapping(
            NST_GIVEN, size=SIZE, seed=config["seed"]
        )
        return settings.validate()
    except SettingsError as exc:
        raise WorkflowError(f"config key nst.{exc.option}: {exc.problem}") from None


SETTINGS = transfer_settings()
# the effective values, for the report and anything else that reads config["nst"]
config["nst"].update(
    {k: v for k, v in SETTINGS.to_dict().items() if k in config["nst"]}
)
N_FRAMES = SETTINGS.frame_count()
try:
    BACKBONE = which_backbone(SETTINGS.backbone, SETTINGS.weights)
except NSTError as exc:
    raise WorkflowError(f"config key nst.weights: {exc}") from None


# --- runs --------------------------------------------------------------------------


def build_runs(videos=False):
    """The run table (nst.workflow.runs) of the images or (`videos`) the clips, each run's weights
    checked by the engine's rules. Clips run with the temporal term (its weight a weights entry's
    `temporal`, default TEMPORAL_WEIGHT); images without it."""
    defaults = SETTINGS.weights_by_term()
    sources = config.get("videos" if videos else "contents") or {}
    if not sources:
        return runs.build_runs([], [], [], defaults)
    try:
        table = runs.build_runs(
            list(sources),
            list(config["styles"]),
            config["weights"],
            {**defaults, "temporal": TEMPORAL_WEIGHT} if videos else defaults,
            "" if videos else config["runs"],
            {"color_transfer": config["color_transfers"] or [SETTINGS.color_transfer]},
            None if videos else config["mask_sets"],
            ignore=() if videos else ("temporal",),
        )
    except ConfigProblem as exc:
        raise WorkflowError(str(exc)) from None
    for variant, same in table.groupby("variant", sort=False):
        try:
            run_settings(same.iloc[0]).validate()
        except SettingsError as exc:
            raise WorkflowError(
                f"weights {runs.run_label(same.iloc[0])} (run {same.index[0]}): {exc}"
            ) from None
    return table


def run_settings(row):
    """The settings of one run of the table: the nst block, its axes' values, its weights."""
    return runs.run_settings(
        SETTINGS.to_dict(), runs.run_weights(row), runs.run_options(row)
    )


RUNS = build_runs()
VIDEO_RUNS = build_runs(videos=True)
CONTENTS = list(dict.fromkeys(RUNS["content"]))
STYLES = list(dict.fromkeys(RUNS["style"]))
VARIANTS = list(dict.fromkeys(RUNS["variant"]))
PAIRS = list(dict.fromkeys(RUNS["pair"]))

# One job per content x style pair runs all its variants, where every pair has them all.
BATCHED = bool(config["batch_triples"]) and not config["runs"]


def alternatives(names):
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


wildcard_constraints:
    kind="contents|styles|videos",
    name=alternatives(
        list(config.get("contents") or {})
        + list(config["styles"])
        + list(config.get("videos") or {})
    ),
    run=alternatives(list(RUNS.index) + list(VIDEO_RUNS.index)),
    video=alternatives(config.get("videos") or {}),
    content=alternatives(CONTENTS),
    style=alternatives(STYLES),
    variant=alternatives(VARIANTS),
    pair=alternatives(PAIRS),


# --- image sources -----------------------------------------------------------------


def source_of(kind, name):
    return config[kind][name]


def image_source(wildcards):
    """A local image's own path, or where the fetch rule puts a URL's file."""
    source = source_of(wildcards.kind, wildcards.name)
    if isinstance(source, dict):
        return naming.DOWNLOAD.format(kind=wildcards.kind, name=wildcards.name)
    return source


def raw_image(wildcards):
    """The preprocess job's input: its source, or nothing when a local file is missing, so
    that only this image's job fails (naming the file) and the other runs go on."""
    source = image_source(wildcards)
    return (
        source
        if isinstance(source_of(wildcards.kind, wildcards.name), dict)
        or Path(source).exists()
        else []
    )


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


def run_regions(row):
    """A run's mask-set regions (nst.workflow.mask_sets.Regions; none when unmasked)."""
    return mask_sets.regions(config["mask_sets"], row["mask_set"], row["content"])


def run_job(run):
    """What the transfer script needs of one run: its weights by term name, its values on the
    sweep's other axes (nst options), its masks and further styles, and where it writes.
    """
    row = RUNS.loc[run]
    regions = run_regions(row)
    return {
        "weights": runs.run_weights(row),
        "options": runs.run_options(row),
        "masks": regions.masks,
        "further_styles": [input_image("styles", s) for s in regions.further_styles],
        **naming.run_files(run),
    }


def pair_of(wildcards):
    return naming.pair_name(wildcards.content, wildcards.style)


def job_runs(wildcards):
    """The runs of one transfer job: its own run, or every run of its pair."""
    if "run" in wildcards.keys():
        return [run_job(wildcards.run)]
    return [run_job(r) for r in runs_where("pair", pair_of(wildcards)).index]


def transfer_inputs(wildcards):
    """The preprocessed content and style of a job (one run's, or one pair's), and the masks and
    further styles of its masked runs."""
    if "run" in wildcards.keys():
        rows = RUNS.loc[[wildcards.run]]
    else:
        rows = runs_where("pair", pair_of(wildcards))
    regions = [run_regions(row) for _, row in rows.iterrows()]
    further = dict.fromkeys(s for r in regions for s in r.further_styles)
    return {
        "content": input_image("contents", rows.iloc[0].content),
        "style": input_image("styles", rows.iloc[0]["style"]),
        "masks": list(dict.fromkeys(m for r in regions for m in r.masks)),
        "further_styles": [input_image("styles", s) for s in further],
    }


# A pair job's name, in the pair rule's wildcards.
PAIR_PATTERN = naming.pair_name("{content}", "{style}")


def pair_run(variant):
    """The run pattern of `variant` in a pair job."""
    return naming.run_name(PAIR_PATTERN, variant)


# --- the report: every run's items grouped by content (category) and style (subcategory) ---


def run_of(wildcards, variant=None):
    """The run a report item belongs to: its `run` wildcard, or `variant` within a pair job."""
    if variant is None:
        return wildcards.run
    return naming.run_name(pair_of(wildcards), variant)


def report_item(shows, variant=None):
    """Category, subcategory and labels of one report item of a run."""

    def category(wildcards):
        return RUNS.loc[run_of(wildcards, variant)].content

    def subcategory(wildcards):
        return RUNS.loc[run_of(wildcards, variant)].style

    def labels(wildcards):
        row = RUNS.loc[run_of(wildcards, variant)]
        return {"weights": runs.run_label(row), "shows": shows}

    return {"category": category, "subcategory": subcategory, "labels": labels}


def image_shape(path):
    """(height, width) of an image, from its header."""
    with Image.open(path) as image:
        return image.height, image.width


def transfer_request_bytes(input, attempt):
    """Memory for one transfer job: the engine's plan of its largest stage for this job's content
    (its backbone, its aspect ratio), untiled where that stays under estimate.REQUEST_CAP and
    tiled within it beyond, plus margin, more on each retry. The job plans within what it gets
    (SLURM_MEM_PER_NODE), so it stays inside its allocation."""
    height, width = image_shape(input.content)
    need = estimate.request_bytes(SETTINGS, BACKBONE, height, width)
    return int(attempt * 1.25 * need)


def transfer_mem_mb(wildcards, input, attempt):
    return transfer_request_bytes(input, attempt) // 2**20


def transfer_runtime(wildcards, input, threads, attempt):
    """Minutes: the engine's estimate for every run of the job, tiled stages at their cost within
    the job's memory, x3 headroom, more on each retry."""
    height, width = image_shape(input.content)
    seconds = len(job_runs(wildcards)) * estimate.run_seconds(
        SETTINGS,
        BACKBONE,
        height,
        width,
        threads,
        limit=transfer_request_bytes(input, attempt),
    )
    return int(10 + 3 * attempt * seconds / 60)


# --- galleries and tables ----------------------------------------------------------


def run_frames(wildcards):
    return naming.frame_files(wildcards.run, N_FRAMES)


def variant_runs(wildcards):
    return runs_where("variant", wildcards.variant).to_dict("records")


def content_runs(wildcards):
    return runs_where("content", wildcards.content).to_dict("records")


def variant_inputs(wildcards):
    """A contents x styles grid's results, and the inputs its headers show."""
    same = runs_where("variant", wildcards.variant)
    return {
        "finals": finals(same),
        "contents": [input_image("contents", c) for c in dict.fromkeys(same.content)],
        "styles": [input_image("styles", s) for s in dict.fromkeys(same["style"])],
    }


def gallery_inputs(wildcards):
    """One content image's gallery: the photo, its results, and their styles."""
    same = runs_where("content", wildcards.content)
    return {
        "content": input_image("contents", wildcards.content),
        "finals": finals(same),
        "styles": [input_image("styles", s) for s in same["style"]],
    }


def pair_runs(wildcards):
    return runs_where("pair", wildcards.pair).to_dict("records")


def single_run_record(wildcards):
    return [RUNS.loc[wildcards.run].to_dict()]


def frame_captions(wildcards):
    return [f"iteration {k + 1} of {N_FRAMES}" for k in range(N_FRAMES)]


def sweep_captions(wildcards):
    return [runs.run_label(r) for r in pair_runs(wildcards)]


def finals(table):
    return [naming.RUN_IMAGE.format(run=r) for r in table.index]


def pair_finals(wildcards):
    return finals(runs_where("pair", wildcards.pair))


def all_histories(wildcards):
    return [naming.RUN_HISTORY.format(run=r) for r in RUNS.index]


def all_records(wildcards):
    return [naming.RUN_RECORD.format(run=r) for r in RUNS.index]


# --- targets -----------------------------------------------------------------------


# Pairs run in several variants: their side-by-side grids, sweep GIFs and loss plots
# compare something (a run sheet's pairs often have one).
SWEPT_PAIRS = [p for p in PAIRS if (RUNS["pair"] == p).sum() > 1]
# Likewise a contents x styles grid needs more than one run of its variant.
GRIDDED_VARIANTS = [v for v in VARIANTS if (RUNS["variant"] == v).sum() > 1]


def final_outputs(wildcards=None):
    return (
        finals(RUNS)
        + [naming.GALLERY.format(content=c) for c in CONTENTS]
        + [naming.GRID_BY_WEIGHTS.format(variant=v) for v in GRIDDED_VARIANTS]
        + [naming.GRID_BY_PAIR.format(pair=p) for p in SWEPT_PAIRS]
        + [naming.GIF_RUN.format(run=r) for r in RUNS.index]
        + [naming.GIF_SWEEP.format(pair=p) for p in SWEPT_PAIRS]
        + [naming.SUMMARY, naming.PLOT_SWEEP]
        + [naming.PLOT_PAIR.format(pair=p) for p in SWEPT_PAIRS]
        + [naming.PLOT_RUN.format(run=r) for r in RUNS.index]
        + video_outputs()
    )


# --- videos ------------------------------------------------------------------------


def video_row(wildcards):
    return VIDEO_RUNS.loc[wildcards.run]


def video_source(wildcards):
    """A clip's own path (file or folder), or where the fetch rule puts a URL's file."""
    source = source_of("videos", wildcards.video)
    if isinstance(source, dict):
        return naming.DOWNLOAD.format(kind="videos", name=wildcards.video)
    return source


def video_transfer_inputs(wildcards):
    row = video_row(wildcards)
    return {
        "frames": naming.VIDEO_FRAMES.format(video=row.content),
        "info": naming.VIDEO_INFO.format(video=row.content),
        "motion": naming.VIDEO_MOTION.format(video=row.content),
        "style": input_image("styles", row["style"]),
    }


def video_job(wildcards):
    row = video_row(wildcards)
    return {
        "weights": runs.run_weights(row),
        "options": runs.run_options(row),
        "checkpoint": naming.VIDEO_CHECKPOINT.format(run=wildcards.run),
    }


def video_info_of(wildcards):
    return naming.VIDEO_INFO.format(video=video_row(wildcards).content)


def video_label(wildcards):
    row = video_row(wildcards)
    return [naming.pair_label(row.content, row["style"]), runs.run_label(row)]


def video_report_item(shows):
    """Category, subcategory and labels of one report item of a video run."""
    return {
        "category": "Videos",
        "subcategory": lambda wildcards: video_row(wildcards).content,
        "labels": lambda wildcards: {
            "style": video_row(wildcards)["style"],
            "weights": runs.run_label(video_row(wildcards)),
            "shows": shows,
        },
    }


def video_size(input):
    """(height, width) of a clip's frames at the result's size, and how many there are."""
    import json

    info = json.loads(Path(input.info).read_text())
    return info["height"], info["width"], info["frames"]


def video_runtime(wildcards, input, threads, attempt):
    """Minutes: the engine's estimate for a transfer of the first frame, and LATER_SHARE of it for
    each later frame (their budget), x3 headroom, more on each retry."""
    from nst.video.chain import LATER_SHARE

    height, width, frames = video_size(input)
    one = estimate.run_seconds(SETTINGS, BACKBONE, height, width, threads)
    return int(10 + 3 * attempt * one * (1 + (frames - 1) * LATER_SHARE) / 60)


def video_mem_mb(wildcards, input, attempt):
    height, width, _ = video_size(input)
    need = estimate.request_bytes(SETTINGS, BACKBONE, height, width)
    return int(attempt * 1.25 * need) // 2**20


def video_outputs():
    return [
        path.format(run=run)
        for run in VIDEO_RUNS.index
        for path in (naming.VIDEO_CLIP, naming.VIDEO_PREVIEW)
    ]


def all_video_histories(wildcards):
    return [naming.VIDEO_HISTORY.format(run=r) for r in VIDEO_RUNS.index]


def all_video_records(wildcards):
    return [naming.VIDEO_RECORD.format(run=r) for r in VIDEO_RUNS.index]
